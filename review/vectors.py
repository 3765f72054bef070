"""Nearest-neighbour queries over embeddings that stay right when they are filtered.

pgvector's HNSW scan (before 0.8, which the embedded server ships) yields at most
``hnsw.ef_search`` neighbours and applies the query's ``WHERE`` afterwards, so a
selective filter (one camera, one class, a date range) can come back with fewer rows
than asked, or none, although matching rows exist. So: when the filter leaves few
candidates (counted on the ordinary indexes, which is cheap) they are scanned exactly;
when it leaves many, the HNSW index is used with ``ef_search`` raised to a few times
the rows asked for, where post-filtering loses little.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import ExpressionWrapper, F, FloatField, Model, QuerySet, Value
from pgvector.django import CosineDistance

EXACT_MAX = 20_000
"""Up to this many candidates, an exact scan (about 20 ms for 1280-d vectors) beats the index's risk."""
EF_SEARCH_MAX = 1000

M = TypeVar("M", bound=Model)


def nearest(
    queryset: QuerySet[M], vector: Sequence[float], *, limit: int, field: str = "embedding", exact_max: int = EXACT_MAX
) -> list[tuple[M, float]]:
    """The ``limit`` rows of ``queryset`` nearest ``vector``, nearest first, with their cosine
    distances (0 same direction … 2 opposite)."""
    distance = CosineDistance(field, vector)
    annotated = queryset.annotate(distance=distance)
    if queryset.count() <= exact_max:
        # "+ 0" is not the indexed expression, so the planner scans the filtered rows exactly.
        exact_order = ExpressionWrapper(F("distance") + Value(0.0), output_field=FloatField())
        rows = list(annotated.order_by(exact_order, "pk")[:limit])
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            ef_search = min(EF_SEARCH_MAX, max(40, 4 * limit))
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
            rows = list(annotated.order_by("distance")[:limit])
    return [(row, float(row.distance)) for row in rows]  # type: ignore[attr-defined]
