"""The JSON shape of an event, the same over the WebSocket and in the API."""
from __future__ import annotations

from django.urls import reverse

from events.models import Event
from events.publisher import EventPayload


def snapshot_url(path: str) -> str:
    return reverse("media", args=[path]) if path else ""


def event_payload(event: Event, camera_name: str) -> EventPayload:
    """Needs ``event.detection`` loaded (select_related) or set, to carry the box."""
    detection = event.detection
    return {
        "id": event.pk,
        "camera_id": event.camera_id,
        "camera_name": camera_name,
        "rule_name": event.rule_name,
        "class_name": event.class_name,
        "confidence": round(event.confidence, 3),
        "severity": event.severity,
        "status": event.status,
        "track_id": event.track_id,
        "captured_at": event.captured_at.isoformat(),
        "created_at": event.created_at.isoformat(),
        "snapshot_url": snapshot_url(event.snapshot),
        "event_url": reverse("event-page", args=[event.pk]),
        "box": [detection.x1, detection.y1, detection.x2, detection.y2] if detection else [],
        "frame_size": [detection.frame_width, detection.frame_height] if detection else [],
    }
