"""Motion gating on a mostly still scene: detector runs saved, events kept.

None of the shared clips is mostly still (people are in view most of the time), so the
scene is made from real footage: the indoor clip where people cross a room one at a
time, with each of its own quiet moments (the empty room, still for 2 s or more)
held for 90 s more by playing that very stretch forward and back. The room stays empty
and still there, with its real sensor noise, as a quiet corridor camera is most of
the day. Every frame at the detect rate goes through the stream runtime's own pieces
(MotionGate + needs_detection, detector, tracker, the "person seen" rule), once with
gating and once without, and the events are compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bench.common import MEDIA, Section
from workers.pipeline.detector import Detector
from workers.pipeline.motion import MotionGate, needs_detection
from workers.pipeline.rules import RuleSpec, RuleState, evaluate
from workers.pipeline.tracking import ObjectTracker
from workers.stream_host import STILL_RECHECK_S, TRACK_BUFFER_S

VIDEO = MEDIA / "one-by-one-person-detection.mp4"
DETECT_FPS = 5.0
QUIET_MIN_S = 2.0
QUIET_HOLD_S = 90.0


def _sampled_frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    step = (capture.get(cv2.CAP_PROP_FPS) or 10.0) / DETECT_FPS
    frames, index, next_pick = [], 0, 0.0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index >= next_pick:
            next_pick += step
            frames.append(frame)
        index += 1
    capture.release()
    return frames


def quiet_scene(frames: list[np.ndarray]) -> tuple[list[int], float]:
    """Frame order of the mostly still scene, and the share of it that is held quiet."""
    gate = MotionGate()
    still = [not gate.update(frame, i / DETECT_FPS) for i, frame in enumerate(frames)]
    order: list[int] = []
    held = 0
    run_start: int | None = None
    min_run, hold = int(QUIET_MIN_S * DETECT_FPS), int(QUIET_HOLD_S * DETECT_FPS)
    for i, is_still in enumerate(still + [False]):
        if is_still and run_start is None:
            run_start = i
        if not is_still and run_start is not None:
            run = list(range(run_start, i))
            if len(run) >= min_run:
                cycle = run + run[-2:0:-1]  # forward and back: no jump in the picture
                extra = [cycle[k % len(cycle)] for k in range(hold)]
                order.extend(extra)
                held += len(extra)
            run_start = None
        if i < len(frames):
            order.append(i)
    return order, held / len(order)


@dataclass
class Replay:
    sampled: int
    runs: int
    events: list[float]  # times of the rule's hits, seconds into the replay


def replay(detector: Detector, frames: list[np.ndarray], order: list[int], *, gating: bool) -> Replay:
    gate, tracker = MotionGate(), ObjectTracker(frame_rate=DETECT_FPS, lost_track_buffer_s=TRACK_BUFFER_S)
    rule = RuleSpec(rule_id=1, name="Person seen", trigger="seen", class_ids=frozenset({0}), min_confidence=0.5)
    state = RuleState()
    runs, event_times = 0, []
    has_tracks, last_detected = False, -1e9
    for position, index in enumerate(order):
        now = position / DETECT_FPS
        frame = frames[index]
        if gating and not needs_detection(
            gate.update(frame, now), has_tracks=has_tracks, since_detection_s=now - last_detected,
            recheck_every_s=STILL_RECHECK_S,
        ):
            continue
        runs += 1
        last_detected = now
        tracked = tracker.update(detector.detect([frame])[0], timestamp=now)
        has_tracks = len(tracked) > 0
        height, width = frame.shape[:2]
        hits, state = evaluate(rule, tracked, (width, height), now, state)
        event_times += [now] * len(hits)
    return Replay(sampled=len(order), runs=runs, events=event_times)


def _matched(a: list[float], b: list[float], tolerance_s: float) -> int:
    remaining = list(b)
    hits = 0
    for t in a:
        near = [x for x in remaining if abs(x - t) <= tolerance_s]
        if near:
            remaining.remove(near[0])
            hits += 1
    return hits


def run(detector: Detector) -> Section:
    section = Section("Motion gating on a mostly still scene")
    frames = _sampled_frames()
    order, quiet_share = quiet_scene(frames)
    off = replay(detector, frames, order, gating=False)
    on = replay(detector, frames, order, gating=True)
    events_off, events_on = off.events, on.events
    assert isinstance(events_off, list) and isinstance(events_on, list)
    matched = _matched(events_off, events_on, tolerance_s=2.0)
    section.add(f"Scene: {VIDEO.name} (people cross a room one at a time) with each quiet moment held "
                f"{QUIET_HOLD_S:.0f} s longer from its own footage: {len(order) / DETECT_FPS / 60:.1f} min, "
                f"{quiet_share:.0%} of it held quiet. Every frame at {DETECT_FPS:.0f} fps through "
                "gate → detector → tracker → \"person seen\" rule.")
    section.add()
    section.add("| gating | frames looked at | detector runs | events |")
    section.add("|---|---|---|---|")
    section.add(f"| off | {off.sampled} | {off.runs} | {len(events_off)} |")
    section.add(f"| on | {on.sampled} | {on.runs} | {len(events_on)} |")
    section.add()
    section.add(f"Detector runs saved: **{off.runs / max(on.runs, 1):.1f}× fewer** with gating. "
                f"Events: {matched} of {len(events_off)} events without gating have one within 2 s with gating; "
                f"{len(events_on) - matched} extra with gating.")
    section.add(f"Event times, gating off: {', '.join(f'{t:.1f}' for t in events_off)} s")
    section.add(f"Event times, gating on: {', '.join(f'{t:.1f}' for t in events_on)} s")
    return section
