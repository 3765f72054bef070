"""WebSocket for operators: live events of the cameras they may see."""
from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cameras.models import Camera
from events.publisher import CAMERAS_GROUP, CameraChangedMessage, EventCreatedMessage, camera_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _visible_camera_ids(user: Any) -> set[int] | None:
    """Camera ids the user may watch, or None when they may not watch events at all."""
    if not (user.has_perm("events.view_event") and user.has_perm("cameras.view_camera")):
        return None
    return set(Camera.objects.values_list("id", flat=True))


class EventsConsumer(AsyncJsonWebsocketConsumer):
    camera_ids: set[int]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        visible = await _visible_camera_ids(user)
        if visible is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.camera_ids = set()
        await self.channel_layer.group_add(CAMERAS_GROUP, self.channel_name)
        for camera_id in visible:
            await self._watch(camera_id)
        await self.accept()

    async def _watch(self, camera_id: int) -> None:
        self.camera_ids.add(camera_id)
        await self.channel_layer.group_add(camera_group(camera_id), self.channel_name)

    async def disconnect(self, code: int) -> None:
        for camera_id in getattr(self, "camera_ids", set()):
            await self.channel_layer.group_discard(camera_group(camera_id), self.channel_name)
        await self.channel_layer.group_discard(CAMERAS_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def event_created(self, message: EventCreatedMessage) -> None:
        if message["camera_id"] in self.camera_ids:
            await self.send_json({"type": "event", "event": message["event"]})

    async def camera_changed(self, message: CameraChangedMessage) -> None:
        camera_id = message["camera_id"]
        visible = await _visible_camera_ids(self.scope["user"])
        if visible is not None and camera_id in visible and camera_id not in self.camera_ids:
            await self._watch(camera_id)
        await self.send_json({"type": "camera", "camera_id": camera_id})
