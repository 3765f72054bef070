"""Per-class precision of what the detector stores, from the reviewed uniform random sample.

Only random-sample items count: events and near-threshold items are chosen for being
doubtful or alerted, so their verdicts say nothing about the detector at large. A
sampled detection was right when its reviewed class is the detected one, it was not
rejected, and its reviewed box overlaps the detected box with IoU >= 0.5 (the COCO
convention); a relabel, a reject or a box moved further makes it wrong.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from review.models import Action, ItemStatus, ReviewItem

MIN_IOU = 0.5
Z95 = 1.959964


@dataclass(frozen=True)
class ClassPrecision:
    class_name: str
    correct: int
    wrong: int
    precision: float
    low: float
    """95 % Wilson interval."""
    high: float


def iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def wilson(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def was_right(item: ReviewItem) -> bool:
    d = item.detection
    return (
        item.verdict != Action.REJECT
        and item.label == item.class_name
        and iou([float(v) for v in item.box], [d.x1, d.y1, d.x2, d.y2]) >= MIN_IOU
    )


def precision_by_class(items: Iterable[ReviewItem]) -> list[ClassPrecision]:
    """Figures per detected class over reviewed random-sample ``items`` (with their detections loaded)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in items:
        counts[item.class_name][0 if was_right(item) else 1] += 1
    figures = []
    for name, (correct, wrong) in sorted(counts.items()):
        low, high = wilson(correct, correct + wrong)
        figures.append(ClassPrecision(name, correct, wrong, correct / (correct + wrong), low, high))
    return figures


def sample_items(queryset: QuerySet[ReviewItem]) -> QuerySet[ReviewItem]:
    """The reviewed random-sample items of ``queryset``, ready for :func:`precision_by_class`."""
    return queryset.filter(in_random_sample=True, status=ItemStatus.REVIEWED).select_related("detection")
