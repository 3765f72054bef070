"""count and absence: hits about the zone, not about one track (zone 0.2..0.6 on both axes)."""
from __future__ import annotations

import pytest

from workers.pipeline.detections import UNTRACKED

from .test_rules import CAR, INSIDE, OUTSIDE, T0, Scene, assert_plain_json, obj, rule, seconds

A, B, C = (0.3, 0.3), (0.5, 0.5), (0.45, 0.35)


# count ---------------------------------------------------------------------------------------


def test_count_fires_once_enough_tracks_have_been_inside_for_the_duration() -> None:
    scene = Scene(rule("count", min_count=2, duration_s=3, cooldown_s=60))
    scene.during(seconds(0, 0.5, 0.5), obj(1, *A))
    scene.during(seconds(1, 4, 0.5), obj(1, *A), obj(2, *B, conf=0.95), obj(3, *OUTSIDE))
    assert scene.fired() == []  # two inside from 1.5 (the second sighting of track 2)
    scene.at(4.5, obj(1, *A, conf=0.7), obj(2, *B, conf=0.95), obj(3, *OUTSIDE))
    (t, hit), = scene.hits
    assert (t, hit.tracker_id, hit.index, hit.class_id) == (4.5, -1, 1, 0)  # the best-confidence counted one
    assert hit.confidence == pytest.approx(0.95)
    assert hit.evidence["count"] == 2 and hit.evidence["since"] == T0 + 1.5
    assert hit.evidence["counted"] == [{"track_id": 1, "point": [0.3, 0.3]}, {"track_id": 2, "point": [0.5, 0.5]}]
    assert hit.evidence["box"] == [0.48, 0.4, 0.52, 0.5]
    assert_plain_json(hit.evidence)


def test_count_fires_again_after_the_cooldown_while_it_holds() -> None:
    scene = Scene(rule("count", min_count=2, duration_s=3, cooldown_s=60))
    scene.during(seconds(0, 130), obj(1, *A), obj(2, *B))
    assert [t for t, _ in scene.hits] == [4, 64, 124]  # two inside from 1
    assert {h.evidence["since"] for _, h in scene.hits} == {T0 + 1}


def test_count_fires_again_when_it_drops_and_rises_again_even_within_the_cooldown() -> None:
    scene = Scene(rule("count", min_count=2, duration_s=3, cooldown_s=60))
    scene.during(seconds(0, 9), obj(1, *A), obj(2, *B))
    scene.during([10, 11], obj(1, *A), obj(2, *OUTSIDE))  # track 2 steps out: one left
    scene.during(seconds(12, 14), obj(1, *A))  # …and is gone
    scene.during(seconds(15, 20), obj(1, *A), obj(3, *C))
    assert [t for t, _ in scene.hits] == [4, 19]  # three inside from 16
    assert scene.hits[1][1].evidence["since"] == T0 + 16


def test_count_is_not_reset_by_a_brief_occlusion() -> None:
    scene = Scene(rule("count", min_count=2, duration_s=5, cooldown_s=60))
    scene.during(seconds(0, 2), obj(1, *A), obj(2, *B))
    scene.during(seconds(3, 5), obj(1, *A))  # track 2 hidden for 3 s
    scene.during(seconds(6, 8), obj(1, *A), obj(2, *B))
    assert [t for t, _ in scene.hits] == [6]


def test_count_hit_without_a_counted_detection_in_the_frame_has_no_row() -> None:
    scene = Scene(rule("count", min_count=2, duration_s=2))
    scene.during(seconds(0, 1), obj(1, *A), obj(2, *B))
    scene.at(3)  # both hidden (not lost yet) when the duration is reached
    (_, hit), = scene.hits
    assert (hit.index, hit.confidence, hit.class_id, hit.tracker_id) == (-1, 0.0, -1, -1)
    assert hit.evidence["count"] == 2 and "box" not in hit.evidence


