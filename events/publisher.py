"""The one way live messages leave a process: Channels group sends with typed payloads.

Consumers join one group per camera they may see; the ``type`` of each payload names the
consumer method that handles it (``event.created`` → ``event_created``). Messages for a
socket carry their JSON text already encoded (``text``): a message fanned out to hundreds
of sockets is encoded once, not once per socket.
"""
from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import TypedDict

from channels.layers import get_channel_layer

SEND_TIMEOUT_S = 10.0


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


class _SendLoop:
    """Channel-layer sends from synchronous code, on one event loop thread per process.

    ``async_to_sync`` called outside an event loop starts a new loop (and a thread) for
    each call, and channels-redis keeps its Redis connections per loop: every message
    opened and closed a connection (about 7 ms each, 50 connections for 50 events). One
    long-lived loop keeps one pool for every send of the process. A forked child (Celery
    prefork) starts its own loop: the parent's thread did not come along.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="publisher-loop", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def send(self, group: str, message: object) -> None:
        """Send and wait; raises what the layer raised (Redis away), or ``TimeoutError``."""
        future = asyncio.run_coroutine_threadsafe(
            get_channel_layer().group_send(group, message), self._running_loop()
        )
        try:
            future.result(timeout=SEND_TIMEOUT_S)
        except TimeoutError:
            future.cancel()
            raise


_send_loop = _SendLoop()


def _send(group: str, message: object) -> None:
    _send_loop.send(group, message)


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
