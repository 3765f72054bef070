"""The one way live messages leave a process: Channels group sends with typed payloads.

Consumers join one group per camera; the ``type`` of each payload names the consumer
method that handles it (``event.created`` → ``event_created``).
"""
from __future__ import annotations

from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def camera_group(camera_id: int) -> str:
    return f"camera.{camera_id}"


CAMERAS_GROUP = "cameras"


class EventPayload(TypedDict):
    id: int
    camera_id: int
    camera_name: str
    rule_name: str
    class_name: str
    confidence: float
    severity: str
    status: str
    track_id: int | None
    captured_at: str
    created_at: str
    snapshot_url: str
    event_url: str
    box: list[float]
    frame_size: list[int]


class EventCreatedMessage(TypedDict):
    type: str  # "event.created"
    camera_id: int
    event: EventPayload


class CameraChangedMessage(TypedDict):
    type: str  # "camera.changed"
    camera_id: int


def publish_event(event: EventPayload) -> None:
    message: EventCreatedMessage = {"type": "event.created", "camera_id": event["camera_id"], "event": event}
    async_to_sync(get_channel_layer().group_send)(camera_group(event["camera_id"]), message)


def publish_camera_changed(camera_id: int) -> None:
    message: CameraChangedMessage = {"type": "camera.changed", "camera_id": camera_id}
    async_to_sync(get_channel_layer().group_send)(CAMERAS_GROUP, message)
