"""REST API for cameras and rules."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets

from cameras.models import Camera, Rule
from cameras.services import add_camera
from cameras.validation import clean_camera_name, clean_detect_fps, clean_model_name, clean_stream_url
from events.publisher import publish_camera_changed
from vision.api import drf_validator


class RuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rule
        fields = [
            "id", "camera", "name", "kind", "object_classes", "min_confidence",
            "cooldown_seconds", "severity", "enabled", "updated_at",
        ]


class CameraSerializer(serializers.ModelSerializer):
    stream_url = serializers.CharField(write_only=True, help_text="Credentials are stored encrypted, never returned.")
    stream_url_display = serializers.CharField(source="display_url", read_only=True)
    rules = RuleSerializer(many=True, read_only=True)

    class Meta:
        model = Camera
        fields = [
            "id", "name", "stream_url", "stream_url_display", "enabled", "detect_fps", "model_name",
            "status", "status_detail", "worker", "decoded_fps", "processed_fps", "last_frame_at",
            "frame_width", "frame_height", "rules", "created_at", "updated_at",
        ]
        read_only_fields = [
            "status", "status_detail", "worker", "decoded_fps", "processed_fps", "last_frame_at",
            "frame_width", "frame_height", "created_at", "updated_at",
        ]

    def validate_name(self, value: str) -> str:
        return drf_validator(clean_camera_name, exclude_pk=self.instance.pk if self.instance else None)(value)

    def validate_stream_url(self, value: str) -> str:
        previous = self.instance.stream_url if self.instance else None
        return drf_validator(clean_stream_url, previous=previous)(value)

    def validate_model_name(self, value: str) -> str:
        return drf_validator(clean_model_name)(value)

    def validate_detect_fps(self, value: float) -> float:
        return drf_validator(clean_detect_fps)(value)

    def create(self, validated_data: dict[str, Any]) -> Camera:
        return add_camera(**validated_data)


class CameraViewSet(viewsets.ModelViewSet):
    queryset = Camera.objects.prefetch_related("rules")
    serializer_class = CameraSerializer
    filterset_fields = ["enabled", "status"]

    def perform_create(self, serializer: CameraSerializer) -> None:
        publish_camera_changed(serializer.save().pk)

    def perform_update(self, serializer: CameraSerializer) -> None:
        publish_camera_changed(serializer.save().pk)

    def perform_destroy(self, instance: Camera) -> None:
        camera_id = instance.pk
        instance.delete()
        publish_camera_changed(camera_id)


class RuleViewSet(viewsets.ModelViewSet):
    queryset = Rule.objects.select_related("camera")
    serializer_class = RuleSerializer
    filterset_fields = ["camera", "enabled", "kind"]
