"""Cameras and the rules that turn their detections into events."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower

from cameras.crypto import EncryptedTextField
from vision.logs import redact


class CameraStatus(models.TextChoices):
    CONNECTING = "connecting", "Connecting"
    ONLINE = "online", "Online"
    UNREACHABLE = "unreachable", "Unreachable"
    DISABLED = "disabled", "Disabled"
    UNASSIGNED = "unassigned", "Waiting for a worker"


def _default_model() -> str:
    return settings.VIGIL_DETECTOR_MODEL


def _default_detect_fps() -> float:
    return settings.VIGIL_DEFAULT_DETECT_FPS


class Camera(models.Model):
    name = models.CharField(max_length=100)
    # The full URL, credentials included, encrypted at rest. Never render it: use display_url.
    stream_url = EncryptedTextField()
    enabled = models.BooleanField(default=True)
    detect_fps = models.FloatField(default=_default_detect_fps)
    model_name = models.CharField(max_length=64, default=_default_model)

    # Runtime state, written by the stream worker that holds the camera's lease.
    status = models.CharField(max_length=16, choices=CameraStatus.choices, default=CameraStatus.CONNECTING)
    status_detail = models.CharField(max_length=300, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    decoded_fps = models.FloatField(default=0.0)
    processed_fps = models.FloatField(default=0.0)
    last_frame_at = models.DateTimeField(null=True, blank=True)
    frame_width = models.PositiveIntegerField(null=True, blank=True)
    frame_height = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="camera_name_unique_ci")]

    def __str__(self) -> str:
        return self.name

    @property
    def display_url(self) -> str:
        return redact(self.stream_url)


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class Rule(models.Model):
    """When detections on a camera become an event."""

    class Kind(models.TextChoices):
        OBJECT_SEEN = "object_seen", "Object seen"

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.OBJECT_SEEN)
    object_classes = ArrayField(models.CharField(max_length=40), default=list)
    min_confidence = models.FloatField(default=0.5)
    cooldown_seconds = models.FloatField(default=60.0)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["camera_id", "name"]

    def __str__(self) -> str:
        return f"{self.camera.name}: {self.name}"
