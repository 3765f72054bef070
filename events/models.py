"""What the stream workers saw (detections) and what operators must look at (events)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from cameras.models import Camera, Rule, Severity


class Detection(models.Model):
    """One object in one processed frame. Boxes are in pixels of a frame of the stored size."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="detections")
    captured_at = models.DateTimeField()
    track_id = models.BigIntegerField(null=True, blank=True)
    class_id = models.SmallIntegerField()
    class_name = models.CharField(max_length=40)
    confidence = models.FloatField()
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    frame_width = models.PositiveIntegerField()
    frame_height = models.PositiveIntegerField()
    model_name = models.CharField(max_length=64)
    model_version = models.CharField(max_length=64)

    class Meta:
        ordering = ["-captured_at", "-id"]
        indexes = [
            models.Index(fields=["camera", "-captured_at"]),
            models.Index(fields=["camera", "track_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.class_name} {self.confidence:.2f} on {self.camera_id} at {self.captured_at:%H:%M:%S}"


class EventStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Event(models.Model):
    """A rule fired on a track: what an operator is alerted about."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="events")
    rule = models.ForeignKey(Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    rule_name = models.CharField(max_length=100)
    detection = models.ForeignKey(Detection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    track_id = models.BigIntegerField(null=True, blank=True)
    class_name = models.CharField(max_length=40)
    confidence = models.FloatField()
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.NEW)
    captured_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    snapshot = models.CharField(max_length=300, blank=True, help_text="Annotated frame, path under MEDIA_ROOT")
    crop = models.CharField(max_length=300, blank=True, help_text="The object's crop, path under MEDIA_ROOT")
    evidence = models.JSONField(default=dict, blank=True, help_text="Why the rule fired: see docs/rules.md")
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["camera", "-created_at"]), models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.rule_name} on {self.camera_id} at {self.captured_at:%H:%M:%S}"
