"""REST API for cameras, the regions drawn on them and their rules."""
from __future__ import annotations

from typing import Any

import base64

from django.conf import settings
from django.db.models import QuerySet, RestrictedError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from cameras.access import visible_cameras
from cameras.models import Camera, Region, Rule
from cameras.preview import preview_rule
from cameras.services import add_camera
from cameras.validation import (
    clean_camera_name,
    clean_detect_fps,
    clean_detect_width,
    clean_model_name,
    clean_mqtt_topic,
    clean_object_classes,
    clean_object_settings,
    clean_points,
    clean_schedule,
    clean_stream_url,
    clean_timezone,
    rule_problems,
)
from events.live import load_snapshot
from events.publisher import publish_camera_changed
from vision.api import drf_validator
from vision.permissions import requires
from vision.redis_client import get_redis
from workers.pipeline.drawing import encode_jpeg
from workers.pipeline.sources import SourceError, grab_one_frame, parse_source

TEST_CONNECTION_TIMEOUT_S = 10.0


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "camera", "name", "kind", "points", "direction", "color", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        camera = attrs.get("camera") or self.instance.camera
        kind = attrs.get("kind") or self.instance.kind
        if self.instance is not None and "camera" in attrs and attrs["camera"] != self.instance.camera:
            raise serializers.ValidationError({"camera": "A region cannot move to another camera."})
        if self.instance is not None and kind != self.instance.kind and self.instance.rules.exists():
            raise serializers.ValidationError({"kind": "Rules use this region: its kind cannot change."})
        name = (attrs.get("name") or (self.instance.name if self.instance else "")).strip()
        if not name:
            raise serializers.ValidationError({"name": "Give the region a name."})
        clash = Region.objects.filter(camera=camera, name__iexact=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"name": f"{camera.name} already has a region named “{name}”."})
        attrs["name"] = name
        if "points" in attrs or "kind" in attrs:
            points = attrs.get("points", self.instance.points if self.instance else None)
            try:
                attrs["points"] = drf_validator(clean_points, kind=kind)(points)
            except serializers.ValidationError as err:
                raise serializers.ValidationError({"points": err.detail}) from err
        return attrs


