"""False-positive memory on real footage: after a reviewer marks one false positive, how many
later repeats are suppressed, and how many true alerts are lost.

car-detection.mp4 is a parking lot seen from above. YOLOX-Nano calls most of its cars
"cell phone" (a red one "bus" or "suitcase"; "car" only a few times), and the road
markings "kite". A camera has a rule that fires on every tracked detection of any class
with cooldown 0, so each frame of a track is an event and each later frame of a car is a
repeat. Every frame goes through the stream worker's own pieces: detector, tracker,
rules, and the real ``Sink`` with its ``ReviewWriter`` (sampling, crops, embeddings in one
call per batch, the pgvector false-positive query per event, suppressions, publishing).
As soon as the first "cell phone" event of a track is written, a reviewer rejects it
(``review.services.correct``); every later event is checked against it. This is done once
for each track that YOLOX calls "cell phone", each being the marked one in turn.

The camera's threshold is the whole cosine range (2.0) during the run, so every later
"cell phone" event records its distance to the false positive in its suppression; a
camera set to T suppresses exactly those with distance <= T (the sink decides on that
alone), which gives the counts for each T from one run. True alerts are the "car"
events: the memory only matches the rejected detection's own class, so it cannot touch
them; what it would have cost to ignore the class is shown too (distances of every later
event's crop to the false positive).
"""
from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from pgvector.django import CosineDistance

from bench.common import MEDIA, Section, percentile
from cameras.models import Camera, Rule
from cameras.services import add_camera
from events.models import Event
from review import services
from review.memory import match_false_positive
from review.models import ReviewItem
from vision.redis_client import get_redis
from workers.camera_config import load_camera_configs
from workers.pipeline.catalogue import COCO_CLASSES
from workers.pipeline.detections import Detections
from workers.pipeline.detector import Detector
from workers.pipeline.drawing import crop
from workers.pipeline.embedder import Embedder
from workers.pipeline.review_sampling import ReviewSampler, SamplingPolicy
from workers.pipeline.rules import RuleState, evaluate, filter_objects
from workers.pipeline.tracking import ObjectTracker
from workers.review_sink import ReviewWriter
from workers.sinks import FrameOutcome, Sink
from workers.stream_host import TRACK_BUFFER_S

VIDEO = MEDIA / "car-detection.mp4"
FP_CLASS = "cell phone"
TRUE_CLASS = "car"
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3)
CAMERA_NAME = "fp-memory bench"


@dataclass
class Pass:
    marked: tuple[int, int, float]
    """(frame, track, confidence) of the rejected event."""
    later_fp: list[tuple[int, float | None]] = field(default_factory=list)
    """(track, distance recorded by the sink, None if not suppressed) per later "cell phone" event."""
    later_other: list[tuple[str, float]] = field(default_factory=list)
    """(class, distance of its crop to the false positive) per later event of another class."""
    true_lost: int = 0
    """Later "car" events suppressed."""
    write_ms: list[float] = field(default_factory=list)
    """``Sink.write`` time of each frame with events."""


def _frames() -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(VIDEO))
    fps = capture.get(cv2.CAP_PROP_FPS) or 12.5
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


def _fresh_camera(threshold: float) -> Camera:
    Camera.objects.filter(name=CAMERA_NAME).delete()
    camera = add_camera(name=CAMERA_NAME, stream_url=str(VIDEO), fp_similarity_threshold=threshold)
    camera.rules.all().delete()
    Rule.objects.create(camera=camera, name="Anything seen", trigger="seen", object_classes=list(COCO_CLASSES),
                        min_confidence=0.3, cooldown_seconds=0.0, stationary_guard=False)
    return camera


