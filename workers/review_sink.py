"""The review side of the stream worker's sink.

Before the batch's transaction (:meth:`ReviewWriter.prepare`): pick the detections to
review (:mod:`workers.pipeline.review_sampling`), write a clean copy of their frames and
their crops, and embed all the batch's crops in one embedder call. In the transaction
(:meth:`ReviewWriter.store`): the review items, and the false-positive memory check of
the batch's events (one query per event; events are rare), whose matches are kept as
suppressions and not alerted.
"""
from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
import numpy as np

from cameras.models import Camera, Rule
from events.models import Detection, Event
from review.memory import match_false_positive
from review.models import ReviewItem, Suppression
from workers.pipeline.drawing import encode_jpeg
from workers.pipeline.embedder import Embedder, crops_for
from workers.pipeline.review_sampling import Pick, ReviewSampler
from workers.sinks import FrameOutcome, save_media

log = logging.getLogger(__name__)


@dataclass
class PendingItem:
    outcome: int
    """Position of the frame's outcome in the batch."""
    pick: Pick
    frame: str
    crop: str
    vector: np.ndarray


class ReviewWriter:
    """Used from the sink writer thread only (the sampler's rate limits are not locked)."""

    def __init__(self, *, embedder: Embedder, sampler: ReviewSampler, media_root: Path) -> None:
        self.embedder = embedder
        self.sampler = sampler
        self.media_root = media_root
        self.model = (embedder.spec.name, embedder.spec.version)
        self.crops_embedded = 0
        self.embed_seconds = 0.0
        self.events_suppressed = 0

    def prepare(self, outcomes: Sequence[FrameOutcome]) -> list[PendingItem]:
        """Pick, write the files, embed: everything that needs no database, before the transaction."""
        picked: list[tuple[int, Pick]] = []
        crops: list[np.ndarray] = []
        frames: dict[int, str] = {}
        for position, outcome in enumerate(outcomes):
            d = outcome.detections
            picks = self.sampler.pick(outcome.camera.id, outcome.camera.rules, d, outcome.hits, outcome.captured_at)
            if not picks:
                continue
            crops.extend(crops_for(outcome.image, d.xyxy[[p.index for p in picks]]))
            picked.extend((position, p) for p in picks)
            day = datetime.fromtimestamp(outcome.captured_at, timezone.utc).strftime("%Y-%m-%d")
            frames[position] = f"review/{outcome.camera.id}/{day}/{uuid.uuid4().hex}"
            clean = encode_jpeg(outcome.image, max_width=None, quality=85)
            save_media(self.media_root, f"{frames[position]}.jpg", clean)
        if not picked:
            return []
        started = time.perf_counter()
        vectors = self.embedder.embed(crops)
        elapsed = time.perf_counter() - started
        self.embed_seconds += elapsed
        self.crops_embedded += len(crops)
        log.debug("review crops embedded", extra={"crops": len(crops), "embed_ms": round(elapsed * 1000, 1)})
        pending = []
        for (position, pick), image, vector in zip(picked, crops, vectors, strict=True):
            stem = frames[position]
            save_media(self.media_root, f"{stem}-{pick.index}.jpg", encode_jpeg(image, max_width=None))
            pending.append(PendingItem(position, pick, f"{stem}.jpg", f"{stem}-{pick.index}.jpg", vector))
        return pending

    def store(self, pending: list[PendingItem], rows: Sequence[Sequence[Detection]], events: list[Event]) -> set[int]:
        """Write the review items; the ids of the events suppressed as repeats of false positives."""
        if not pending:
            return set()
        event_of: dict[int, Event] = {}
        for event in events:
            if event.detection is not None:
                event_of.setdefault(event.detection.pk, event)
        rule_ids = {p.pick.rule_id for p in pending if p.pick.rule_id is not None}
        # Locked like the events' rules: a rule deleted meanwhile would fail the whole batch.
        live_rules = set(
            Rule.objects.filter(pk__in=rule_ids).select_for_update(no_key=True).values_list("pk", flat=True)
        )
        items = []
        vectors: dict[int, np.ndarray] = {}
        for p in pending:
            detection = rows[p.outcome][p.pick.index]
            vectors[detection.pk] = p.vector
            items.append(
                ReviewItem(
                    detection_id=detection.pk,
                    camera_id=detection.camera_id,
                    event=event_of.get(detection.pk),
                    rule_id=p.pick.rule_id if p.pick.rule_id in live_rules else None,
                    class_name=detection.class_name,
                    confidence=detection.confidence,
                    captured_at=detection.captured_at,
                    reason=p.pick.reason,
                    in_random_sample=p.pick.in_random_sample,
                    random_key=random.random(),
                    threshold=p.pick.threshold,
                    uncertainty=p.pick.uncertainty,
                    frame=p.frame,
                    crop=p.crop,
                    embedding=p.vector,
                    embedding_model=self.model[0],
                    embedding_version=self.model[1],
                    label=detection.class_name,
                    box=[detection.x1, detection.y1, detection.x2, detection.y2],
                )
            )
        ReviewItem.objects.bulk_create(items)
        return self._suppress_repeats(
            [(e, vectors[e.detection.pk]) for e in events if e.detection is not None and e.detection.pk in vectors]
        )

    def _suppress_repeats(self, checks: list[tuple[Event, np.ndarray]]) -> set[int]:
        if not checks:
            return set()
        thresholds = dict(
            Camera.objects.filter(pk__in={e.camera_id for e, _ in checks}).values_list("pk", "fp_similarity_threshold")
        )
        suppressions = []
        for event, vector in checks:
            match = match_false_positive(
                event.camera_id, event.class_name, vector.tolist(),
                threshold=thresholds.get(event.camera_id, 0.0), model=self.model,
            )
            if match is not None:
                suppressions.append(Suppression(event=event, false_positive_id=match.correction_id,
                                                distance=match.distance))
                log.info("event suppressed as a repeat of a false positive", extra={
                    "event_id": event.pk, "camera_id": event.camera_id, "false_positive": match.correction_id,
                    "distance": round(match.distance, 4),
                })
        Suppression.objects.bulk_create(suppressions)
        self.events_suppressed += len(suppressions)
        return {s.event.pk for s in suppressions}