class RuleSerializer(serializers.ModelSerializer):
    webhook_secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text="Signs webhook bodies; stored encrypted, never returned."
    )
    has_webhook_secret = serializers.SerializerMethodField()

    class Meta:
        model = Rule
        fields = [
            "id", "camera", "name", "description", "trigger", "region", "object_classes", "min_confidence",
            "anchor", "duration_seconds", "min_count", "schedule", "cooldown_seconds", "stationary_guard",
            "severity", "notify_operators", "webhook_url", "webhook_secret", "has_webhook_secret", "mqtt_topic",
            "enabled", "updated_at",
        ]
        extra_kwargs = {
            "min_confidence": {"min_value": 0.0, "max_value": 1.0},
            "duration_seconds": {"min_value": 0.0, "max_value": 7 * 86400.0},
            "cooldown_seconds": {"min_value": 0.0, "max_value": 7 * 86400.0},
            "min_count": {"min_value": 1, "max_value": 1000},
            "object_classes": {"allow_empty": True},  # clean_object_classes says it in plain words
        }

    def get_has_webhook_secret(self, rule: Rule) -> bool:
        return bool(rule.webhook_secret)

    def validate_mqtt_topic(self, value: str) -> str:
        return drf_validator(clean_mqtt_topic)(value)

    def check_name_free(self, camera: Camera, name: str) -> None:
        clash = Rule.objects.filter(camera=camera, name__iexact=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"name": f"{camera.name} already has a rule named “{name}”."})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(field: str) -> Any:
            if field in attrs:
                return attrs[field]
            if self.instance is not None:
                return getattr(self.instance, field)
            return Rule._meta.get_field(field).get_default()

        camera: Camera = current("camera")
        if self.instance is not None and camera != self.instance.camera:
            raise serializers.ValidationError({"camera": "A rule cannot move to another camera."})
        name = (current("name") or "").strip()
        if not name:
            raise serializers.ValidationError({"name": "Give the rule a name."})
        self.check_name_free(camera, name)
        attrs["name"] = name
        errors: dict[str, Any] = {}
        for field, check in (
            ("object_classes", lambda v: clean_object_classes(v, camera.model_name)),
            ("schedule", lambda v: clean_schedule(v, camera.timezone)),
        ):
            try:
                attrs[field] = drf_validator(check)(current(field))
            except serializers.ValidationError as err:
                errors[field] = err.detail
        merged = {field: current(field) for field in ("trigger", "region", "duration_seconds", "webhook_url")}
        errors.update(rule_problems(merged, camera))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CameraSerializer(serializers.ModelSerializer):
    stream_url = serializers.CharField(write_only=True, help_text="Credentials are stored encrypted, never returned.")
    stream_url_display = serializers.CharField(source="display_url", read_only=True)
    regions = RegionSerializer(many=True, read_only=True)
    rules = RuleSerializer(many=True, read_only=True)

    class Meta:
        model = Camera
        fields = [
            "id", "name", "description", "stream_url", "stream_url_display", "enabled", "detect_fps",
            "detect_width", "model_name", "timezone", "object_settings", "access_groups", "fp_similarity_threshold",
            "status", "status_detail", "worker", "decoded_fps", "processed_fps", "last_frame_at",
            "frame_width", "frame_height", "regions", "rules", "created_at", "updated_at",
        ]
        read_only_fields = [
            "status", "status_detail", "worker", "decoded_fps", "processed_fps", "last_frame_at",
            "frame_width", "frame_height", "created_at", "updated_at",
        ]
        extra_kwargs = {"fp_similarity_threshold": {"min_value": 0.0, "max_value": 1.0}}

    def validate_name(self, value: str) -> str:
        return drf_validator(clean_camera_name, exclude_pk=self.instance.pk if self.instance else None)(value)

    def validate_stream_url(self, value: str) -> str:
        previous = self.instance.stream_url if self.instance else None
        return drf_validator(clean_stream_url, previous=previous)(value)

    def validate_model_name(self, value: str) -> str:
        return drf_validator(clean_model_name)(value)

    def validate_detect_fps(self, value: float) -> float:
        return drf_validator(clean_detect_fps)(value)

    def validate_detect_width(self, value: int | None) -> int | None:
        return drf_validator(clean_detect_width)(value)

    def validate_timezone(self, value: str) -> str:
        return drf_validator(clean_timezone)(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "object_settings" in attrs or "model_name" in attrs:
            model = attrs.get("model_name") or (self.instance.model_name if self.instance else None)
            model = model or Camera._meta.get_field("model_name").get_default()
            settings_ = attrs.get("object_settings", self.instance.object_settings if self.instance else {})
            try:
                attrs["object_settings"] = drf_validator(clean_object_settings, model_name=model)(settings_)
            except serializers.ValidationError as err:
                raise serializers.ValidationError({"object_settings": err.detail}) from err
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Camera:
        return add_camera(**validated_data)


class _ConfigChangeMixin:
    """Tell the stream workers about every change, so it reaches them within seconds."""

    @staticmethod
    def _camera_id(instance: Any) -> int:
        return instance.pk if isinstance(instance, Camera) else instance.camera_id

    def perform_create(self, serializer: serializers.ModelSerializer) -> None:
        publish_camera_changed(self._camera_id(serializer.save()))

    def perform_update(self, serializer: serializers.ModelSerializer) -> None:
        publish_camera_changed(self._camera_id(serializer.save()))

    def perform_destroy(self, instance: Any) -> None:
        camera_id = self._camera_id(instance)
        instance.delete()
        publish_camera_changed(camera_id)


class TestConnectionSerializer(serializers.Serializer):
    stream_url = serializers.CharField(help_text="The URL to try; “***” as password keeps the camera's stored one.")
    camera = serializers.PrimaryKeyRelatedField(
        queryset=Camera.objects.all(), required=False, allow_null=True, help_text="The camera being edited, if any."
    )


class TestConnectionResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    error = serializers.CharField(required=False, help_text="Why no picture came, in plain words.")
    width = serializers.IntegerField(required=False)
    height = serializers.IntegerField(required=False)
    jpeg_base64 = serializers.CharField(required=False, help_text="The first frame, as a JPEG.")


def _try_stream(url: str) -> dict[str, Any]:
    try:
        image = grab_one_frame(parse_source(url, video_dir=settings.VIGIL_VIDEO_DIR), TEST_CONNECTION_TIMEOUT_S)
    except SourceError as err:
        return {"ok": False, "error": str(err)}
    height, width = image.shape[:2]
    jpeg = encode_jpeg(image, max_width=1280, quality=85)
    return {"ok": True, "width": width, "height": height, "jpeg_base64": base64.b64encode(jpeg).decode()}


class CameraViewSet(_ConfigChangeMixin, viewsets.ModelViewSet):
    queryset = Camera.objects.prefetch_related("rules", "regions", "access_groups")
    serializer_class = CameraSerializer
    filterset_fields = ["enabled", "status"]

    def get_queryset(self) -> QuerySet[Camera]:
        return super().get_queryset().filter(pk__in=visible_cameras(self.request.user).values("pk"))

    @extend_schema(request=TestConnectionSerializer, responses=TestConnectionResultSerializer)
    @action(detail=False, methods=["post"], url_path="test-connection",
            permission_classes=[requires("cameras.add_camera")])
    def test_connection(self, request: Request) -> Response:
        """Open a stream and fetch one frame, without saving anything: the “test connection” button."""
        form = TestConnectionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        camera: Camera | None = form.validated_data.get("camera")
        url = form.validated_data["stream_url"]
        try:
            url = drf_validator(clean_stream_url, previous=camera.stream_url if camera else None)(url)
        except serializers.ValidationError as err:
            return Response({"ok": False, "error": " ".join(str(m) for m in err.detail)})
        return Response(_try_stream(url))

    @extend_schema(responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=True, methods=["get"])
    def snapshot(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The camera's current picture without boxes, to draw zones and lines on.

        The stream worker publishes it; a camera no worker runs yet is asked directly."""
        camera = self.get_object()
        jpeg = load_snapshot(get_redis(), camera.pk)
        if jpeg is None:
            result = _try_stream(camera.stream_url)
            if not result["ok"]:
                return Response({"detail": f"No picture: {result['error']}"}, status=status.HTTP_502_BAD_GATEWAY)
            jpeg = base64.b64decode(result["jpeg_base64"])
        response = HttpResponse(jpeg, content_type="image/jpeg")
        response["Cache-Control"] = "no-store"
        return response


class RegionViewSet(_ConfigChangeMixin, viewsets.ModelViewSet):
    queryset = Region.objects.select_related("camera")
    serializer_class = RegionSerializer
    filterset_fields = ["camera", "kind"]

    def get_queryset(self) -> QuerySet[Region]:
        return super().get_queryset().filter(camera__in=visible_cameras(self.request.user))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().destroy(request, *args, **kwargs)
        except RestrictedError as err:
            names = ", ".join(sorted(rule.name for rule in err.restricted_objects))
            return Response(
                {"detail": f"Rules use this region ({names}): change or delete them first."},
                status=status.HTTP_409_CONFLICT,
            )


class RulePreviewSerializer(RuleSerializer):
    hours = serializers.FloatField(min_value=0.1, max_value=168, default=24, help_text="How far back to look.")

    class Meta(RuleSerializer.Meta):
        fields = [*RuleSerializer.Meta.fields, "hours"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        hours = attrs.pop("hours")
        attrs = super().validate(attrs)
        attrs["hours"] = hours
        return attrs

    def check_name_free(self, camera: Camera, name: str) -> None:
        """A preview saves nothing: it may carry the name of the rule being edited."""


class PreviewEventSerializer(serializers.Serializer):
    captured_at = serializers.DateTimeField()
    track_id = serializers.IntegerField(allow_null=True)
    class_name = serializers.CharField()
    confidence = serializers.FloatField()
    evidence = serializers.JSONField()
    detection_id = serializers.IntegerField(allow_null=True)


class PreviewResultSerializer(serializers.Serializer):
    events = PreviewEventSerializer(many=True)
    frames_evaluated = serializers.IntegerField()
    detections = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text="The replay stopped at its detection or event limit.")


class RuleViewSet(_ConfigChangeMixin, viewsets.ModelViewSet):
    queryset = Rule.objects.select_related("camera", "region")
    serializer_class = RuleSerializer
    filterset_fields = ["camera", "enabled", "trigger", "region"]

    def get_queryset(self) -> QuerySet[Rule]:
        return super().get_queryset().filter(camera__in=visible_cameras(self.request.user))

    @extend_schema(request=RulePreviewSerializer, responses=PreviewResultSerializer)
    @action(detail=False, methods=["post"], permission_classes=[requires("cameras.add_rule", "events.view_detection")])
    def preview(self, request: Request) -> Response:
        """Try a rule before saving it: the events it would have created over the last ``hours``.

        Takes the same fields as creating a rule (nothing is saved; the name may clash
        with the rule being edited)."""
        form = RulePreviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        hours = data.pop("hours")
        data.pop("webhook_secret", None)
        result = preview_rule(Rule(**data), hours)
        return Response(PreviewResultSerializer(result).data)


# --- Configuration as code: /api/config/export/ and /api/config/import/ ----------------
# cameras.config_yaml builds on the serializers above, so the views import it when called.

from drf_spectacular.utils import OpenApiParameter  # noqa: E402
from rest_framework.parsers import BaseParser, MultiPartParser  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

CONFIG_IMPORT_PERMS = tuple(
    f"cameras.{action}_{model}" for model in ("camera", "region", "rule") for action in ("add", "change", "delete")
)


class ConfigChangeCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    deleted = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class ConfigChangesSerializer(serializers.Serializer):
    cameras = ConfigChangeCountsSerializer()
    regions = ConfigChangeCountsSerializer()
    rules = ConfigChangeCountsSerializer()


class ConfigImportResultSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["merge", "replace"])
    dry_run = serializers.BooleanField(help_text="Nothing was changed: the counts say what would change.")
    changes = ConfigChangesSerializer()


class ConfigErrorSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Where in the document, e.g. cameras[1].regions[0].points; empty: the whole document.")
    message = serializers.CharField()


class ConfigErrorsSerializer(serializers.Serializer):
    errors = ConfigErrorSerializer(many=True)


class ConfigUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The YAML document, as exported by /api/config/export/.")


class YamlBodyParser(BaseParser):
    """The request body as bytes, read up to one byte past the size limit."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> bytes:
        from cameras.config_yaml import MAX_DOCUMENT_BYTES

        return stream.read(MAX_DOCUMENT_BYTES + 1) if stream is not None else b""


class _XYamlBodyParser(YamlBodyParser):
    media_type = "application/x-yaml"


class _TextYamlBodyParser(YamlBodyParser):
    media_type = "text/yaml"


class _PlainTextBodyParser(YamlBodyParser):
    media_type = "text/plain"


def _query_flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _config_errors(errors: list[Any], code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"errors": [{"path": e.path, "message": e.message} for e in errors]}, status=code)


class ConfigExportView(APIView):
    """The whole configuration (cameras, regions, rules) as YAML, to keep in version control."""

    # The document holds stream URLs: only those who may change cameras see it.
    permission_classes = [requires("cameras.change_camera")]

    @extend_schema(
        operation_id="config_export",
        parameters=[OpenApiParameter(
            "secrets", OpenApiTypes.BOOL, description="Include stream passwords and webhook secrets (otherwise “***”).",
        )],
        responses={(200, "application/yaml"): OpenApiResponse(OpenApiTypes.STR, description="The YAML document.")},
    )
    def get(self, request: Request) -> HttpResponse:
        from cameras.config_yaml import export_config

        response = HttpResponse(
            export_config(include_secrets=_query_flag(request, "secrets")).encode(),
            content_type="application/yaml; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="vigil-config.yaml"'
        response["Cache-Control"] = "no-store"
        return response


class ConfigImportView(APIView):
    """Apply a YAML document: everything is checked first, and nothing changes unless all is valid."""

    permission_classes = [requires(*CONFIG_IMPORT_PERMS)]
    parser_classes = [YamlBodyParser, _XYamlBodyParser, _TextYamlBodyParser, _PlainTextBodyParser, MultiPartParser]

    @extend_schema(
        operation_id="config_import",
        parameters=[
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Check and count the changes, change nothing."),
            OpenApiParameter(
                "mode", OpenApiTypes.STR, enum=["merge", "replace"],
                description="merge (default): keep what the file leaves out; replace: delete it.",
            ),
        ],
        request={"application/yaml": OpenApiTypes.STR, "multipart/form-data": ConfigUploadSerializer},
        responses={
            200: ConfigImportResultSerializer,
            400: OpenApiResponse(ConfigErrorsSerializer, description="Every problem found; nothing was changed."),
            413: OpenApiResponse(ConfigErrorsSerializer, description="The document is over the size limit."),
        },
    )
    def post(self, request: Request) -> Response:
        from cameras import config_yaml

        mode = request.query_params.get("mode", config_yaml.Mode.MERGE)
        if mode not in set(config_yaml.Mode):
            return _config_errors([config_yaml.ConfigError("mode", "The mode is “merge” or “replace”.")])
        source = self._document(request)
        if source is None:
            return _config_errors([config_yaml.ConfigError(
                "", "Send the YAML as the request body (Content-Type: application/yaml) or as a file field named “file”.",
            )])
        too_large = config_yaml.size_problem(source)
        if too_large is not None:
            return _config_errors([too_large], status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            summary = config_yaml.import_config(source, mode=config_yaml.Mode(mode), dry_run=_query_flag(request, "dry_run"))
        except config_yaml.ConfigInvalid as err:
            return _config_errors(err.errors)
        return Response(ConfigImportResultSerializer(summary.as_dict()).data)

    @staticmethod
    def _document(request: Request) -> bytes | None:
        from cameras.config_yaml import MAX_DOCUMENT_BYTES

        data = request.data
        if isinstance(data, bytes):
            return data or None
        upload = request.FILES.get("file")
        return upload.read(MAX_DOCUMENT_BYTES + 1) if upload is not None else None
