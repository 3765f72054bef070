"""REST API of the review screen: the queue, items, corrections and undo, similarity search,
bulk corrections, suppressions, precision. Everything is scoped to the cameras the user may see."""
from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events.handling import EVENT_RELATED
from review import services
from cameras.access import visible_cameras
from review.embedding import FrameMissing
from review.models import Action, Correction, ItemStatus, ReviewItem, Suppression
from review.precision import precision_by_class, sample_items
from review.queue import MAX_DEPTH, queue_page
from review.serializers import (
    BulkRequestSerializer,
    BulkResultSerializer,
    BulkUndoResultSerializer,
    ConflictSerializer,
    CorrectionResultSerializer,
    CorrectionSerializer,
    CorrectRequestSerializer,
    ItemDetailSerializer,
    MissedRequestSerializer,
    PrecisionQuerySerializer,
    PrecisionSerializer,
    QueuePageSerializer,
    QueueQuerySerializer,
    SimilarPageSerializer,
    SimilarQuerySerializer,
    SuppressionSerializer,
    known_class,
)
from review.vectors import nearest
from vision.api import NewestFirstCursor
from vision.permissions import requires

EVENT_FIELDS = [f"event__{name}" for name in EVENT_RELATED]
CAN_VIEW = requires("review.view_reviewitem")
CAN_CORRECT = requires("review.view_reviewitem", "review.add_correction")
CAN_UNDO = requires("review.view_correction", "review.change_correction")
CAN_LIFT = requires("review.view_suppression", "review.change_suppression")
CONFLICT = OpenApiResponse(ConflictSerializer, description="A later correction of the item is active.")
FRAME_GONE = OpenApiResponse(description="The item's stored frame is gone, so the new box cannot be embedded.")


def items_for(user: Any) -> QuerySet[ReviewItem]:
    return ReviewItem.objects.filter(camera__in=visible_cameras(user).values("pk")).select_related(
        "camera", "detection"
    )


def _conflict(err: services.ReviewConflict) -> Response:
    return Response({"detail": str(err), "items": err.item_ids}, status=status.HTTP_409_CONFLICT)


def _result(correction: Correction, item: ReviewItem, code: int = status.HTTP_200_OK) -> Response:
    return Response(CorrectionResultSerializer({"correction": correction, "item": item}).data, status=code)


def _filtered(items: QuerySet[ReviewItem], query: dict[str, Any]) -> QuerySet[ReviewItem]:
    lookups = {"camera": "camera_id", "class_name": "class_name", "rule": "rule_id", "reason": "reason",
               "status": "status", "since": "captured_at__gte", "until": "captured_at__lte"}
    return items.filter(**{lookup: query[key] for key, lookup in lookups.items() if key in query})


DISTANCE_DECIMALS = 5


class ReviewItemViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One item, and what a reviewer does to it."""

    serializer_class = ItemDetailSerializer
    queryset = ReviewItem.objects.none()  # for the schema; get_queryset scopes it to the user
    permission_classes = [CAN_VIEW]

    def get_queryset(self) -> QuerySet[ReviewItem]:
        return items_for(self.request.user).select_related(*EVENT_FIELDS, "event__suppression").prefetch_related(
            Prefetch("corrections", queryset=Correction.objects.select_related("reviewer", "item"))
        )

    def _validated(self, serializer_class: type[serializers.Serializer]) -> tuple[ReviewItem, dict[str, Any]]:
        item = self.get_object()
        form = serializer_class(data=self.request.data, context={"item": item})
        form.is_valid(raise_exception=True)
        return item, form.validated_data

    @extend_schema(request=CorrectRequestSerializer, responses={201: CorrectionResultSerializer, 410: FRAME_GONE})
    @action(detail=True, methods=["post"], permission_classes=[CAN_CORRECT])
    def correct(self, request: Request, pk: str | None = None) -> Response:
        """Confirm, reject as a false positive, relabel or adjust the box; the item's new state comes back."""
        item, data = self._validated(CorrectRequestSerializer)
        try:
            correction = services.correct(
                item.pk, request.user, data["action"],
                class_name=data.get("class_name"), box=data.get("box"), note=data["note"],
            )
        except FrameMissing as err:
            return Response({"detail": str(err)}, status=status.HTTP_410_GONE)
        return _result(correction, items_for(request.user).get(pk=item.pk), status.HTTP_201_CREATED)

    @extend_schema(request=MissedRequestSerializer, responses={201: CorrectionResultSerializer, 410: FRAME_GONE})
    @action(detail=True, methods=["post"], permission_classes=[CAN_CORRECT])
    def missed(self, request: Request, pk: str | None = None) -> Response:
        """An object the detector missed in this item's frame (a correction with action add_missed)."""
        item, data = self._validated(MissedRequestSerializer)
        try:
            correction = services.add_missed(item.pk, request.user, data["class_name"], data["box"], data["note"])
        except FrameMissing as err:
            return Response({"detail": str(err)}, status=status.HTTP_410_GONE)
        return _result(correction, item, status.HTTP_201_CREATED)


