"""Rules: pure functions from (rule, detections, time, state) to hits and the next state.

State is explicit and immutable from the caller's point of view, so the same inputs
always give the same hits, a worker can persist or drop it freely, and tests need
no clock or mocks.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from workers.pipeline.detections import UNTRACKED, Detections


@dataclass(frozen=True)
class ObjectSeenRule:
    """Fire when a tracked object of one of ``class_ids`` is seen at ``min_confidence`` or more.

    Once per track; the same track fires again only after ``cooldown_s``.
    """

    rule_id: int
    name: str
    class_ids: frozenset[int]
    min_confidence: float
    cooldown_s: float


@dataclass(frozen=True)
class RuleHit:
    rule_id: int
    tracker_id: int
    index: int
    """Row of the hit in the evaluated :class:`Detections`."""
    confidence: float
    class_id: int


@dataclass(frozen=True)
class RuleState:
    """What a rule remembers between frames, for the tracks it has fired on.

    A track is forgotten once it has not been seen for ``forget_after_s``: the
    tracker never reuses an id, so after the tracker's lost-track buffer the track
    cannot come back and its entry is only memory. Keep ``forget_after_s`` above
    that buffer. At most ``max_tracks`` entries are kept (the least recently seen
    go first), whatever the scene does.
    """

    last_fired: Mapping[int, float] = field(default_factory=dict)
    last_seen: Mapping[int, float] = field(default_factory=dict)
    forget_after_s: float = 300.0
    max_tracks: int = 10_000


def evaluate(
    rule: ObjectSeenRule, detections: Detections, now: float, state: RuleState
) -> tuple[list[RuleHit], RuleState]:
    """Hits of ``rule`` on one frame's tracked ``detections`` at time ``now`` (seconds).

    Untracked detections (``tracker_id`` -1) never fire: without an id the rule could
    not tell a new object from one it already reported.
    """
    last_fired = dict(state.last_fired)
    last_seen = dict(state.last_seen)
    present = detections.tracker_id[detections.tracker_id != UNTRACKED]
    for tracker_id in present.tolist():
        if tracker_id in last_fired:
            last_seen[tracker_id] = now

    matching = (
        (detections.tracker_id != UNTRACKED)
        & np.isin(detections.class_id, list(rule.class_ids))
        & (detections.confidence >= rule.min_confidence)
    )
    hits: list[RuleHit] = []
    # Best detection first, so a track that somehow appears twice fires on its best box.
    for index in sorted(np.flatnonzero(matching).tolist(), key=lambda i: -detections.confidence[i]):
        tracker_id = int(detections.tracker_id[index])
        fired = last_fired.get(tracker_id)
        if fired is not None and now - fired < rule.cooldown_s:
            continue
        last_fired[tracker_id] = last_seen[tracker_id] = now
        hits.append(
            RuleHit(
                rule_id=rule.rule_id,
                tracker_id=tracker_id,
                index=index,
                confidence=float(detections.confidence[index]),
                class_id=int(detections.class_id[index]),
            )
        )

    stale = {t for t, seen in last_seen.items() if now - seen > state.forget_after_s}
    overflow = len(last_seen) - len(stale) - state.max_tracks
    if overflow > 0:
        stale |= set(sorted(last_seen.keys() - stale, key=last_seen.__getitem__)[:overflow])
    for tracker_id in stale:
        del last_fired[tracker_id], last_seen[tracker_id]
    return hits, RuleState(last_fired, last_seen, state.forget_after_s, state.max_tracks)
