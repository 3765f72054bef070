"""enter, leave and loiter on synthetic tracks (zone 0.2..0.6 on both axes)."""
from __future__ import annotations

import pytest

from workers.pipeline.detections import UNTRACKED
from workers.pipeline.rules import Tuning

from .test_rules import INSIDE, OUTSIDE, T0, Scene, assert_plain_json, obj, rule, seconds

ZONE_POINTS = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]]


def _walk_in(scene: Scene, track: int = 1) -> None:
    """Down x = 0.4 into the zone: outside at t 0 and 1, on its top edge at 2, inside from 3."""
    for t, y in zip(seconds(0, 5), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]):
        scene.at(t, obj(track, 0.4, y))


# enter ---------------------------------------------------------------------------------------


def test_enter_fires_once_the_anchor_has_been_inside_twice_in_a_row() -> None:
    scene = Scene(rule("enter"))
    _walk_in(scene)
    assert scene.fired() == [(3, 1)]  # inside (on the edge) at 2 and at 3
    (_, hit), = scene.hits
    assert hit.index == 0 and hit.class_id == 0 and hit.confidence == pytest.approx(0.9)
    assert hit.evidence["entered_at"] == T0 + 2  # the first of the two
    assert hit.evidence["in_zone"] == [[T0 + 2, T0 + 3]]
    assert hit.evidence["area"]["points"] == ZONE_POINTS and "left_at" not in hit.evidence
    assert_plain_json(hit.evidence)


def test_enter_counts_the_edge_as_inside_and_just_past_it_as_outside() -> None:
    on_edge, past_edge = Scene(rule("enter")), Scene(rule("enter"))
    on_edge.during([0, 1], obj(1, 0.6, 0.6))
    past_edge.during([0, 1], obj(1, 0.6001, 0.6))
    assert (on_edge.fired(), past_edge.fired()) == ([(1, 1)], [])


def test_a_track_first_seen_inside_counts_as_entering() -> None:
    scene = Scene(rule("enter"))
    assert scene.at(0, obj(1, *INSIDE)) == []  # one sighting could be a ghost
    assert [h.tracker_id for h in scene.at(0.5, obj(1, *INSIDE))] == [1]
    assert scene.during(seconds(1, 30), obj(1, *INSIDE)) == []


def test_a_one_frame_ghost_inside_does_not_enter() -> None:
    scene = Scene(rule("enter"))
    scene.at(0, obj(1, *INSIDE))
    scene.during(seconds(1, 20), obj(2, *OUTSIDE))
    assert scene.fired() == []


def test_jitter_on_the_edge_fires_enter_and_leave_once_each_at_most() -> None:
    enter, leave = Scene(rule("enter", cooldown_s=0)), Scene(rule("leave", cooldown_s=0))
    for scene in (enter, leave):
        for i in range(41):  # alternating just outside / just inside the top edge: never twice in a row
            scene.at(i * 0.2, obj(1, 0.4, 0.199 if i % 2 == 0 else 0.201))
    assert enter.fired() == [] and leave.fired() == []
    pattern = [0.21, 0.21, 0.199, 0.21, 0.199, 0.21, 0.21, 0.199, 0.21, 0.21]  # mostly inside
    for scene in (enter, leave):
        for i, y in enumerate(pattern):
            scene.at(10 + i * 0.2, obj(1, 0.4, y))
    assert enter.fired() == [(10.2, 1)] and leave.fired() == []


def test_an_occlusion_gap_is_neither_a_leave_nor_a_new_enter() -> None:
    enter, leave = Scene(rule("enter", cooldown_s=0)), Scene(rule("leave", cooldown_s=0))
    for scene in (enter, leave):
        scene.during(seconds(0, 3, 0.5), obj(1, *INSIDE))
        scene.during(seconds(3.5, 7.5, 0.5))  # missing 4.5 s: under the lost-track timeout
        scene.during(seconds(8, 10, 0.5), obj(1, 0.45, 0.45))
    assert enter.fired() == [(0.5, 1)] and leave.fired() == []


