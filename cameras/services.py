"""Camera operations used by both the pages and the API."""
from __future__ import annotations

from django.db import transaction

from cameras.models import Camera, Rule, Severity

DEFAULT_RULE_NAME = "Person seen"


@transaction.atomic
def add_camera(*, name: str, stream_url: str, **fields: object) -> Camera:
    """Create a camera with the default "person seen" rule. Inputs must be validated already."""
    camera = Camera.objects.create(name=name, stream_url=stream_url, **fields)
    Rule.objects.create(
        camera=camera,
        name=DEFAULT_RULE_NAME,
        trigger=Rule.Trigger.SEEN,
        object_classes=["person"],
        min_confidence=0.5,
        cooldown_seconds=60.0,
        severity=Severity.WARNING,
    )
    return camera
