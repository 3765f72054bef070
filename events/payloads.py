"""The JSON shape of an event, the same over the WebSocket and in the API."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse

from events.models import ClipStatus, Event, EventAction
from events.publisher import ActionPayload, EventPayload, UserRef


def snapshot_url(path: str) -> str:
    return reverse("media", args=[path]) if path else ""


def user_ref(user: Any) -> UserRef | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username(), "name": user.get_full_name() or user.get_username()}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def event_payload(event: Event, camera_name: str) -> EventPayload:
    """Needs ``event.detection`` loaded (select_related) or set, to carry the box, and the
    handling users (``acknowledged_by``, ``assigned_to``, ``resolved_by``) to save queries."""
    detection = event.detection
    return {
        "id": event.pk,
        "camera_id": event.camera_id,
        "camera_name": camera_name,
        "rule_id": event.rule_id,
        "rule_name": event.rule_name,
        "class_name": event.class_name,
        "confidence": round(event.confidence, 3),
        "severity": event.severity,
        "status": event.status,
        "track_id": event.track_id,
        "captured_at": event.captured_at.isoformat(),
        "created_at": event.created_at.isoformat(),
        "updated_at": (event.updated_at or event.created_at).isoformat(),
        "snapshot_url": snapshot_url(event.snapshot),
        "crop_url": snapshot_url(event.crop),
        "clip_url": snapshot_url(event.clip) if event.clip_status == ClipStatus.READY else "",
        "clip_status": event.clip_status,
        "clip_detail": event.clip_detail,
        "event_url": reverse("event-page", args=[event.pk]),
        "box": [detection.x1, detection.y1, detection.x2, detection.y2] if detection else [],
        "frame_size": [detection.frame_width, detection.frame_height] if detection else [],
        "acknowledged_by": user_ref(event.acknowledged_by) if event.acknowledged_by_id else None,
        "acknowledged_at": _iso(event.acknowledged_at),
        "assigned_to": user_ref(event.assigned_to) if event.assigned_to_id else None,
        "escalation": event.escalation,
        "resolved_by": user_ref(event.resolved_by) if event.resolved_by_id else None,
        "resolved_at": _iso(event.resolved_at),
    }


def action_payload(action: EventAction) -> ActionPayload:
    return {
        "id": action.pk,
        "event_id": action.event_id,
        "action": action.action,
        "user": user_ref(action.user) if action.user_id else None,
        "user_name": action.user_name,
        "assignee": user_ref(action.assignee) if action.assignee_id else None,
        "assignee_name": action.assignee_name,
        "note": action.note,
        "status": action.status,
        "escalation": action.escalation,
        "created_at": action.created_at.isoformat(),
    }
