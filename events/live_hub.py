"""The web process's view of live cameras: the newest frame and the health of each watched camera.

One hub per web process (per event loop) subscribes to the Redis channel of every camera
that at least one socket watches (``events.live.frame_channel``) and keeps only the newest
frame of each, as the worker packed it. Sockets are woken when a frame arrives and take
whatever is newest when they are ready to send: however many sockets watch a camera, each
frame crosses Redis once per process, and a slow socket skips frames instead of queueing
them.

Health (live / stale / offline, with the reason) comes from the camera row the stream
worker keeps up to date and from how long ago this process last received a frame, read
once a second for all watched cameras together.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import redis
import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings

from cameras.models import Camera, CameraStatus
from events.live import frame_channel, frame_key, unpack_frame

log = logging.getLogger(__name__)

STALE_AFTER_S = 3.0  # no new frame for this long: the picture is stale
OFFLINE_AFTER_S = 15.0  # ... and for this long: the camera counts as offline
HEALTH_EVERY_S = 1.0
_FPS_WINDOW_S = 5.0

HealthState = Literal["live", "stale", "offline"]


class Health(TypedDict):
    type: str  # "health"
    camera_id: int
    state: HealthState
    reason: str  # why stale or offline, in plain words; "" when live
    status: str  # Camera.status: connecting, online, unreachable, disabled, unassigned
    detail: str  # Camera.status_detail, as the worker wrote it
    frame_age_s: float | None  # since this web process received the camera's newest frame
    fps: float  # live frames received per second, over the last few seconds


def camera_health(
    *, enabled: bool, status: str, detail: str, frame_age_s: float | None
) -> tuple[HealthState, str]:
    """The state and its reason, from the camera row and the age of its newest live frame."""
    if not enabled:
        return "offline", "the camera is disabled"
    if status == CameraStatus.UNREACHABLE:
        return "offline", detail or "the camera cannot be reached"
    if status == CameraStatus.UNASSIGNED:
        return "offline", detail or "no stream worker runs this camera"
    if frame_age_s is None or frame_age_s > OFFLINE_AFTER_S:
        if status == CameraStatus.CONNECTING:
            return "offline", detail or "connecting to the camera"
        return "offline", "no picture yet" if frame_age_s is None else f"no picture for {frame_age_s:.0f} s"
    if frame_age_s > STALE_AFTER_S:
        return "stale", f"last picture {frame_age_s:.0f} s ago"
    return "live", ""


@dataclass
class LatestFrame:
    seq: int  # frames this process received for the camera; a socket sends a frame once
    blob: bytes  # header + JPEG, as the worker packed it (events.live.pack_frame)
    received_at: float  # time.monotonic()


@dataclass
class _Camera:
    listeners: set[Callable[[], None]] = field(default_factory=set)
    latest: LatestFrame | None = None
    health: Health | None = None
    arrivals: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=256))


@database_sync_to_async
def _camera_rows(ids: list[int]) -> dict[int, tuple[bool, str, str]]:
    rows = Camera.objects.filter(pk__in=ids).values_list("pk", "enabled", "status", "status_detail")
    return {pk: (enabled, status, detail) for pk, enabled, status, detail in rows}


class LiveHub:
    def __init__(self, redis_url: str) -> None:
        self._redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=5, health_check_interval=30)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._cameras: dict[int, _Camera] = {}
        self._subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- for consumers ----------------------------------------------------------------
    async def watch(self, camera_id: int, wake: Callable[[], None]) -> None:
        """Call ``wake`` (on the event loop) whenever the camera has a new frame or health."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._check_health())]
        camera = self._cameras.get(camera_id)
        if camera is None:
            camera = self._cameras[camera_id] = _Camera()
            await self._pubsub.subscribe(frame_channel(camera_id))
            self._subscribed.set()
            blob: bytes | None = await self._redis.get(frame_key(camera_id))  # type: ignore[assignment]
            if blob and camera.latest is None:
                age = max(0.0, time.time() - unpack_frame(blob)[0]["captured_at"])
                camera.latest = LatestFrame(0, blob, time.monotonic() - age)
            await self._health_of([camera_id])
        camera.listeners.add(wake)

    async def unwatch(self, camera_id: int, wake: Callable[[], None]) -> None:
        camera = self._cameras.get(camera_id)
        if camera is None:
            return
        camera.listeners.discard(wake)
        if not camera.listeners:
            del self._cameras[camera_id]
            await self._pubsub.unsubscribe(frame_channel(camera_id))

    def latest(self, camera_id: int) -> LatestFrame | None:
        camera = self._cameras.get(camera_id)
        return camera.latest if camera else None

    def health(self, camera_id: int) -> Health | None:
        camera = self._cameras.get(camera_id)
        return camera.health if camera else None

    # --- background tasks ------------------------------------------------------------
    async def _read(self) -> None:
        while True:
            if not self._pubsub.subscribed:
                self._subscribed.clear()
                await self._subscribed.wait()
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (redis.RedisError, OSError) as err:
                log.warning("live frames: Redis subscription failed; retrying", extra={"error": str(err)})
                await asyncio.sleep(1.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            camera_id = int(channel.split(":")[2])
            camera = self._cameras.get(camera_id)
            if camera is None:
                continue
            now = time.monotonic()
            seq = camera.latest.seq + 1 if camera.latest else 1
            camera.latest = LatestFrame(seq, message["data"], now)
            camera.arrivals.append(now)
            for wake in camera.listeners:
                wake()

    async def _check_health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_EVERY_S)
            if not self._cameras:
                continue
            try:
                await self._health_of(list(self._cameras))
            except Exception:  # the database may be restarting: keep the last known health
                log.exception("live health check failed")

    async def _health_of(self, ids: list[int]) -> bool:
        """Recompute the health of ``ids``, wake listeners of those that changed; whether any did."""
        rows = await _camera_rows(ids)
        now = time.monotonic()
        changed = False
        for camera_id in ids:
            camera = self._cameras.get(camera_id)
            if camera is None:
                continue
            enabled, status, detail = rows.get(camera_id, (False, CameraStatus.DISABLED, "the camera was deleted"))
            age = now - camera.latest.received_at if camera.latest else None
            state, reason = camera_health(enabled=enabled, status=status, detail=detail, frame_age_s=age)
            recent = [t for t in camera.arrivals if now - t <= _FPS_WINDOW_S]
            health: Health = {
                "type": "health", "camera_id": camera_id, "state": state, "reason": reason, "status": status,
                "detail": detail, "frame_age_s": round(age, 1) if age is not None else None,
                "fps": round(len(recent) / _FPS_WINDOW_S, 1),
            }
            previous = camera.health
            camera.health = health
            if previous is None or (previous["state"], previous["reason"]) != (state, reason):
                changed = True
                for wake in camera.listeners:
                    wake()
        return changed


_hubs: dict[asyncio.AbstractEventLoop, LiveHub] = {}


def get_hub() -> LiveHub:
    """The hub of the running event loop (Daphne runs one; tests start one per test)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for stale in [other for other in _hubs if other.is_closed()]:
            del _hubs[stale]
        hub = _hubs[loop] = LiveHub(settings.REDIS_URL)
    return hub
