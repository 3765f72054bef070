"""Events for the tests, inserted the way the stream worker inserts them."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from django.contrib.auth.models import Group

from cameras.models import Camera
from cameras.services import add_camera
from events.live import LiveHeader
from events.models import Detection, Event


def restricted_camera(name: str, group: str) -> Camera:
    """A camera seen only by the members of ``group`` (and admins)."""
    camera = add_camera(name=name, stream_url="rtsp://192.0.2.1/s")
    camera.access_groups.add(Group.objects.get_or_create(name=group)[0])
    return camera


def join(user: Any, group: str) -> None:
    user.groups.add(Group.objects.get_or_create(name=group)[0])


def make_event(camera: Camera, **fields: Any) -> Event:
    now = datetime.now(timezone.utc)
    detection = Detection.objects.create(
        camera=camera, captured_at=now, track_id=3, class_id=0, class_name="person", confidence=0.9,
        x1=10, y1=20, x2=60, y2=140, frame_width=480, frame_height=360, model_name="yolox_nano",
        model_version="0.1.1rc0",
    )
    values: dict[str, Any] = {
        "rule": camera.rules.first(), "rule_name": "Person seen", "detection": detection, "track_id": 3,
        "class_name": "person", "confidence": 0.9, "captured_at": now, "snapshot": f"snapshots/{camera.pk}/x.jpg",
    }
    values.update(fields)
    return Event.objects.create(camera=camera, **values)


def small_jpeg(shade: int = 90) -> bytes:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".jpg", np.full((36, 48, 3), shade, np.uint8))
    assert ok
    return data.tobytes()


def live_header(camera_id: int, captured_at: float | None = None, track_id: int = 7) -> LiveHeader:
    """A live frame's header with one box, as the sink publishes it."""
    return {
        "camera_id": camera_id, "captured_at": time.time() if captured_at is None else captured_at,
        "width": 48, "height": 36,
        "boxes": [{"box": [0.1, 0.2, 0.5, 0.9], "class_name": "person", "confidence": 0.8, "track_id": track_id}],
    }
