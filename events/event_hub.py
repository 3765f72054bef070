"""Fan-out of event messages inside one web process.

The Channels groups are per camera (``camera.<id>``), but their members are web processes,
not sockets: each process (each event loop) has one hub with one channel, in the groups of
the cameras that at least one of its sockets may see. A message crosses the Redis channel
layer once per process; the hub hands its already encoded text to the local sockets that
joined that camera. With one channel per socket, channels-redis would store and pop a copy
per socket (200 sockets × 50 events/s = 10,000 Redis round trips a second) and fall behind.

A socket joins a camera only after its user was checked (``cameras.access``), so a message
for another camera is never handed to it.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import get_channel_layer

from events.publisher import camera_group

log = logging.getLogger(__name__)

RENEW_S = 3600.0  # channels-redis forgets group members after a day (group_expiry)

Deliver = Callable[[dict[str, Any]], Awaitable[None]]


class EventHub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self._members: dict[int, set[Deliver]] = {}
        self._channel: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def _ensure_started(self) -> str:
        if self._channel is None:
            self._channel = await self.layer.new_channel()
            self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._renew())]
        return self._channel

    async def join(self, camera_id: int, deliver: Deliver) -> None:
        """Hand ``deliver`` every message about ``camera_id`` from now on."""
        channel = await self._ensure_started()
        members = self._members.setdefault(camera_id, set())
        if not members:
            await self.layer.group_add(camera_group(camera_id), channel)
        members.add(deliver)

    async def leave(self, camera_id: int, deliver: Deliver) -> None:
        members = self._members.get(camera_id)
        if members is None:
            return
        members.discard(deliver)
        if not members:
            del self._members[camera_id]
            if self._channel is not None:
                await self.layer.group_discard(camera_group(camera_id), self._channel)

    def members(self, camera_id: int) -> int:
        return len(self._members.get(camera_id, ()))

    async def _receive(self) -> None:
        assert self._channel is not None
        while True:
            try:
                message = await self.layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Redis restarting: messages wait in the channel (30 s)
                log.warning("event hub: channel layer read failed; retrying", extra={"error": str(err)})
                await asyncio.sleep(1.0)
                continue
            camera_id = message.get("camera_id")
            for deliver in list(self._members.get(camera_id, ())) if isinstance(camera_id, int) else ():
                try:
                    await deliver(message)
                except Exception:  # a socket closing meanwhile must not stop the others
                    log.debug("event hub: a socket refused a message", exc_info=True)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_S)
            assert self._channel is not None
            for camera_id in list(self._members):
                with contextlib.suppress(Exception):
                    await self.layer.group_add(camera_group(camera_id), self._channel)


_hubs: dict[asyncio.AbstractEventLoop, EventHub] = {}


def get_event_hub() -> EventHub:
    """The hub of the running event loop (Daphne runs one; tests start one per test)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for closed in [other for other in _hubs if other.is_closed()]:
            del _hubs[closed]
        hub = _hubs[loop] = EventHub()
    return hub
