"""The one way live messages leave a process: Channels group sends with typed payloads.

Consumers join one group per camera they may see; the ``type`` of each payload names the
consumer method that handles it (``event.created`` → ``event_created``). Messages for a
socket carry their JSON text already encoded (``text``): a message fanned out to hundreds
of sockets is encoded once, not once per socket.
"""
from __future__ import annotations

import json
from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def camera_group(camera_id: int) -> str:
    return f"camera.{camera_id}"


CAMERAS_GROUP = "cameras"


class UserRef(TypedDict):
    id: int
    username: str
    name: str  # full name, else the username


class EventPayload(TypedDict):
    id: int
    camera_id: int
    camera_name: str
    rule_id: int | None
    rule_name: str
    class_name: str
    confidence: float
    severity: str
    status: str  # new | acknowledged | resolved | dismissed
    track_id: int | None
    captured_at: str
    created_at: str
    updated_at: str
    snapshot_url: str
    crop_url: str
    clip_url: str  # "" until clip_status is "ready"
    clip_status: str  # none | pending | ready | failed
    clip_detail: str
    event_url: str
    box: list[float]
    frame_size: list[int]
    acknowledged_by: UserRef | None
    acknowledged_at: str | None
    assigned_to: UserRef | None
    escalation: int
    resolved_by: UserRef | None
    resolved_at: str | None


class ActionPayload(TypedDict):
    id: int
    event_id: int
    action: str  # acknowledge | assign | unassign | note | escalate | resolve | dismiss | reopen
    user: UserRef | None
    user_name: str
    assignee: UserRef | None
    assignee_name: str
    note: str
    status: str
    escalation: int
    created_at: str


class EventCreatedMessage(TypedDict):
    type: str  # "event.created"
    camera_id: int
    event: EventPayload
    text: str  # {"type": "event", "event": ...}, as sent to sockets


class EventUpdatedMessage(TypedDict):
    type: str  # "event.updated"
    camera_id: int
    event: EventPayload
    action: ActionPayload | None  # None: the worker changed it (its clip)
    text: str  # {"type": "event.updated", "event": ..., "action": ...}


class CameraChangedMessage(TypedDict):
    type: str  # "camera.changed"
    camera_id: int


class AccessChangedMessage(TypedDict):
    type: str  # "access.changed": groups of users or cameras changed; sockets re-check what they see
    user_id: int | None  # only this user's sockets; None: everyone's


def _send(group: str, message: object) -> None:
    async_to_sync(get_channel_layer().group_send)(group, message)


def publish_event(event: EventPayload) -> None:
    text = json.dumps({"type": "event", "event": event})
    message: EventCreatedMessage = {"type": "event.created", "camera_id": event["camera_id"], "event": event, "text": text}
    _send(camera_group(event["camera_id"]), message)


def publish_event_updated(event: EventPayload, action: ActionPayload | None) -> None:
    text = json.dumps({"type": "event.updated", "event": event, "action": action})
    message: EventUpdatedMessage = {
        "type": "event.updated", "camera_id": event["camera_id"], "event": event, "action": action, "text": text,
    }
    _send(camera_group(event["camera_id"]), message)


def publish_camera_changed(camera_id: int) -> None:
    message: CameraChangedMessage = {"type": "camera.changed", "camera_id": camera_id}
    _send(CAMERAS_GROUP, message)


def publish_access_changed(user_id: int | None = None) -> None:
    message: AccessChangedMessage = {"type": "access.changed", "user_id": user_id}
    _send(CAMERAS_GROUP, message)
