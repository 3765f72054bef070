"""REST API for events and detections.

Operators see the events of the cameras they may see (``cameras.access``). Two ways to
list events:

* ``GET /api/events/``: newest first, cursor-paged (``next`` / ``previous``): the feed.
* ``GET /api/events/?after=<id>``: events with an id above ``<id>``, oldest first, with
  ``last_id`` to ask for the next page: how a reconnecting client back-fills exactly what it
  missed. Event ids are drawn in commit order (``events.models.lock_event_inserts``), so no
  event committed later can carry a lower id: nothing is skipped, nothing comes twice.

Handling (``POST /api/events/<id>/<action>/``) is in :mod:`events.handling`.
"""
from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from cameras.access import visible_cameras
from events.handling import EVENT_RELATED, HANDLE_PERMISSION, AssigneeError, HandlingError, handle, handlers_of
from events.models import HELD_BACK, QUIET_RULE, ClipStatus, Detection, Event, EventAction
from events.payloads import snapshot_url, user_ref
from vision.api import NewestFirstCursor
from vision.permissions import requires


class DetectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Detection
        fields = [
            "id", "camera", "captured_at", "track_id", "class_id", "class_name", "confidence",
            "x1", "y1", "x2", "y2", "frame_width", "frame_height", "model_name", "model_version",
        ]


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


@extend_schema_field(UserRefSerializer(allow_null=True))
class _UserRefField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return user_ref(value)


class EventSerializer(serializers.ModelSerializer):
    camera_id = serializers.IntegerField(read_only=True, help_text="The same as camera, as the socket's events name it")
    camera_name = serializers.CharField(source="camera.name", read_only=True)
    snapshot_url = serializers.SerializerMethodField()
    crop_url = serializers.SerializerMethodField()
    clip_url = serializers.SerializerMethodField(help_text="The MP4 around the event; empty until clip_status is ready")
    event_url = serializers.SerializerMethodField()
    detection = DetectionSerializer(read_only=True)
    acknowledged_by = _UserRefField(read_only=True)
    assigned_to = _UserRefField(read_only=True)
    resolved_by = _UserRefField(read_only=True, help_text="Who resolved or dismissed it")

    class Meta:
        model = Event
        fields = [
            "id", "camera", "camera_id", "camera_name", "rule", "rule_name", "track_id", "class_name", "confidence",
            "severity", "status", "captured_at", "created_at", "updated_at", "snapshot_url", "crop_url",
            "clip_url", "clip_status", "clip_detail", "event_url", "detection", "evidence",
            "acknowledged_by", "acknowledged_at", "assigned_to", "escalation", "resolved_by", "resolved_at",
        ]
        read_only_fields = fields

    def get_snapshot_url(self, event: Event) -> str:
        return snapshot_url(event.snapshot)

    def get_crop_url(self, event: Event) -> str:
        return snapshot_url(event.crop)

    def get_clip_url(self, event: Event) -> str:
        return snapshot_url(event.clip) if event.clip_status == ClipStatus.READY else ""

    def get_event_url(self, event: Event) -> str:
        return reverse("event-page", args=[event.pk])


class EventActionSerializer(serializers.ModelSerializer):
    user = _UserRefField(read_only=True)
    assignee = _UserRefField(read_only=True)

    class Meta:
        model = EventAction
        fields = ["id", "event", "action", "user", "user_name", "assignee", "assignee_name", "note", "status",
                  "escalation", "created_at"]
        read_only_fields = fields


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    pass


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    pass


class EventFilter(django_filters.FilterSet):
    camera = NumberInFilter(field_name="camera_id", help_text="Camera ids, comma-separated")
    status = CharInFilter(help_text="new, acknowledged, resolved, dismissed; comma-separated")
    severity = CharInFilter(help_text="info, warning, critical; comma-separated")
    rule = NumberInFilter(field_name="rule_id", help_text="Rule ids, comma-separated")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text="Events handled (or given a clip) since then: what changed while a client was away",
    )
    assigned_to = django_filters.CharFilter(method="filter_assigned_to", help_text='A user id, "me" or "nobody"')
    escalated = django_filters.BooleanFilter(method="filter_escalated")
    suppressed = django_filters.BooleanFilter(
        method="filter_suppressed",
        label="true: only events held back as repeats of a false positive (review.Suppression, not lifted); "
        "false: only the others",
    )
    alerted = django_filters.BooleanFilter(
        method="filter_alerted",
        label="true: only events operators were alerted to (neither held back as a repeat of a false positive "
        "nor of a rule that does not alert operators): the dashboard's feed; false: only the others",
    )

    class Meta:
        model = Event
        fields = ["camera", "status", "severity", "rule", "suppressed", "alerted"]

    def filter_suppressed(self, queryset: QuerySet[Event], name: str, value: bool) -> QuerySet[Event]:
        return queryset.filter(HELD_BACK) if value else queryset.exclude(HELD_BACK)

    def filter_alerted(self, queryset: QuerySet[Event], name: str, value: bool) -> QuerySet[Event]:
        return queryset.alerted() if value else queryset.filter(HELD_BACK | QUIET_RULE)  # type: ignore[attr-defined]

    def filter_assigned_to(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        if value == "me":
            return queryset.filter(assigned_to=self.request.user) if self.request else queryset.none()
        if value == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        if not value.isdigit():
            raise ValidationError({"assigned_to": 'a user id, "me" or "nobody"'})
        return queryset.filter(assigned_to_id=int(value))

    def filter_escalated(self, queryset: QuerySet[Event], name: str, value: bool) -> QuerySet[Event]:
        return queryset.filter(escalation__gt=0) if value else queryset.filter(escalation=0)


class AfterIdPagination(BasePagination):
    """``?after=<id>``: the events above that id, oldest first; ``last_id`` is the next ``after``."""

    page_size = 100
    max_page_size = 500

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        try:
            after = int(request.query_params["after"])
            size = min(int(request.query_params.get("page_size", self.page_size)), self.max_page_size)
        except ValueError:
            raise ValidationError({"after": "the id of the last event seen (0: from the start)"}) from None
        if after < 0 or size < 1:
            raise ValidationError({"after": "after must be >= 0 and page_size >= 1"})
        rows = list(queryset.filter(pk__gt=after).order_by("pk")[: size + 1])
        self.has_more = len(rows) > size
        rows = rows[:size]
        self.last_id = rows[-1].pk if rows else after
        self.request = request
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        url = self.request.build_absolute_uri()
        return Response({
            "last_id": self.last_id,
            "next": replace_query_param(url, "after", self.last_id) if self.has_more else None,
            "results": data,
        })


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RequiredNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class AssignSerializer(NoteSerializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), allow_null=True, required=False,
        help_text="A user id; null: unassign; left out: the signed-in user",
    )


