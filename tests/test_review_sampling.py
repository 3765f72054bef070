"""Which detections the worker keeps for review (pure: no database, no model)."""
import numpy as np
import pytest

from workers.pipeline.detections import Detections
from workers.pipeline.review_sampling import ReviewSampler, SamplingPolicy, alert_thresholds, uncertainty
from workers.pipeline.rules import RuleHit, RuleSpec

PERSON, CAR, PHONE = 0, 2, 67


def rule(rule_id: int, classes: set[int], min_confidence: float) -> RuleSpec:
    return RuleSpec(rule_id=rule_id, name=f"r{rule_id}", trigger="seen", class_ids=frozenset(classes),
                    min_confidence=min_confidence)


def detections(rows: list[tuple[int, float, int]]) -> Detections:
    """(class id, confidence, track id) per row; boxes do not matter here."""
    return Detections(
        xyxy=np.tile([10.0, 10.0, 50.0, 80.0], (len(rows), 1)),
        confidence=[r[1] for r in rows],
        class_id=[r[0] for r in rows],
        tracker_id=[r[2] for r in rows],
    )


def hit(rule_id: int, index: int) -> RuleHit:
    return RuleHit(rule_id=rule_id, tracker_id=1, index=index, confidence=0.9, class_id=PERSON, evidence={})


def test_it_takes_the_lowest_threshold_of_the_rules_about_a_class():
    thresholds = alert_thresholds([rule(1, {PERSON}, 0.6), rule(2, {PERSON, CAR}, 0.4), rule(3, set(), 0.1)])
    assert thresholds == {PERSON: (0.4, 2), CAR: (0.4, 2)}


@pytest.mark.parametrize(("confidence", "expected"), [(0.5, 1.0), (0.55, 0.5), (0.45, 0.5), (0.7, 0.0), (0.2, 0.0)])
def test_it_scores_uncertainty_by_distance_to_the_threshold(confidence, expected):
    assert uncertainty(confidence, 0.5, 0.1) == pytest.approx(expected)
    assert uncertainty(confidence, None, 0.1) == 0.0


def test_it_keeps_every_event_detection_once_with_its_rule():
    sampler = ReviewSampler(SamplingPolicy(random_fraction=0.0, near_every_s=1e9), seed=1)
    rules = [rule(7, {PERSON}, 0.5), rule(8, {PERSON}, 0.3)]
    picks = sampler.pick(1, rules, detections([(PERSON, 0.9, 1), (PERSON, 0.95, 2)]), [hit(7, 1), hit(8, 1)], 0.0)
    assert [(p.index, p.reason, p.rule_id, p.threshold) for p in picks] == [(1, "event", 7, 0.5)]
    assert picks[0].uncertainty == 0.0  # 0.95 is far above 0.5


def test_it_samples_near_the_threshold_at_most_once_per_interval_and_track():
    sampler = ReviewSampler(SamplingPolicy(band=0.1, near_every_s=10.0, random_fraction=0.0))
    rules = [rule(3, {PERSON}, 0.5)]
    frame = detections([(PERSON, 0.9, 1), (PERSON, 0.46, 2), (PERSON, 0.52, 3), (CAR, 0.5, 4)])
    first = sampler.pick(1, rules, frame, [], 100.0)
    assert [(p.index, p.reason, p.rule_id) for p in first] == [(2, "near_threshold", 3)]  # nearest: 0.52
    assert first[0].uncertainty == pytest.approx(0.8)
    assert sampler.pick(1, rules, frame, [], 105.0) == []  # too soon for this camera
    assert [p.index for p in sampler.pick(2, rules, frame, [], 105.0)] == [2]  # another camera has its own
    later = sampler.pick(1, rules, frame, [], 111.0)
    assert [p.index for p in later] == [1]  # track 3 was sampled already: track 2 (0.46) now


def test_it_flags_a_uniform_random_sample_apart_from_the_reason():
    sampler = ReviewSampler(SamplingPolicy(random_fraction=0.25, near_every_s=1e9), seed=7)
    rules = [rule(1, {PERSON}, 0.5)]
    rows = [(PERSON, 0.9, i) for i in range(4000)]
    picks = sampler.pick(1, rules, detections(rows), [hit(1, 0)], 0.0)
    sampled = [p for p in picks if p.in_random_sample]
    assert 900 < len(sampled) < 1100  # about a quarter
    assert {p.reason for p in picks if p.index != 0} == {"random"}
    assert picks[0].reason == "event"


def test_it_picks_nothing_in_an_empty_frame():
    assert ReviewSampler(SamplingPolicy(random_fraction=1.0)).pick(1, [], Detections.empty(), [], 0.0) == []
