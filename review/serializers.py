"""JSON shapes of the review API (request and response), documented in the OpenAPI schema."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.api import DetectionSerializer, EventSerializer
from events.payloads import snapshot_url
from review.models import BULK_ACTION_CHOICES, ITEM_ACTION_CHOICES, Action, Correction, ReviewItem, Suppression
from workers.pipeline.catalogue import CATALOGUE

BULK_MAX = 500


class BoxField(serializers.ListField):
    """[x1, y1, x2, y2] in pixels of the item's frame."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.FloatField(), min_length=4, max_length=4, **kwargs)


class ItemSerializer(serializers.ModelSerializer):
    """A review item as the queue and similarity search list it."""

    camera_name = serializers.CharField(source="camera.name", read_only=True)
    track_id = serializers.IntegerField(source="detection.track_id", read_only=True, allow_null=True)
    frame_size = serializers.SerializerMethodField()
    frame_url = serializers.SerializerMethodField()
    crop_url = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField(
        help_text="Queue rank; null for random-sample items and outside the queue."
    )
    box = BoxField(read_only=True)

    class Meta:
        model = ReviewItem
        fields = [
            "id", "camera", "camera_name", "detection", "event", "rule", "class_name", "confidence",
            "captured_at", "track_id", "reason", "in_random_sample", "threshold", "uncertainty", "novelty",
            "score", "status", "verdict", "label", "box", "frame_size", "frame_url", "crop_url", "reviewed_at",
        ]
        read_only_fields = fields

    def get_frame_size(self, item: ReviewItem) -> list[int]:
        return [item.detection.frame_width, item.detection.frame_height]

    def get_frame_url(self, item: ReviewItem) -> str:
        return snapshot_url(item.frame)

    def get_crop_url(self, item: ReviewItem) -> str:
        return snapshot_url(item.crop)

    def get_score(self, item: ReviewItem) -> float | None:
        score = getattr(item, "score", None)
        return round(score, 4) if score is not None else None


class CorrectionSerializer(serializers.ModelSerializer):
    reviewer_name = serializers.CharField(source="reviewer.username", read_only=True, default="")
    detection = serializers.IntegerField(source="item.detection_id", read_only=True)

    class Meta:
        model = Correction
        fields = [
            "id", "item", "detection", "camera", "class_name", "reviewer", "reviewer_name", "action",
            "before", "after", "note", "batch", "created_at", "undone_at", "undone_by",
            "embedding_model", "embedding_version",
        ]
        read_only_fields = fields


class SuppressionBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Suppression
        fields = ["id", "false_positive", "distance", "created_at", "lifted_at", "lifted_by"]
        read_only_fields = fields


class ItemDetailSerializer(ItemSerializer):
    """One item with everything the review screen shows."""

    detection = DetectionSerializer(read_only=True)
    event = EventSerializer(read_only=True, allow_null=True, help_text="As GET /api/events/<id>/ gives it.")
    suppression = serializers.SerializerMethodField()
    corrections = CorrectionSerializer(many=True, read_only=True)

    class Meta(ItemSerializer.Meta):
        fields = [*ItemSerializer.Meta.fields, "embedding_model", "embedding_version", "suppression", "corrections"]
        read_only_fields = fields

    @extend_schema_field(SuppressionBriefSerializer(allow_null=True))
    def get_suppression(self, item: ReviewItem) -> dict[str, Any] | None:
        suppression = getattr(item.event, "suppression", None) if item.event is not None else None
        return SuppressionBriefSerializer(suppression).data if suppression is not None else None


class CorrectionResultSerializer(serializers.Serializer):
    correction = CorrectionSerializer()
    item = ItemSerializer()


def known_class(item: ReviewItem, class_name: str) -> str:
    """``class_name`` if the item's detector knows it (reviewed labels stay in the model's vocabulary)."""
    spec = CATALOGUE.get(item.detection.model_name)
    if spec is not None and spec.class_names and class_name not in spec.class_names:
        raise serializers.ValidationError(f"“{class_name}” is not a class of {spec.name}.")
    return class_name


def _inside_frame(item: ReviewItem, box: list[float]) -> list[float]:
    x1, y1, x2, y2 = box
    width, height = item.detection.frame_width, item.detection.frame_height
    if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
        raise serializers.ValidationError(f"The box must lie inside the {width}x{height} frame with x1 < x2, y1 < y2.")
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise serializers.ValidationError("The box must be at least 2 pixels wide and high.")
    return box


class _ItemRequest(serializers.Serializer):
    """Validated against ``context["item"]``: classes of its model, boxes inside its frame."""

    def validate_class_name(self, value: str) -> str:
        return known_class(self.context["item"], value)

    def validate_box(self, value: list[float]) -> list[float]:
        return _inside_frame(self.context["item"], value)


