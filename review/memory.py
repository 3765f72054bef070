"""False-positive memory: is a new detection a repeat of a mistake a reviewer already rejected?

A match needs the same camera, the same detected class (a car wrongly called "cell
phone" says nothing about real cars), the same embedding model, and a cosine distance
to an active (not undone) reject correction within the camera's
``fp_similarity_threshold``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from review.models import Action, Correction
from review.vectors import nearest


@dataclass(frozen=True)
class Match:
    correction_id: int
    distance: float


def active_false_positives(camera_id: int, class_name: str, model: tuple[str, str]) -> QuerySet[Correction]:
    name, version = model
    return Correction.objects.filter(
        action=Action.REJECT, undone_at__isnull=True, camera_id=camera_id, class_name=class_name,
        embedding_model=name, embedding_version=version,
    )


def match_false_positive(
    camera_id: int, class_name: str, vector: Sequence[float], *, threshold: float, model: tuple[str, str]
) -> Match | None:
    """The nearest active false positive within ``threshold``; ``None`` when there is none or ``threshold`` is 0."""
    if threshold <= 0:
        return None
    bank = active_false_positives(camera_id, class_name, model)
    found: list[tuple[Correction, float]] = nearest(bank, vector, limit=1)
    if not found or found[0][1] > threshold:
        return None
    correction, distance = found[0]
    return Match(correction.pk, distance)