class QueueView(APIView):
    permission_classes = [CAN_VIEW]

    @extend_schema(parameters=[QueueQuerySerializer], responses=QueuePageSerializer)
    def get(self, request: Request) -> Response:
        """Unreviewed items, most worth a look first, every 10th from the random sample (flagged);
        with ``status=reviewed``, reviewed items, newest review first."""
        form = QueueQuerySerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        query = form.validated_data
        offset, limit = query["offset"], min(query["limit"], max(0, MAX_DEPTH - query["offset"]))
        candidates = _filtered(items_for(request.user), query)
        if query["status"] == ItemStatus.REVIEWED:
            total = candidates.count()
            page = list(candidates.order_by("-reviewed_at", "-pk")[offset : offset + limit])
        else:
            page, total = queue_page(candidates, offset, limit)
        end = offset + len(page)
        return Response(QueuePageSerializer({
            "count": total,
            "next": self._page_url(request, end, limit) if end < min(total, MAX_DEPTH) and page else None,
            "previous": self._page_url(request, max(0, offset - limit), limit) if offset > 0 else None,
            "results": page,
        }).data)

    @staticmethod
    def _page_url(request: Request, offset: int, limit: int) -> str:
        params = request.query_params.copy()
        params["offset"], params["limit"] = str(offset), str(limit)
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


