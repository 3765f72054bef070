"""“What would this rule have fired on?”: a draft rule replayed over stored detections.

The replay runs the very rule engine the stream workers run (workers.pipeline.rules)
over the camera's stored, already tracked detections, frame by frame in capture order.
Only frames with detections are stored; a gap longer than ``GAP_STEP_S`` means the
detector saw nothing there (the motion gate rechecks tracked objects every second), so
the gap is replayed as empty frames every ``GAP_STEP_S`` and "leaves" and "zone empty"
rules see time pass as they would live.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.utils import timezone

from cameras.models import Camera, Rule
from events.models import Detection
from workers.camera_config import pipeline_rule
from workers.pipeline.catalogue import CATALOGUE
from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.rules import RuleState, evaluate

GAP_STEP_S = 1.0
MAX_DETECTIONS = 200_000
MAX_EVENTS = 500


@dataclass
class PreviewResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    frames_evaluated: int = 0
    detections: int = 0
    truncated: bool = False


@dataclass
class _Frame:
    at: datetime
    size: tuple[int, int]
    rows: list[tuple[Any, ...]]  # (id, track_id, class_id, confidence, x1, y1, x2, y2, class_name)


def _frames(camera: Camera, since: datetime, limit: int) -> Iterator[_Frame]:
    rows = (
        Detection.objects.filter(camera=camera, captured_at__gte=since)
        .order_by("captured_at", "id")
        .values_list(
            "captured_at", "frame_width", "frame_height",
            "id", "track_id", "class_id", "confidence", "x1", "y1", "x2", "y2", "class_name",
        )[:limit]
    )
    current: _Frame | None = None
    for captured_at, width, height, *detection in rows.iterator(chunk_size=5000):
        if current is None or captured_at != current.at:
            if current is not None:
                yield current
            current = _Frame(captured_at, (width, height), [])
        current.rows.append(tuple(detection))
    if current is not None:
        yield current


def _detections(frame: _Frame) -> Detections:
    if not frame.rows:
        return Detections.empty()
    columns = list(zip(*frame.rows, strict=True))
    return Detections(
        xyxy=np.column_stack(columns[4:8]),
        confidence=np.asarray(columns[3]),
        class_id=np.asarray(columns[2]),
        tracker_id=np.asarray([UNTRACKED if t is None else t for t in columns[1]]),
    )


def _with_gaps(frames: Iterator[_Frame]) -> Iterator[_Frame]:
    """The stored frames, with empty frames every GAP_STEP_S through longer gaps."""
    previous: _Frame | None = None
    for frame in frames:
        if previous is not None:
            at = previous.at + timedelta(seconds=GAP_STEP_S)
            while at + timedelta(seconds=GAP_STEP_S / 2) < frame.at:
                yield _Frame(at, previous.size, [])
                at += timedelta(seconds=GAP_STEP_S)
        yield frame
        previous = frame


def preview_rule(rule: Rule, hours: float, *, now: datetime | None = None) -> PreviewResult:
    """Events ``rule`` (saved or not) would have created on its camera's last ``hours`` of detections."""
    camera = rule.camera
    spec = CATALOGUE[camera.model_name]
    pipeline = pipeline_rule(rule, spec.class_names, camera.timezone)
    since = (now or timezone.now()) - timedelta(hours=hours)
    result = PreviewResult()
    state = RuleState()
    for frame in _with_gaps(_frames(camera, since, MAX_DETECTIONS + 1)):
        result.detections += len(frame.rows)
        if result.detections > MAX_DETECTIONS:
            result.truncated = True
            break
        result.frames_evaluated += 1
        hits, state = evaluate(pipeline, _detections(frame), frame.size, frame.at.timestamp(), state)
        for hit in hits:
            row = frame.rows[hit.index] if hit.index >= 0 else None
            result.events.append(
                {
                    "captured_at": frame.at.isoformat(),
                    "track_id": hit.tracker_id if hit.tracker_id >= 0 else None,
                    "class_name": row[8] if row is not None else "",
                    "confidence": round(hit.confidence, 3),
                    "evidence": hit.evidence,
                    "detection_id": row[0] if row is not None else None,
                }
            )
        if len(result.events) >= MAX_EVENTS:
            result.truncated = True
            break
    return result