def _run(detector: Detector, embedder: Embedder | None, frames: list[np.ndarray], found: list[Detections],
         fps: float, mark_track: int | None = None) -> tuple[Pass | None, list[tuple[int, int, str, float]]]:
    """One pass of the clip through tracker, rules and the real sink; the rejected event's
    track is ``mark_track`` (None: nothing is marked). Returns the pass and every event as
    (frame, track, class, confidence)."""
    camera = _fresh_camera(threshold=2.0)
    config = load_camera_configs(detector.spec.name, detector.spec.class_names)[camera.pk]
    review = None if embedder is None else ReviewWriter(
        embedder=embedder, sampler=ReviewSampler(SamplingPolicy(random_fraction=0.0), seed=0),
        media_root=settings.MEDIA_ROOT,
    )
    sink = Sink(spec=detector.spec, media_root=settings.MEDIA_ROOT, redis_client=get_redis(), review=review)
    reviewer, _ = get_user_model().objects.get_or_create(username="bench-reviewer")
    tracker = ObjectTracker(frame_rate=fps, lost_track_buffer_s=TRACK_BUFFER_S)
    states: dict[int, RuleState] = {}
    start = time.time()
    result: Pass | None = None
    marked_at: float | None = None
    fp_item: ReviewItem | None = None
    seen: list[tuple[int, int, str, float]] = []
    write_ms = []
    for index, (image, detections) in enumerate(zip(frames, found, strict=True)):
        height, width = image.shape[:2]
        tracked = tracker.update(filter_objects(detections, (width, height), config.object_filters, ()))
        hits = []
        for rule in config.rules:
            rule_hits, states[rule.rule_id] = evaluate(rule, tracked, (width, height), index / fps,
                                                       states.get(rule.rule_id) or RuleState())
            hits.extend(rule_hits)
        outcome = FrameOutcome(config, image, start + index / fps, tracked, hits, publish_live=False)
        began = time.perf_counter()
        events = sink.write([outcome])
        if events:
            write_ms.append((time.perf_counter() - began) * 1000)
        for event in events:
            seen.append((index, event.track_id or -1, event.class_name, event.confidence))
            if fp_item is None and event.track_id == mark_track and event.class_name == FP_CLASS:
                fp_item = ReviewItem.objects.get(detection_id=event.detection_id)
                services.correct(fp_item.pk, reviewer, "reject", note="a car, not a phone")
                marked_at = event.captured_at.timestamp()
                result = Pass((index, event.track_id or -1, event.confidence))
    if result is not None and fp_item is not None and marked_at is not None:
        result.write_ms = write_ms
        later = Event.objects.filter(camera=camera, captured_at__gt=fp_item.captured_at).select_related("suppression")
        for event in later.filter(class_name=FP_CLASS):
            suppression = getattr(event, "suppression", None)
            result.later_fp.append((event.track_id or -1, suppression.distance if suppression else None))
        result.true_lost = later.filter(class_name=TRUE_CLASS, suppression__isnull=False).count()
        others = ReviewItem.objects.filter(event__in=later.exclude(class_name=FP_CLASS)).annotate(
            distance=CosineDistance("embedding", fp_item.embedding))
        result.later_other = [(item.class_name, float(item.distance)) for item in others]  # type: ignore[attr-defined]
    elif write_ms:
        result = Pass((-1, -1, 0.0), write_ms=write_ms)
    return result, seen


def _costs(embedder: Embedder, frames: list[np.ndarray], found: list[Detections], section: Section) -> None:
    crops = [crop(image, box) for image, d in zip(frames, found, strict=True) for box in d.xyxy][:64]
    section.add("| crops in the sink batch | embed (median of 20) | per crop |")
    section.add("|---|---|---|")
    for size in (1, 4, 8, 16):
        times = []
        for _ in range(20):
            began = time.perf_counter()
            embedder.embed(crops[:size])
            times.append((time.perf_counter() - began) * 1000)
        median = statistics.median(times)
        section.add(f"| {size} | {median:.1f} ms | {median / size:.1f} ms |")
    section.add()
    queries = []
    camera = Camera.objects.get(name=CAMERA_NAME)
    vectors = embedder.embed(crops[:32])
    for vector in vectors:
        began = time.perf_counter()
        match_false_positive(camera.pk, FP_CLASS, vector.tolist(), threshold=0.1,
                             model=(embedder.spec.name, embedder.spec.version))
        queries.append((time.perf_counter() - began) * 1000)
    section.add(f"False-positive query per event (count + exact nearest on the camera's active rejects): "
                f"median {statistics.median(queries):.1f} ms, p95 {percentile(queries, 95):.1f} ms.")