def test_count_only_counts_tracks_of_the_classes_inside_the_zone() -> None:
    scene = Scene(rule("count", min_count=2, duration_s=0))
    scene.during(
        seconds(0, 5), obj(1, *A), obj(2, *OUTSIDE), obj(3, *B, cls=CAR), obj(4, *C, conf=0.2), obj(UNTRACKED, *B)
    )
    assert scene.fired() == []


def test_count_on_the_whole_frame() -> None:
    scene = Scene(rule("count", area=None, min_count=3, duration_s=1))
    scene.during(seconds(0, 3), obj(1, *A), obj(2, *OUTSIDE), obj(3, 0.9, 0.1))
    assert [t for t, _ in scene.hits] == [2]
    assert scene.hits[0][1].evidence["count"] == 3 and "area" not in scene.hits[0][1].evidence


# absence ---------------------------------------------------------------------------------------


def test_absence_timing_starts_at_the_first_frame_and_fires_once_per_empty_spell() -> None:
    scene = Scene(rule("absence", duration_s=10, cooldown_s=0))
    scene.during(seconds(0, 40))
    assert [t for t, _ in scene.hits] == [10]
    (_, hit), = scene.hits
    assert (hit.tracker_id, hit.index, hit.confidence, hit.class_id) == (-1, -1, 0.0, -1)
    assert hit.evidence == {
        "trigger": "absence",
        "anchor": "bottom_center",
        "area": {"id": 3, "name": "Yard", "kind": "zone", "points": [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]]},
        "empty_since": T0,
    }
    assert_plain_json(hit.evidence)


def test_absence_is_re_armed_by_anything_of_the_classes_seen_in_the_zone() -> None:
    scene = Scene(rule("absence", duration_s=10, cooldown_s=0))
    scene.during(seconds(0, 19))
    scene.at(20, obj(UNTRACKED, *INSIDE))  # even untracked: something is there
    scene.during(seconds(21, 40))
    assert [t for t, _ in scene.hits] == [10, 31]
    assert scene.hits[1][1].evidence["empty_since"] == T0 + 21


def test_absence_ignores_other_classes_low_confidence_and_the_outside() -> None:
    scene = Scene(rule("absence", duration_s=5, cooldown_s=0))
    scene.during(seconds(0, 5), obj(1, *INSIDE, cls=CAR), obj(2, *INSIDE, conf=0.1), obj(3, *OUTSIDE))
    assert [t for t, _ in scene.hits] == [5]


def test_a_briefly_hidden_person_still_occupies_the_zone() -> None:
    scene = Scene(rule("absence", duration_s=2, cooldown_s=0))
    scene.during(seconds(0, 5, 0.5), obj(1, *INSIDE))
    scene.during(seconds(5.5, 8.5, 0.5))  # hidden 3.5 s
    scene.during(seconds(9, 10, 0.5), obj(1, *INSIDE))
    scene.during(seconds(10.5, 20, 0.5))  # gone: lost once unseen for more than 5 s, at 15.5
    assert [t for t, _ in scene.hits] == [17.5]
    assert scene.hits[0][1].evidence["empty_since"] == T0 + 15.5


def test_absence_keeps_the_cooldown_between_hits() -> None:
    scene = Scene(rule("absence", duration_s=5, cooldown_s=30))
    scene.during(seconds(0, 5))
    scene.at(6, obj(UNTRACKED, *INSIDE))
    scene.during(seconds(7, 40))
    assert [t for t, _ in scene.hits] == [5, 35]  # empty long enough from 12, but the cooldown runs to 35
    assert scene.hits[1][1].evidence["empty_since"] == T0 + 7


def test_absence_on_the_whole_frame() -> None:
    scene = Scene(rule("absence", area=None, duration_s=3, cooldown_s=0))
    scene.during(seconds(0, 4), obj(UNTRACKED, 0.95, 0.95))
    scene.during(seconds(5, 9))
    assert [t for t, _ in scene.hits] == [8]