def test_enter_respects_the_cooldown_per_track() -> None:
    scene = Scene(rule("enter", cooldown_s=60))
    for visit in (0, 10, 20, 70):
        scene.during([visit, visit + 1], obj(1 if visit != 20 else 2, *INSIDE))
        scene.during([visit + 2, visit + 3], obj(1, *OUTSIDE))
    assert scene.fired() == [(1, 1), (21, 2), (71, 1)]


def test_enter_ignores_untracked_detections_and_other_classes() -> None:
    scene = Scene(rule("enter"))
    scene.during(seconds(0, 10), obj(UNTRACKED, *INSIDE), obj(5, *INSIDE, cls=2), obj(6, *INSIDE, conf=0.3))
    assert scene.fired() == []


def test_enter_on_the_whole_frame_is_appearing() -> None:
    scene = Scene(rule("enter", area=None))
    scene.during([0, 1], obj(1, 0.95, 0.99), obj(2, 0.01, 0.3))
    assert scene.fired() == [(1, 1), (1, 2)]


# leave -------------------------------------------------------------------------------------------


def test_leave_fires_once_the_anchor_has_been_outside_twice_in_a_row() -> None:
    scene = Scene(rule("leave"))
    scene.during(seconds(0, 4), obj(1, *INSIDE))
    scene.at(5, obj(1, 0.4, 0.7))
    assert scene.fired() == []
    scene.at(6, obj(1, 0.4, 0.8))
    assert scene.fired() == [(6, 1)]
    (_, hit), = scene.hits
    assert hit.index == 0
    assert {k: hit.evidence[k] for k in ("entered_at", "left_at", "dwell_s", "in_zone")} == {
        "entered_at": T0,
        "left_at": T0 + 5,
        "dwell_s": 5.0,
        "in_zone": [[T0, T0 + 5]],
    }
    assert hit.evidence["track_path"][-1] == [T0 + 6, 0.4, 0.8]
    assert_plain_json(hit.evidence)


def test_leave_fires_when_a_track_vanishes_inside_after_the_lost_timeout() -> None:
    scene = Scene(rule("leave"))
    for t in seconds(0, 6):  # walking about inside
        scene.at(t, obj(1, 0.25 + t * 0.05, 0.4))
    scene.during(seconds(6.5, 15, 0.5))
    assert scene.fired() == [(11.5, 1)]  # last seen at 6: lost once unseen for more than 5 s
    (_, hit), = scene.hits
    assert (hit.index, hit.confidence, hit.class_id) == (-1, 0.0, -1)
    assert hit.evidence["left_at"] == T0 + 6 and hit.evidence["dwell_s"] == 6.0
    assert hit.evidence["box"] == [0.53, 0.3, 0.57, 0.4]


def test_the_lost_timeout_is_configurable() -> None:
    scene = Scene(rule("leave"), tuning=Tuning(lost_after_s=2))
    for t in seconds(0, 3):
        scene.at(t, obj(1, 0.25 + t * 0.05, 0.4))
    scene.during(seconds(3.5, 8, 0.5))
    assert scene.fired() == [(5.5, 1)]


def test_a_track_lost_while_half_way_out_left_when_first_seen_outside() -> None:
    scene = Scene(rule("leave"))
    for t in seconds(0, 4):
        scene.at(t, obj(1, 0.3 + t * 0.05, 0.4))
    scene.at(5, obj(1, 0.65, 0.4))  # one frame outside, then gone
    scene.during(seconds(6, 12))
    (_, hit), = scene.hits
    assert hit.evidence["left_at"] == T0 + 5 and hit.evidence["in_zone"] == [[T0, T0 + 5]]


def test_a_track_lost_outside_does_not_leave() -> None:
    scene = Scene(rule("leave"))
    scene.during(seconds(0, 3), obj(1, *OUTSIDE))
    scene.during(seconds(4, 20))
    assert scene.fired() == []