class EscalateSerializer(NoteSerializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), allow_null=True, required=False,
        help_text="Optionally, whom to escalate to (assigns the event)",
    )


_HANDLE = [requires("events.view_event", HANDLE_PERMISSION)]


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Event.objects.select_related(*EVENT_RELATED)
    serializer_class = EventSerializer
    pagination_class = NewestFirstCursor
    filterset_class = EventFilter

    def get_queryset(self) -> QuerySet[Event]:
        return super().get_queryset().filter(camera__in=visible_cameras(self.request.user))

    @extend_schema(parameters=[OpenApiParameter(
        "after", int, description="Back-fill: the events with an id above this one, oldest first, paged by "
        "last_id/next instead of the cursor ({last_id, next, results}); 0: from the first event.",
    )])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @property
    def paginator(self) -> BasePagination | None:
        if not hasattr(self, "_paginator"):
            after = self.action == "list" and "after" in self.request.query_params
            self._paginator = AfterIdPagination() if after else super().paginator
        return self._paginator

    def _handle(self, request: Request, form_class: type[serializers.Serializer] | None) -> Response:
        """The action named like the view's action (``EventAction.Kind``), with its body."""
        kind = str(self.action)
        event = self.get_object()  # 404 for a camera the user may not see
        data: dict[str, Any] = {}
        if form_class is not None:
            form = form_class(data=request.data)
            form.is_valid(raise_exception=True)
            data = dict(form.validated_data)
        if kind == EventAction.Kind.ASSIGN and "assignee" not in request.data:
            data["assignee"] = request.user
        try:
            handled = handle(event.pk, request.user, kind, note=data.get("note", ""), assignee=data.get("assignee"))
        except AssigneeError as err:
            return Response({"assignee": [str(err)]}, status=status.HTTP_400_BAD_REQUEST)
        except HandlingError as err:
            return Response({"detail": str(err)}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(handled.event).data)

    @extend_schema(request=None, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=_HANDLE)
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        return self._handle(request, None)

    @extend_schema(request=AssignSerializer, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=_HANDLE)
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Assign to a user (left out: yourself; null: unassign)."""
        return self._handle(request, AssignSerializer)

    @extend_schema(request=RequiredNoteSerializer, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=_HANDLE)
    def note(self, request: Request, pk: str | None = None) -> Response:
        return self._handle(request, RequiredNoteSerializer)

    @extend_schema(request=EscalateSerializer, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=_HANDLE)
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        return self._handle(request, EscalateSerializer)

    @extend_schema(request=NoteSerializer, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=_HANDLE)
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        return self._handle(request, NoteSerializer)

    @extend_schema(request=NoteSerializer, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=_HANDLE)
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        """A false alarm: closes the event and hands it to review (status "dismissed")."""
        return self._handle(request, NoteSerializer)

    @extend_schema(request=NoteSerializer, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=_HANDLE)
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        return self._handle(request, NoteSerializer)

    @extend_schema(responses=EventActionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        """Who did what when, oldest first."""
        event = self.get_object()
        actions = event.actions.select_related("user", "assignee")
        return Response(EventActionSerializer(actions, many=True).data)

    @extend_schema(responses=UserRefSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def assignees(self, request: Request, pk: str | None = None) -> Response:
        """Users the event can be assigned to: active, allowed to handle events of its camera."""
        event = self.get_object()
        return Response([user_ref(user) for user in handlers_of(event.camera)])


class NewestCapturedFirstCursor(NewestFirstCursor):
    ordering = ("-captured_at", "-id")


class DetectionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Detection.objects.all()
    serializer_class = DetectionSerializer
    filterset_fields = ["camera", "class_name", "track_id"]
    pagination_class = NewestCapturedFirstCursor

    def get_queryset(self) -> QuerySet[Detection]:
        return super().get_queryset().filter(camera__in=visible_cameras(self.request.user))
