"""WebSocket for operators (``/ws/events/``): live events of the cameras they may see.

A socket joins its process's event hub (``events.event_hub``: the process is in the Channels
group ``camera.<id>``) for each camera its user may see, and only those: a message about
another camera is never handed to it. What a user may see is re-read when a camera changes
(``camera.changed``), when group memberships change (``access.changed``, sent by
``events.signals``) and every ``REFRESH_S``.

Server → client (JSON text):
  ``{"type": "event", "event": EventPayload}``: a new event.
  ``{"type": "event.updated", "event": EventPayload, "action": ActionPayload | null}``: an
      operator handled it (``action``), or its clip is ready or failed (``action`` null).
  ``{"type": "camera", "camera_id": id}``: a camera was added, changed, removed, or became
      visible or invisible to this user: refetch it.
  ``{"type": "pong"}``: the answer to ``{"type": "ping"}``.
Close codes: 4401 not signed in, 4403 no role allowing events.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model

from cameras.access import visible_camera_ids
from events.event_hub import get_event_hub
from events.publisher import CAMERAS_GROUP, AccessChangedMessage, CameraChangedMessage

FORWARDED = ("event.created", "event.updated")  # messages that go to the socket as they are (their text)
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
REFRESH_S = 600.0


@database_sync_to_async
def visible_for(user_id: int, *perms: str) -> set[int] | None:
    """Camera ids the user may see now, or None when they may not use the socket at all.

    The user is read again: roles and groups may have changed since the socket opened
    (and Django caches permissions on the user object).
    """
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_perms(perms):
        return None
    return visible_camera_ids(user)


class CameraGroupsConsumer(AsyncJsonWebsocketConsumer):
    """Authenticates, then keeps ``camera_ids`` (and, with ``receives_events``, the cameras it
    joined in the event hub) to exactly the cameras the user may see."""

    permissions: tuple[str, ...] = ()
    receives_events = True
    camera_ids: set[int]
    user_id: int

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.camera_ids = set()
        self.event_hub = get_event_hub()
        self._refreshing = asyncio.Lock()  # the periodic refresh and a message's may overlap
        visible = await visible_for(self.user_id, *self.permissions)
        if visible is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(CAMERAS_GROUP, self.channel_name)
        await self._follow(visible)
        await self.accept()
        self._refresher = asyncio.create_task(self._refresh_now_and_then())

    async def disconnect(self, code: int) -> None:
        refresher = getattr(self, "_refresher", None)
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        joined: set[int] = getattr(self, "camera_ids", set()) if self.receives_events else set()
        for camera_id in joined:
            await self.event_hub.leave(camera_id, self.deliver)
        await self.channel_layer.group_discard(CAMERAS_GROUP, self.channel_name)

    async def _follow(self, visible: set[int]) -> set[int]:
        """Follow the cameras of ``visible``, and only those; the ids that changed."""
        if self.receives_events:
            for camera_id in self.camera_ids - visible:
                await self.event_hub.leave(camera_id, self.deliver)
            for camera_id in visible - self.camera_ids:
                await self.event_hub.join(camera_id, self.deliver)
        changed = self.camera_ids ^ visible
        self.camera_ids = visible
        return changed

    async def refresh(self) -> set[int] | None:
        """Re-read what the user may see; None (and the socket closed) when nothing any more."""
        async with self._refreshing:
            visible = await visible_for(self.user_id, *self.permissions)
            if visible is None:
                await self.close(code=CLOSE_FORBIDDEN)
                return None
            return await self._follow(visible)

    async def _refresh_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            changed = await self.refresh()
            if changed is None:
                return
            if changed:
                await self.cameras_changed(changed)

    async def cameras_changed(self, camera_ids: set[int]) -> None:
        """Called when cameras became visible or invisible, or changed."""

    async def deliver(self, message: dict[str, Any]) -> None:
        """A message about one of the cameras this socket joined, from the event hub."""

    async def camera_changed(self, message: CameraChangedMessage) -> None:
        was_visible = message["camera_id"] in self.camera_ids
        changed = await self.refresh()
        if changed is not None and (was_visible or message["camera_id"] in self.camera_ids):
            await self.cameras_changed(changed | {message["camera_id"]})

    async def access_changed(self, message: AccessChangedMessage) -> None:
        if message["user_id"] not in (None, self.user_id):
            return
        changed = await self.refresh()
        if changed:
            await self.cameras_changed(changed)


class EventsConsumer(CameraGroupsConsumer):
    permissions = ("events.view_event", "cameras.view_camera")

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def deliver(self, message: dict[str, Any]) -> None:
        if message.get("type") in FORWARDED and message["camera_id"] in self.camera_ids:
            await self.send(text_data=message["text"])

    async def cameras_changed(self, camera_ids: set[int]) -> None:
        for camera_id in sorted(camera_ids):
            await self.send_json({"type": "camera", "camera_id": camera_id})