def test_a_still_object_that_vanishes_has_not_left_with_the_stationary_guard() -> None:
    guarded, unguarded = Scene(rule("leave")), Scene(rule("leave", stationary_guard=False))
    for scene in (guarded, unguarded):
        scene.during(seconds(0, 20), obj(1, *INSIDE))  # standing still for 20 s
        scene.during(seconds(21, 40))
    assert guarded.fired() == [] and unguarded.fired() == [(26, 1)]


def test_leave_on_the_whole_frame_is_vanishing() -> None:
    scene = Scene(rule("leave", area=None))
    for t in seconds(0, 5):
        scene.at(t, obj(1, 0.1 + t * 0.1, 0.9))
    scene.during(seconds(6, 12))
    assert scene.fired() == [(11, 1)]


def test_leave_respects_the_cooldown_per_track() -> None:
    scene = Scene(rule("leave", cooldown_s=60))
    for visit in (0, 10, 70):
        scene.during([visit, visit + 1], obj(1, *INSIDE))
        scene.during([visit + 2, visit + 3], obj(1, *OUTSIDE))
    assert scene.fired() == [(3, 1), (73, 1)]


# loiter ------------------------------------------------------------------------------------------


def test_loiter_fires_once_per_visit_after_the_duration() -> None:
    scene = Scene(rule("loiter", duration_s=10, cooldown_s=0))
    scene.during(seconds(0, 30, 0.5), obj(1, *INSIDE))
    assert scene.fired() == [(10, 1)]
    (_, hit), = scene.hits
    assert hit.evidence["dwell_s"] == 10.0 and hit.evidence["entered_at"] == T0
    assert hit.evidence["in_zone"] == [[T0, T0 + 10]]
    scene.during([31, 32], obj(1, *OUTSIDE))
    scene.during(seconds(33, 50), obj(1, *INSIDE))
    assert scene.fired() == [(10, 1), (43, 1)]  # a new visit from 33


def test_loiter_does_not_fire_for_a_visit_shorter_than_the_duration() -> None:
    scene = Scene(rule("loiter", duration_s=10, cooldown_s=0))
    for visit in (0, 12, 24):
        scene.during(seconds(visit, visit + 9), obj(1, *INSIDE))
        scene.during([visit + 10, visit + 11], obj(1, *OUTSIDE))
    assert scene.fired() == []


def test_loiter_tolerates_occlusion_gaps_and_edge_jitter() -> None:
    scene = Scene(rule("loiter", duration_s=10, cooldown_s=0))
    scene.during(seconds(0, 3), obj(1, *INSIDE))
    scene.during(seconds(4, 7))  # hidden 4 s
    scene.at(7.5, obj(1, *OUTSIDE))  # one jittery observation outside
    scene.during(seconds(8, 12), obj(1, *INSIDE))
    assert scene.fired() == [(10, 1)]
    (_, hit), = scene.hits
    assert hit.evidence["dwell_s"] == 10.0


def test_loiter_restarts_after_the_track_is_lost() -> None:
    scene = Scene(rule("loiter", duration_s=10, cooldown_s=0, stationary_guard=False))
    scene.during(seconds(0, 6), obj(1, *INSIDE))
    scene.during(seconds(7, 13))  # lost after 5 s unseen
    scene.during(seconds(14, 24), obj(1, *INSIDE))
    assert scene.fired() == [(24, 1)]


def test_loiter_waits_for_the_cooldown_and_then_fires_in_the_same_visit() -> None:
    scene = Scene(rule("loiter", duration_s=10, cooldown_s=60))
    scene.during(seconds(0, 11), obj(1, *INSIDE))
    scene.during([12, 13], obj(1, *OUTSIDE))
    scene.during(seconds(14, 80), obj(1, *INSIDE))  # a second visit long enough at 24, within the cooldown
    assert scene.fired() == [(10, 1), (70, 1)]
    assert scene.hits[1][1].evidence["dwell_s"] == 56.0


def test_loiter_on_the_whole_frame() -> None:
    scene = Scene(rule("loiter", area=None, duration_s=5))
    for t in seconds(0, 8):
        scene.at(t, obj(1, 0.1 + 0.1 * t, 0.9))
    assert scene.fired() == [(5, 1)]