class CorrectionViewSet(viewsets.ReadOnlyModelViewSet):
    """Corrections, newest first; undo one."""

    serializer_class = CorrectionSerializer
    queryset = Correction.objects.none()
    pagination_class = NewestFirstCursor
    filterset_fields = ["item", "action", "batch", "reviewer", "camera"]

    def get_queryset(self) -> QuerySet[Correction]:
        return Correction.objects.filter(camera__in=visible_cameras(self.request.user).values("pk")).select_related(
            "reviewer", "item"
        )

    @extend_schema(request=None, responses={200: CorrectionResultSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[CAN_UNDO])
    def undo(self, request: Request, pk: str | None = None) -> Response:
        """Undo a correction: its item gets back the state before it. Undo later corrections first."""
        correction = self.get_object()
        try:
            correction = services.undo(correction.pk, request.user)
        except services.ReviewConflict as err:
            return _conflict(err)
        return _result(correction, items_for(request.user).get(pk=correction.item_id))


class SimilarView(APIView):
    permission_classes = [CAN_VIEW]

    @extend_schema(parameters=[SimilarQuerySerializer], responses=SimilarPageSerializer)
    def get(self, request: Request) -> Response:
        """Items nearest an item's (or a correction's) embedding, across cameras and time, nearest first."""
        form = SimilarQuerySerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        query = form.validated_data
        items = items_for(request.user)
        if "item" in query:
            source: ReviewItem | Correction = get_object_or_404(items, pk=query["item"])
            exclude = Q(pk=source.pk)
        else:
            corrections = Correction.objects.filter(camera__in=visible_cameras(request.user).values("pk"))
            source = get_object_or_404(corrections, pk=query["correction"])
            exclude = Q(pk=source.item_id) if source.action != Action.ADD_MISSED else Q(pk__in=[])
        candidates = _filtered(items, query).exclude(exclude).filter(
            embedding_model=source.embedding_model, embedding_version=source.embedding_version
        )
        found: list[tuple[ReviewItem, float]] = nearest(candidates, list(source.embedding), limit=query["limit"])
        found = [(item, round(distance, DISTANCE_DECIMALS)) for item, distance in found]
        if "max_distance" in query:  # on the distances as reported: one shown can be given back as the limit
            found = [(item, distance) for item, distance in found if distance <= query["max_distance"]]
        return Response(SimilarPageSerializer({
            "item": query.get("item"),
            "correction": query.get("correction"),
            "results": [{"distance": distance, "item": item} for item, distance in found],
        }).data)


class BulkView(APIView):
    permission_classes = [CAN_CORRECT]

    @extend_schema(request=BulkRequestSerializer, responses={201: BulkResultSerializer})
    def post(self, request: Request) -> Response:
        """The same correction on many items at once (e.g. picked from similar results), undone as one."""
        form = BulkRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        wanted = set(data["items"])
        items = list(items_for(request.user).filter(pk__in=wanted))
        if missing := sorted(wanted - {item.pk for item in items}):
            raise serializers.ValidationError({"items": [f"No such items: {missing}."]})
        if "class_name" in data:
            for item in items:
                known_class(item, data["class_name"])
        batch, corrections = services.bulk_correct(
            sorted(wanted), request.user, data["action"], class_name=data.get("class_name"), note=data["note"]
        )
        return Response(
            {"batch": batch, "count": len(corrections), "corrections": [c.pk for c in corrections]},
            status=status.HTTP_201_CREATED,
        )


class BulkUndoView(APIView):
    permission_classes = [CAN_UNDO]

    @extend_schema(request=None, responses={200: BulkUndoResultSerializer, 409: CONFLICT})
    def post(self, request: Request, batch: uuid.UUID) -> Response:
        """Undo every correction of a bulk correction (none if one of its items was corrected again since)."""
        visible = Correction.objects.filter(batch=batch, camera__in=visible_cameras(request.user).values("pk"))
        if not visible.exists():
            return Response({"detail": "No such batch."}, status=status.HTTP_404_NOT_FOUND)
        try:
            undone = services.undo_batch(batch, request.user)
        except services.ReviewConflict as err:
            return _conflict(err)
        return Response({"batch": batch, "undone": undone})


class SuppressionFilter(django_filters.FilterSet):
    camera = django_filters.NumberFilter(field_name="event__camera")
    active = django_filters.BooleanFilter(field_name="lifted_at", lookup_expr="isnull", label="Not lifted")

    class Meta:
        model = Suppression
        fields = ["camera", "false_positive", "active"]


class SuppressionViewSet(viewsets.ReadOnlyModelViewSet):
    """Events held back as repeats of false positives; lifting one alerts it."""

    serializer_class = SuppressionSerializer
    queryset = Suppression.objects.none()
    pagination_class = NewestFirstCursor
    filterset_class = SuppressionFilter

    def get_queryset(self) -> QuerySet[Suppression]:
        return Suppression.objects.filter(
            event__camera__in=visible_cameras(self.request.user).values("pk")
        ).select_related(*EVENT_FIELDS, "false_positive")

    @extend_schema(request=None, responses=SuppressionSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CAN_LIFT])
    def lift(self, request: Request, pk: str | None = None) -> Response:
        """Alert the event after all: operators get it live and its rule's actions run (once)."""
        suppression = services.lift(self.get_object().pk, request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=suppression.pk)).data)


class PrecisionView(APIView):
    permission_classes = [CAN_VIEW]

    @extend_schema(parameters=[PrecisionQuerySerializer], responses=PrecisionSerializer)
    def get(self, request: Request) -> Response:
        """Per-class precision of stored detections, from the reviewed random sample only."""
        form = PrecisionQuerySerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        items = _filtered(items_for(request.user), form.validated_data).filter(in_random_sample=True)
        reviewed = list(sample_items(items))
        return Response(PrecisionSerializer({
            "reviewed": len(reviewed),
            "unreviewed": items.filter(status=ItemStatus.UNREVIEWED).count(),
            "classes": precision_by_class(reviewed),
        }).data)
