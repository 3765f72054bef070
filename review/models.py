"""Review: detections kept for a human look, their corrections, and what the corrections suppress.

Embeddings are unit vectors (cosine distance ``<=>`` in 0..2) of the detection's crop,
tagged with the model that made them: vectors of different models are never compared.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

from cameras.models import Camera, Rule
from events.models import Detection, Event

EMBEDDING_DIM = 1280
"""MobileNetV2's pooled features; a model of another size needs a migration."""


class Reason(models.TextChoices):
    EVENT = "event", "Fired a rule"
    NEAR_THRESHOLD = "near_threshold", "Near the alert threshold"
    RANDOM = "random", "Random sample"


class ItemStatus(models.TextChoices):
    UNREVIEWED = "unreviewed", "Unreviewed"
    REVIEWED = "reviewed", "Reviewed"


class Action(models.TextChoices):
    CONFIRM = "confirm", "Confirm"
    REJECT = "reject", "False positive"
    RELABEL = "relabel", "Relabel"
    ADJUST_BOX = "adjust_box", "Adjust the box"
    ADD_MISSED = "add_missed", "Add a missed object"


ITEM_ACTIONS: tuple[str, ...] = ("confirm", "reject", "relabel", "adjust_box")
"""Actions that give an item its verdict (``add_missed`` adds an object beside it)."""
BULK_ACTIONS: tuple[str, ...] = ("confirm", "reject", "relabel")
"""Actions that make sense on many items at once (a box is one item's)."""
ITEM_ACTION_CHOICES = [(value, label) for value, label in Action.choices if value in ITEM_ACTIONS]
BULK_ACTION_CHOICES = [(value, label) for value, label in Action.choices if value in BULK_ACTIONS]


class ReviewItem(models.Model):
    """A detection kept for review, with a clean copy of its frame, its crop and its embedding.

    ``camera``, ``class_name``, ``confidence`` and ``captured_at`` copy the detection's
    (they never change), so the queue filters and sorts without touching the detections
    table. ``label``, ``box`` and ``verdict`` are the reviewed state: what the
    latest active correction says the object is.
    """

    detection = models.OneToOneField(Detection, on_delete=models.CASCADE, related_name="review_item")
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="review_items")
    event = models.ForeignKey(Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule = models.ForeignKey(
        Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The rule that fired, or whose threshold the confidence was near.",
    )
    class_name = models.CharField(max_length=40)
    confidence = models.FloatField()
    captured_at = models.DateTimeField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    in_random_sample = models.BooleanField(
        default=False, help_text="Part of the uniform random sample: the only items precision figures use."
    )
    random_key = models.FloatField(help_text="Uniform in [0, 1): the order random-sample items are shown in.")
    threshold = models.FloatField(null=True, blank=True, help_text="The alert threshold of the class.")
    uncertainty = models.FloatField(default=0.0, help_text="1 at the threshold, 0 a band away from it.")
    novelty = models.FloatField(
        null=True, blank=True,
        help_text="Cosine distance to the nearest reviewed item (at most 1); empty: to be computed.",
    )
    novelty_as_of = models.BigIntegerField(
        default=0, help_text="The newest correction id when novelty was computed: later reviews make it stale."
    )
    frame = models.CharField(max_length=300, help_text="The frame without boxes, path under MEDIA_ROOT")
    crop = models.CharField(max_length=300, help_text="The detection's crop, path under MEDIA_ROOT")
    embedding = VectorField(dimensions=EMBEDDING_DIM)
    embedding_model = models.CharField(max_length=64)
    embedding_version = models.CharField(max_length=64)

    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.UNREVIEWED)
    verdict = models.CharField(max_length=16, choices=Action.choices, blank=True)
    label = models.CharField(max_length=40, help_text="The class the object is, as reviewed.")
    box = models.JSONField(help_text="[x1, y1, x2, y2] in pixels of the frame, as reviewed.")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-captured_at", "-id"]
        indexes = [
            models.Index(fields=["status", "camera", "-captured_at"], name="review_item_status_camera"),
            models.Index(fields=["status", "in_random_sample", "random_key"], name="review_item_random"),
            models.Index(fields=["embedding_model", "embedding_version"], name="review_item_model"),
            HnswIndex(name="review_item_embedding_hnsw", fields=["embedding"], opclasses=["vector_cosine_ops"]),
            # Novelty looks for the nearest *reviewed* item: an index of those alone is exact
            # about the status instead of filtering the neighbours of the whole table.
            HnswIndex(
                name="review_item_reviewed_hnsw", fields=["embedding"], opclasses=["vector_cosine_ops"],
                condition=Q(status="reviewed"),
            ),
        ]

    def __str__(self) -> str:
        return f"review item {self.pk}: {self.class_name} {self.confidence:.2f} ({self.reason})"

    def state(self) -> dict[str, Any]:
        """What a correction changes and undo restores."""
        return {"status": self.status, "verdict": self.verdict, "class_name": self.label, "box": self.box}


class Correction(models.Model):
    """One reviewer's verdict on an item, or an object the detector missed in its frame.

    Never deleted: undo marks it undone and restores the item's ``before`` state.
    ``camera`` and ``class_name`` (the detector's class for the item, the added class for
    a missed object) are copied so the false-positive memory query needs no join.
    """

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="corrections")
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="+")
    class_name = models.CharField(max_length=40)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    before = models.JSONField(null=True, blank=True, help_text="The item's state before; empty for add_missed.")
    after = models.JSONField(help_text='{"status", "verdict", "class_name", "box"}; add_missed: class_name, box.')
    note = models.TextField(blank=True, max_length=2000)
    embedding = VectorField(dimensions=EMBEDDING_DIM)
    embedding_model = models.CharField(max_length=64)
    embedding_version = models.CharField(max_length=64)
    batch = models.UUIDField(null=True, blank=True, db_index=True, help_text="Shared by a bulk correction.")
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["camera", "class_name"], name="review_active_fp",
                condition=Q(action="reject", undone_at__isnull=True),
            ),
            HnswIndex(
                name="review_active_fp_hnsw", fields=["embedding"], opclasses=["vector_cosine_ops"],
                condition=Q(action="reject", undone_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"correction {self.pk}: {self.action} on item {self.item_id}"


class Suppression(models.Model):
    """An event not alerted because it looked like a confirmed false positive; lifting alerts it."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="suppression")
    false_positive = models.ForeignKey(
        Correction, on_delete=models.SET_NULL, null=True, related_name="suppressions",
        help_text="The reject correction it matched.",
    )
    distance = models.FloatField(help_text="Cosine distance to the false positive's embedding.")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"event {self.event_id} suppressed, similar to false positive {self.false_positive_id}"
