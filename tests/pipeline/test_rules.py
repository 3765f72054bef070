from __future__ import annotations

import numpy as np

from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.rules import ObjectSeenRule, RuleHit, RuleState, evaluate

PERSON, CAR = 0, 2
RULE = ObjectSeenRule(rule_id=7, name="person seen", class_ids=frozenset({PERSON}), min_confidence=0.5, cooldown_s=60)


def _frame(*rows: tuple[int, int, float]) -> Detections:
    """Detections from (tracker_id, class_id, confidence) rows."""
    return Detections(
        xyxy=np.tile([0, 0, 10, 10], (len(rows), 1)),
        confidence=np.array([r[2] for r in rows]),
        class_id=np.array([r[1] for r in rows]),
        tracker_id=np.array([r[0] for r in rows]),
    )


def test_it_fires_once_per_track() -> None:
    state = RuleState()
    hits, state = evaluate(RULE, _frame((1, PERSON, 0.9), (2, PERSON, 0.8)), 0.0, state)
    assert hits == [
        RuleHit(rule_id=7, tracker_id=1, index=0, confidence=hits[0].confidence, class_id=PERSON),
        RuleHit(rule_id=7, tracker_id=2, index=1, confidence=hits[1].confidence, class_id=PERSON),
    ]
    for t in range(1, 30):
        again, state = evaluate(RULE, _frame((1, PERSON, 0.9), (2, PERSON, 0.8)), float(t), state)
        assert again == []
    new, state = evaluate(RULE, _frame((1, PERSON, 0.9), (3, PERSON, 0.7)), 30.0, state)
    assert [h.tracker_id for h in new] == [3]


def test_it_fires_again_after_the_cooldown() -> None:
    _, state = evaluate(RULE, _frame((1, PERSON, 0.9)), 0.0, RuleState())
    assert evaluate(RULE, _frame((1, PERSON, 0.9)), 59.9, state)[0] == []
    hits, _ = evaluate(RULE, _frame((1, PERSON, 0.9)), 60.0, state)
    assert [h.tracker_id for h in hits] == [1]


def test_it_waits_for_the_class_and_the_confidence() -> None:
    hits, state = evaluate(RULE, _frame((1, PERSON, 0.4), (2, CAR, 0.99)), 0.0, RuleState())
    assert hits == []
    hits, _ = evaluate(RULE, _frame((1, PERSON, 0.5)), 1.0, state)
    assert [(h.tracker_id, h.index) for h in hits] == [(1, 0)]


def test_it_ignores_untracked_detections() -> None:
    hits, state = evaluate(RULE, _frame((UNTRACKED, PERSON, 0.99), (UNTRACKED, PERSON, 0.9)), 0.0, RuleState())
    assert hits == [] and not state.last_fired


def test_it_does_not_touch_the_given_state() -> None:
    before = RuleState()
    _, after = evaluate(RULE, _frame((1, PERSON, 0.9)), 0.0, before)
    assert dict(before.last_fired) == {} and dict(after.last_fired) == {1: 0.0}


def test_it_forgets_tracks_gone_for_a_while_and_stays_bounded() -> None:
    state = RuleState(forget_after_s=10, max_tracks=3)
    _, state = evaluate(RULE, _frame((1, PERSON, 0.9)), 0.0, state)
    _, state = evaluate(RULE, _frame((2, PERSON, 0.9)), 5.0, state)
    _, state = evaluate(RULE, _frame((2, PERSON, 0.9)), 12.0, state)
    assert set(state.last_fired) == {2}  # 1 unseen for 12 s > 10 s
    for t, track in enumerate(range(10, 20)):
        _, state = evaluate(RULE, _frame((track, PERSON, 0.9)), 13.0 + t / 10, state)
    assert len(state.last_fired) == 3 and set(state.last_fired) == {17, 18, 19}
