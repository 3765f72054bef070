"""Embeddings of boxes cut from review items' stored clean frames (corrections, the backfill).

A correction's embedding is the crop of its box (``after["box"]``); when that is the
detection's own box it is the item's embedding, which the worker computed from the raw
frame, so nothing is re-embedded.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings

from review.models import ReviewItem
from workers.pipeline.embedder import crops_for

Box = Sequence[float]


class FrameMissing(FileNotFoundError):
    """A review item's stored frame is gone (deleted by retention, or a moved media folder)."""


def detection_box(item: ReviewItem) -> list[float]:
    d = item.detection
    return [d.x1, d.y1, d.x2, d.y2]


def crops_of(wanted: Sequence[tuple[ReviewItem, Box]]) -> list[np.ndarray | None]:
    """Per (item, box), the box cropped from the item's frame; ``None`` where the frame cannot be read."""
    frames: dict[str, np.ndarray | None] = {}
    crops: list[np.ndarray | None] = []
    for item, box in wanted:
        if item.frame not in frames:
            frames[item.frame] = cv2.imread(str(Path(settings.MEDIA_ROOT) / item.frame))
        image = frames[item.frame]
        crops.append(None if image is None else crops_for(image, np.asarray([box], np.float64))[0])
    return crops


def box_embedding(item: ReviewItem, box: Box) -> tuple[list[float], tuple[str, str]]:
    """The embedding of ``box`` in the item's frame and the model (name, version) that made it."""
    if [float(v) for v in box] == detection_box(item):
        return list(item.embedding), (item.embedding_model, item.embedding_version)
    from workers.runtime import shared_embedder

    (image,) = crops_of([(item, box)])
    if image is None:
        raise FrameMissing(f"the frame of review item {item.pk} ({item.frame}) cannot be read")
    embedder = shared_embedder()
    (vector,) = embedder.embed([image])
    return vector.tolist(), (embedder.spec.name, embedder.spec.version)
