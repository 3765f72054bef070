"""WebSocket for the live wall (``/ws/live/``): the newest frame of each watched camera, with
its boxes, the camera's zones and lines, and its health.

Client → server (JSON text):
  ``{"type": "subscribe", "cameras": [1, 2], "max_fps": 5}``: watch exactly these cameras
      (replaces the previous list; ``max_fps`` per camera, default ``VIGIL_LIVE_FPS``, at most
      ``MAX_FPS``). Cameras the user may not see are answered in ``denied``.
  ``{"type": "ack", "camera_id": 1}``: the client has shown a frame of camera 1. At most
      ``WINDOW`` frames per camera are unacknowledged: a client that cannot keep up is sent
      the newest frame once it acknowledges, never a backlog.
  ``{"type": "ping"}``.
Server → client:
  JSON ``{"type": "subscribed", "cameras": [ids], "denied": [ids]}``.
  JSON ``{"type": "camera", "camera": {"id", "name", "enabled", "regions": [{"id", "name",
      "kind": zone|line|motion_mask|object_mask, "points": [[x, y], ...] in 0..1, "direction",
      "color"}]}}``: on subscribing and whenever the camera's configuration changes.
  JSON ``{"type": "health", "camera_id", "state": live|stale|offline, "reason", "status",
      "detail", "frame_age_s", "fps"}``: on subscribing, when the state or reason changes,
      and every ``HEALTH_RESEND_S``.
  JSON ``{"type": "unsubscribed", "camera_id": id}``: the camera was deleted or is no longer
      visible to this user.
  Binary: one frame. Bytes 0-3: the header's length N (big-endian); bytes 4..4+N: the header,
      JSON ``{"camera_id", "captured_at" (epoch s), "width", "height" (of the JPEG), "boxes":
      [{"box": [x1, y1, x2, y2] in 0..1, "class_name", "confidence", "track_id"}]}``; the
      rest: the JPEG. The boxes were found in this very frame.
  JSON ``{"type": "pong"}``.
Close codes: 4401 not signed in, 4403 no role allowing cameras.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from cameras.models import Camera
from events.consumers import CameraGroupsConsumer
from events.live_hub import Health, LiveHub, get_hub

WINDOW = 2  # frames per camera sent and not yet acknowledged
MAX_FPS = 15.0
MAX_CAMERAS = 64
HEALTH_RESEND_S = 5.0


@dataclass
class _Watch:
    max_fps: float
    sent_seq: int = -1
    in_flight: int = 0
    next_at: float = 0.0
    health_sent: Health | None = None
    health_sent_at: float = 0.0


@database_sync_to_async
def _camera_info(camera_id: int) -> dict[str, Any] | None:
    camera = Camera.objects.filter(pk=camera_id).prefetch_related("regions").first()
    if camera is None:
        return None
    regions = [
        {"id": r.pk, "name": r.name, "kind": r.kind, "points": r.points, "direction": r.direction, "color": r.color}
        for r in camera.regions.all()
    ]
    return {"id": camera.pk, "name": camera.name, "enabled": camera.enabled, "regions": regions}


class LiveConsumer(CameraGroupsConsumer):
    permissions = ("cameras.view_camera",)
    receives_events = False  # frames come through the live hub; events have their own socket

    watching: dict[int, _Watch]

    async def connect(self) -> None:
        self.watching = {}
        self._wake = asyncio.Event()
        await super().connect()
        if hasattr(self, "_refresher"):  # accepted
            self.live_hub: LiveHub = get_hub()
            self._sender = asyncio.create_task(self._send_loop())

    async def disconnect(self, code: int) -> None:
        sender = getattr(self, "_sender", None)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            for camera_id in list(self.watching):
                await self.live_hub.unwatch(camera_id, self._wake.set)
        await super().disconnect(code)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ack":
            watch = self.watching.get(content.get("camera_id"))  # type: ignore[arg-type]
            if watch is not None and watch.in_flight > 0:
                watch.in_flight -= 1
                self._wake.set()
        elif kind == "subscribe":
            await self._subscribe(content.get("cameras"), content.get("max_fps"))
        elif kind == "ping":
            await self.send_json({"type": "pong"})

    async def _subscribe(self, cameras: Any, max_fps: Any) -> None:
        wanted = [c for c in cameras if isinstance(c, int)][:MAX_CAMERAS] if isinstance(cameras, list) else []
        fps = float(max_fps) if isinstance(max_fps, int | float) and max_fps > 0 else settings.VIGIL_LIVE_FPS
        fps = min(fps, MAX_FPS)
        allowed = [c for c in dict.fromkeys(wanted) if c in self.camera_ids]
        for camera_id in set(self.watching) - set(allowed):
            await self._drop(camera_id, tell=False)
        for camera_id in allowed:
            if camera_id in self.watching:
                self.watching[camera_id].max_fps = fps
            else:
                self.watching[camera_id] = _Watch(max_fps=fps)
                await self.live_hub.watch(camera_id, self._wake.set)
        await self.send_json({"type": "subscribed", "cameras": allowed, "denied": [c for c in wanted if c not in allowed]})
        for camera_id in allowed:
            await self._send_camera(camera_id)
        self._wake.set()

    async def _drop(self, camera_id: int, *, tell: bool) -> None:
        if self.watching.pop(camera_id, None) is not None:
            await self.live_hub.unwatch(camera_id, self._wake.set)
            if tell:
                await self.send_json({"type": "unsubscribed", "camera_id": camera_id})

    async def _send_camera(self, camera_id: int) -> None:
        info = await _camera_info(camera_id)
        if info is None:
            await self._drop(camera_id, tell=True)
        else:
            await self.send_json({"type": "camera", "camera": info})

    async def cameras_changed(self, camera_ids: set[int]) -> None:
        for camera_id in sorted(camera_ids & set(self.watching)):
            if camera_id in self.camera_ids:
                await self._send_camera(camera_id)
            else:
                await self._drop(camera_id, tell=True)

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None
        while True:
            await self._wake.wait()
            self._wake.clear()
            now = time.monotonic()
            next_due = min([await self._send_due(c, w, now) for c, w in list(self.watching.items())], default=None)
            if timer is not None:
                timer.cancel()
            timer = loop.call_later(max(0.0, next_due - now), self._wake.set) if next_due is not None else None

    async def _send_due(self, camera_id: int, watch: _Watch, now: float) -> float:
        """Send the camera's health and newest frame if due; when to look at the camera again."""
        health = self.live_hub.health(camera_id)
        if health is not None and (
            watch.health_sent is None
            or (health["state"], health["reason"]) != (watch.health_sent["state"], watch.health_sent["reason"])
            or now - watch.health_sent_at >= HEALTH_RESEND_S
        ):
            await self.send_json(health)
            watch.health_sent, watch.health_sent_at = health, now
        frame = self.live_hub.latest(camera_id)
        if frame is None or frame.seq == watch.sent_seq or watch.in_flight >= WINDOW:
            return now + HEALTH_RESEND_S
        if now < watch.next_at:
            return watch.next_at
        await self.send(bytes_data=frame.blob)
        watch.sent_seq, watch.in_flight = frame.seq, watch.in_flight + 1
        watch.next_at = now + 1.0 / watch.max_fps
        return now + HEALTH_RESEND_S
