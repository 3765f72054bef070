"""Which detections go to human review, and how unsure the model was about each (pure).

Every detection that fired a rule is reviewed: operators saw it, so its verdict is the
alerts' precision. Besides those, two samples:

- ``near_threshold``: confidence within ``band`` of its class's alert threshold (the lowest
  ``min_confidence`` of the camera's rules for that class), on either side: just above
  are the alerts most likely to be wrong, just below the misses most likely to be real.
  At most one per camera every ``near_every_s``, and one per track, so an object that
  hovers at the threshold does not fill the queue with copies of itself.
- random: every detection, independently, with probability ``random_fraction``,
  whatever else it is. Only these form a uniform sample of what the detector stores, so
  only their verdicts give unbiased precision figures; the flag is therefore kept apart
  from the reason (a sampled detection may also be an event).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.rules import RuleHit, RuleSpec

Reason = Literal["event", "near_threshold", "random"]

TRACK_MEMORY = 1024
"""Track ids per camera remembered as already sampled near the threshold."""


@dataclass(frozen=True)
class SamplingPolicy:
    band: float = 0.1
    """Confidence distance to the alert threshold that counts as near it."""
    near_every_s: float = 10.0
    """At most one near-threshold sample per camera in this time."""
    random_fraction: float = 0.002
    """Probability that any one detection joins the uniform random sample."""


@dataclass(frozen=True)
class Pick:
    index: int
    """Row of the detection in the frame's :class:`Detections`."""
    reason: Reason
    in_random_sample: bool
    threshold: float | None
    """The alert threshold of the detection's class; ``None`` when no rule looks at that class."""
    rule_id: int | None
    """The rule that fired (events) or whose threshold is meant."""
    uncertainty: float
    """1 at the threshold, falling linearly to 0 at ``band`` from it; 0 without a threshold."""


def alert_thresholds(rules: Iterable[RuleSpec]) -> dict[int, tuple[float, int]]:
    """Class id → (the lowest ``min_confidence`` of the rules about that class, that rule's id)."""
    found: dict[int, tuple[float, int]] = {}
    for rule in rules:
        for class_id in rule.class_ids:
            if class_id not in found or rule.min_confidence < found[class_id][0]:
                found[class_id] = (rule.min_confidence, rule.rule_id)
    return found


def uncertainty(confidence: float, threshold: float | None, band: float) -> float:
    if threshold is None or band <= 0:
        return 0.0
    return max(0.0, 1.0 - abs(confidence - threshold) / band)


class ReviewSampler:
    """Picks the detections of each frame to keep for review.

    Holds the per-camera rate limits, so one instance serves all cameras of a worker
    from one thread (the sink writer).
    """

    def __init__(self, policy: SamplingPolicy, *, seed: int | None = None) -> None:
        self.policy = policy
        self._rng = np.random.default_rng(seed)
        self._next_near: dict[int, float] = {}
        self._sampled_tracks: dict[int, OrderedDict[int, None]] = {}

    def pick(
        self,
        camera_id: int,
        rules: Sequence[RuleSpec],
        detections: Detections,
        hits: Sequence[RuleHit],
        now: float,
    ) -> list[Pick]:
        """The detections of one frame to review, each once; ``now`` is the frame's time in seconds."""
        if len(detections) == 0:
            return []
        band = self.policy.band
        thresholds = alert_thresholds(rules)
        by_rule = {rule.rule_id: rule for rule in rules}
        in_sample = self._rng.random(len(detections)) < self.policy.random_fraction
        picks: dict[int, Pick] = {}

        def make(index: int, reason: Reason, threshold: float | None, rule_id: int | None) -> Pick:
            confidence = float(detections.confidence[index])
            return Pick(index, reason, bool(in_sample[index]), threshold, rule_id,
                        uncertainty(confidence, threshold, band))

        for hit in hits:
            if hit.index >= 0 and hit.index not in picks:
                rule = by_rule.get(hit.rule_id)
                picks[hit.index] = make(hit.index, "event", rule.min_confidence if rule else None, hit.rule_id)
        for index in np.flatnonzero(in_sample):
            if int(index) not in picks:
                threshold, rule_id = thresholds.get(int(detections.class_id[index]), (None, None))
                picks[int(index)] = make(int(index), "random", threshold, rule_id)
        near = self._near_threshold(camera_id, detections, thresholds, set(picks), now)
        if near is not None:
            threshold, rule_id = thresholds[int(detections.class_id[near])]
            picks[near] = make(near, "near_threshold", threshold, rule_id)
        return sorted(picks.values(), key=lambda p: p.index)

    def _near_threshold(
        self,
        camera_id: int,
        detections: Detections,
        thresholds: dict[int, tuple[float, int]],
        taken: set[int],
        now: float,
    ) -> int | None:
        """The detection nearest its threshold, if this camera may take one now; remembers its track."""
        if now < self._next_near.get(camera_id, float("-inf")):
            return None
        tracks = self._sampled_tracks.setdefault(camera_id, OrderedDict())
        best, best_gap = None, self.policy.band
        for index in range(len(detections)):
            found = thresholds.get(int(detections.class_id[index]))
            track = int(detections.tracker_id[index])
            if found is None or index in taken or (track != UNTRACKED and track in tracks):
                continue
            gap = abs(float(detections.confidence[index]) - found[0])
            if gap <= best_gap:
                best, best_gap = index, gap
        if best is None:
            return None
        self._next_near[camera_id] = now + self.policy.near_every_s
        track = int(detections.tracker_id[best])
        if track != UNTRACKED:
            tracks[track] = None
            if len(tracks) > TRACK_MEMORY:
                tracks.popitem(last=False)
        return best
