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


def _default_timezone() -> str:
    return settings.TIME_ZONE


class Camera(models.Model):
    name = models.CharField(max_length=100)
    # The full URL, credentials included, encrypted at rest. Never render it: use display_url.
    stream_url = EncryptedTextField()
    enabled = models.BooleanField(default=True)
    detect_fps = models.FloatField(default=_default_detect_fps)
    model_name = models.CharField(max_length=64, default=_default_model)
    detect_width = models.PositiveIntegerField(
        null=True, blank=True, help_text="Frames wider than this are scaled down before detection; empty: as decoded."
    )
    timezone = models.CharField(max_length=64, default=_default_timezone, help_text="IANA name, for rule schedules.")
    object_settings = models.JSONField(
        default=dict,
        blank=True,
        help_text='Enabled objects: {"person": {"min_confidence": 0.5, "min_area": 0.0, "max_area": 1.0}}; '
        "areas are fractions of the frame. Empty: every class the model knows.",
    )
    description = models.TextField(blank=True, max_length=2000)
    access_groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="cameras",
        help_text="Operators and reviewers see this camera only if they are in one of these groups; "
        "empty: everyone with a role sees it. Admins see every camera.",
    )
    fp_similarity_threshold = models.FloatField(
        default=0.1,
        help_text="Cosine distance under which a detection counts as a repeat of a confirmed false positive "
        "and is not alerted; 0 turns the false-positive memory off for this camera.",
    )

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


class Region(models.Model):
    """A shape drawn on a camera's picture, in normalised coordinates (0..1 of width and height)."""

    class Kind(models.TextChoices):
        ZONE = "zone", "Zone"
        LINE = "line", "Line"
        MOTION_MASK = "motion_mask", "Motion mask"
        OBJECT_MASK = "object_mask", "Object mask"

    class Direction(models.TextChoices):
        A_TO_B = "a_to_b", "A → B"
        B_TO_A = "b_to_a", "B → A"
        BOTH = "both", "Both ways"

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="regions")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    points = models.JSONField(help_text="[[x, y], ...] with x, y in 0..1; a line has exactly two points, A and B.")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.BOTH)
    color = models.CharField(max_length=7, default="#3b82f6")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["camera_id", "kind", "name"]
        constraints = [models.UniqueConstraint("camera", Lower("name"), name="region_name_unique_per_camera")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class Rule(models.Model):
    """When detections on a camera become an event."""

    class Trigger(models.TextChoices):
        SEEN = "seen", "Is seen"
        ENTER = "enter", "Enters"
        LEAVE = "leave", "Leaves"
        LOITER = "loiter", "Stays longer than"
        CROSS = "cross", "Crosses the line"
        COUNT = "count", "Count reaches"
        ABSENCE = "absence", "Zone empty for"

    class Anchor(models.TextChoices):
        BOTTOM_CENTER = "bottom_center", "Bottom centre (feet, wheels)"
        CENTER = "center", "Centre"
        TOP_CENTER = "top_center", "Top centre"

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SEEN)
    region = models.ForeignKey(
        Region, on_delete=models.RESTRICT, null=True, blank=True, related_name="rules",
        help_text="A zone or line of the same camera; empty: the whole frame.",
    )
    object_classes = ArrayField(models.CharField(max_length=40), default=list)
    min_confidence = models.FloatField(default=0.5)
    anchor = models.CharField(max_length=16, choices=Anchor.choices, default=Anchor.BOTTOM_CENTER)
    duration_seconds = models.FloatField(default=0.0, help_text="Loiter, count and absence: how long.")
    min_count = models.PositiveIntegerField(default=1, help_text="Count: how many objects at once.")
    schedule = models.JSONField(
        default=list, blank=True,
        help_text='[{"days": [0, 1, 2, 3, 4], "start": "22:00", "end": "06:00"}] in the camera\'s timezone; '
        "0 is Monday; empty: always.",
    )
    cooldown_seconds = models.FloatField(default=60.0)
    stationary_guard = models.BooleanField(
        default=True, help_text="A parked object that the tracker loses and finds again does not alert twice."
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    notify_operators = models.BooleanField(default=True)
    webhook_url = models.URLField(blank=True, max_length=500)
    webhook_secret = EncryptedTextField(blank=True, default="")
    mqtt_topic = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["camera_id", "name"]
        constraints = [models.UniqueConstraint("camera", Lower("name"), name="rule_name_unique_per_camera")]

    def __str__(self) -> str:
        return f"{self.camera.name}: {self.name}"
