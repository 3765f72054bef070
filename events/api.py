"""REST API for events and detections."""
from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from events.models import Detection, Event, EventStatus
from events.payloads import snapshot_url
from vision.api import NewestFirstCursor
from vision.permissions import requires


class DetectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Detection
        fields = [
            "id", "camera", "captured_at", "track_id", "class_id", "class_name", "confidence",
            "x1", "y1", "x2", "y2", "frame_width", "frame_height", "model_name", "model_version",
        ]


class EventSerializer(serializers.ModelSerializer):
    camera_name = serializers.CharField(source="camera.name", read_only=True)
    snapshot_url = serializers.SerializerMethodField()
    detection = DetectionSerializer(read_only=True)

    class Meta:
        model = Event
        fields = [
            "id", "camera", "camera_name", "rule", "rule_name", "track_id", "class_name", "confidence",
            "severity", "status", "captured_at", "created_at", "snapshot_url", "detection", "evidence",
            "acknowledged_by", "acknowledged_at",
        ]
        read_only_fields = fields

    def get_snapshot_url(self, event: Event) -> str:
        return snapshot_url(event.snapshot)


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Event.objects.select_related("camera", "detection")
    serializer_class = EventSerializer
    pagination_class = NewestFirstCursor
    filterset_fields = ["camera", "status", "severity", "rule"]

    @action(detail=True, methods=["post"], permission_classes=[requires("events.view_event", "events.change_event")])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        event = self.get_object()
        if event.status == EventStatus.NEW:
            event.status = EventStatus.ACKNOWLEDGED
            event.acknowledged_by = request.user
            event.acknowledged_at = timezone.now()
            event.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
        return Response(self.get_serializer(event).data)


class NewestCapturedFirstCursor(NewestFirstCursor):
    ordering = ("-captured_at", "-id")


class DetectionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Detection.objects.all()
    serializer_class = DetectionSerializer
    filterset_fields = ["camera", "class_name", "track_id"]
    pagination_class = NewestCapturedFirstCursor