class CorrectRequestSerializer(_ItemRequest):
    action = serializers.ChoiceField(choices=ITEM_ACTION_CHOICES)
    class_name = serializers.CharField(required=False, max_length=40, help_text="relabel: the right class.")
    box = BoxField(required=False, help_text="adjust_box (and optionally relabel): the right box.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        action = attrs["action"]
        if action == Action.RELABEL and not attrs.get("class_name"):
            raise serializers.ValidationError({"class_name": "A relabel needs the right class."})
        if action == Action.ADJUST_BOX and not attrs.get("box"):
            raise serializers.ValidationError({"box": "Adjusting the box needs the new box."})
        if action != Action.RELABEL and "class_name" in attrs:
            raise serializers.ValidationError({"class_name": "Only a relabel changes the class."})
        if action not in (Action.RELABEL, Action.ADJUST_BOX) and "box" in attrs:
            raise serializers.ValidationError({"box": "Only adjust_box and relabel take a box."})
        return attrs


class MissedRequestSerializer(_ItemRequest):
    class_name = serializers.CharField(max_length=40)
    box = BoxField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class BulkRequestSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=BULK_MAX)
    action = serializers.ChoiceField(choices=BULK_ACTION_CHOICES)
    class_name = serializers.CharField(required=False, max_length=40, help_text="relabel: the right class.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["action"] == Action.RELABEL and not attrs.get("class_name"):
            raise serializers.ValidationError({"class_name": "A relabel needs the right class."})
        if attrs["action"] != Action.RELABEL and "class_name" in attrs:
            raise serializers.ValidationError({"class_name": "Only a relabel changes the class."})
        return attrs


class BulkResultSerializer(serializers.Serializer):
    batch = serializers.UUIDField(help_text="Undo them all with POST /api/review/bulk/<batch>/undo/.")
    count = serializers.IntegerField()
    corrections = serializers.ListField(child=serializers.IntegerField())


class BulkUndoResultSerializer(serializers.Serializer):
    batch = serializers.UUIDField()
    undone = serializers.IntegerField()


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    items = serializers.ListField(child=serializers.IntegerField(), help_text="Items corrected again since.")


class QueueQuerySerializer(serializers.Serializer):
    camera = serializers.IntegerField(required=False)
    class_name = serializers.CharField(required=False, help_text="The detected class.")
    rule = serializers.IntegerField(required=False)
    since = serializers.DateTimeField(required=False, help_text="Captured at or after.")
    until = serializers.DateTimeField(required=False, help_text="Captured at or before.")
    reason = serializers.ChoiceField(choices=ReviewItem._meta.get_field("reason").choices, required=False)
    status = serializers.ChoiceField(
        choices=ReviewItem._meta.get_field("status").choices, default="unreviewed",
        help_text="unreviewed: the ranked queue; reviewed: newest review first.",
    )
    offset = serializers.IntegerField(min_value=0, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class QueuePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Items in the queue with these filters.")
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ItemSerializer(many=True)


class SimilarQuerySerializer(serializers.Serializer):
    item = serializers.IntegerField(required=False, help_text="Look for items like this item…")
    correction = serializers.IntegerField(required=False, help_text="…or like this correction's crop.")
    camera = serializers.IntegerField(required=False)
    class_name = serializers.CharField(required=False, help_text="The detected class.")
    status = serializers.ChoiceField(choices=ReviewItem._meta.get_field("status").choices, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    max_distance = serializers.FloatField(required=False, min_value=0.0, max_value=2.0, help_text="Cosine distance.")
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("item" in attrs) == ("correction" in attrs):
            raise serializers.ValidationError("Give either item or correction.")
        return attrs


class SimilarResultSerializer(serializers.Serializer):
    distance = serializers.FloatField(help_text="Cosine distance to the source: 0 identical, 1 unrelated.")
    item = ItemSerializer()


class SimilarPageSerializer(serializers.Serializer):
    item = serializers.IntegerField(allow_null=True)
    correction = serializers.IntegerField(allow_null=True)
    results = SimilarResultSerializer(many=True)


class SuppressionSerializer(serializers.ModelSerializer):
    event = EventSerializer(read_only=True, help_text="As GET /api/events/<id>/ gives it.")
    false_positive_item = serializers.IntegerField(source="false_positive.item_id", read_only=True, allow_null=True,
                                                   default=None)
    false_positive_undone = serializers.SerializerMethodField(
        help_text="The false positive was undone since: this event may deserve lifting."
    )
    active = serializers.SerializerMethodField()

    class Meta:
        model = Suppression
        fields = [
            "id", "event", "false_positive", "false_positive_item", "false_positive_undone", "distance",
            "created_at", "lifted_at", "lifted_by", "active",
        ]
        read_only_fields = fields

    def get_false_positive_undone(self, suppression: Suppression) -> bool:
        fp = suppression.false_positive
        return fp is None or fp.undone_at is not None

    def get_active(self, suppression: Suppression) -> bool:
        return suppression.lifted_at is None


class PrecisionQuerySerializer(serializers.Serializer):
    camera = serializers.IntegerField(required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class ClassPrecisionSerializer(serializers.Serializer):
    class_name = serializers.CharField()
    correct = serializers.IntegerField()
    wrong = serializers.IntegerField()
    precision = serializers.FloatField()
    low = serializers.FloatField(help_text="95 % Wilson interval, lower end.")
    high = serializers.FloatField()


class PrecisionSerializer(serializers.Serializer):
    reviewed = serializers.IntegerField(help_text="Reviewed random-sample items the figures rest on.")
    unreviewed = serializers.IntegerField(help_text="Random-sample items still waiting.")
    classes = ClassPrecisionSerializer(many=True)