def run(detector: Detector) -> Section:
    from workers.runtime import shared_embedder

    section = Section("False-positive memory: repeats suppressed, true alerts lost")
    embedder = shared_embedder()
    frames, fps = _frames()
    found = [d for start in range(0, len(frames), 8) for d in detector.detect(frames[start : start + 8])]
    baseline, events = _run(detector, None, frames, found, fps)
    tracks = [track for track, _ in Counter((t, c) for _, t, c, _ in events if c == FP_CLASS and t >= 0)]
    by_class = Counter(c for _, _, c, _ in events)
    passes = [p for track in tracks if (p := _run(detector, embedder, frames, found, fps, track)[0]) is not None]

    section.add(f"Clip: {VIDEO.name} ({len(frames)} frames, {fps:g} fps, parking lot from above), every frame "
                f"through detector → tracker → a rule on all classes with cooldown 0 → the real Sink with review "
                f"sampling and the false-positive memory. Events per class: "
                + ", ".join(f"{c} {n}" for c, n in by_class.most_common()) + ".")
    section.add("Each row: the first \"cell phone\" event of one track is rejected the moment it is written; "
                "the columns count the later \"cell phone\" events (all of them cars, so all false) that a camera "
                "threshold T suppresses. True alerts lost: later \"car\" events suppressed (the memory matches "
                "the rejected detection's class only).")
    section.add()
    section.add("| rejected event (frame, track, conf) | later \"cell phone\" | "
                + " | ".join(f"suppressed, T={t}" for t in THRESHOLDS) + " | of which same track, T=0.1 | "
                "true alerts lost (any T) |")
    section.add("|---|---|" + "---|" * len(THRESHOLDS) + "---|---|")
    for p in passes:
        frame, track, conf = p.marked
        counts = [sum(1 for _, d in p.later_fp if d is not None and d <= t) for t in THRESHOLDS]
        same = sum(1 for tr, d in p.later_fp if tr == track and d is not None and d <= 0.1)
        section.add(f"| {frame}, {track}, {conf:.2f} | {len(p.later_fp)} | "
                    + " | ".join(f"{n} ({n / max(len(p.later_fp), 1):.0%})" for n in counts)
                    + f" | {same} of {sum(1 for tr, _ in p.later_fp if tr == track)} | {p.true_lost} |")
    section.add()
    section.add("What ignoring the class would cost: later events of other classes whose crop lies within T "
                "of the rejected one (summed over the rows above).")
    section.add()
    others = Counter(c for p in passes for c, _ in p.later_other)
    section.add("| class | later events | " + " | ".join(f"within T={t}" for t in THRESHOLDS) + " |")
    section.add("|---|---|" + "---|" * len(THRESHOLDS))
    for name, total in others.most_common():
        within = [sum(1 for p in passes for c, d in p.later_other if c == name and d <= t) for t in THRESHOLDS]
        section.add(f"| {name}{' (true)' if name == TRUE_CLASS else ''} | {total} | "
                    + " | ".join(str(n) for n in within) + " |")
    section.add()
    with_review = [ms for p in passes for ms in p.write_ms]
    without = baseline.write_ms if baseline is not None else []
    section.add(f"Sink cost of a frame with events (one frame per batch here, 1–3 events, each embedded and "
                f"checked): `Sink.write` median {statistics.median(without):.1f} ms without review, "
                f"{statistics.median(with_review):.1f} ms with it (p95 {percentile(without, 95):.1f} / "
                f"{percentile(with_review, 95):.1f} ms); that includes the clean frame and crop JPEGs. "
                f"Embedder on {', '.join(embedder.providers)}, one intra-op thread (as the worker builds it on a "
                "CPU):")
    section.add()
    _costs(embedder, frames, found, section)
    Camera.objects.filter(name=CAMERA_NAME).delete()
    return section
