"""The rule engine on synthetic tracks: helpers shared by the test_rules_* modules, the
"seen" trigger, evidence, determinism, state bounds, object filters and rule checks.

Frames are 1000 x 1000 pixels, so a normalised coordinate of 0.4 is pixel 400; times
are seconds after T0 (an epoch).
"""
from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.rules import (
    DEFAULT_TUNING,
    Area,
    ObjectFilter,
    RuleHit,
    RuleSpec,
    RuleState,
    Trigger,
    Tuning,
    evaluate,
    filter_objects,
)
from workers.pipeline.schedule import Schedule

PERSON, CAR = 0, 2
SIZE = (1000, 1000)
T0 = 1_717_000_000.0
ZONE = Area(id=3, name="Yard", kind="zone", points=((0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)))
INSIDE, OUTSIDE = (0.4, 0.4), (0.8, 0.8)

Obj = tuple[int, int, float, float, float, float, float]


def obj(
    track: int, x: float, y: float, *,
    cls: int = PERSON, conf: float = 0.9, w: float = 0.04, h: float = 0.1, size: tuple[int, int] = SIZE,
) -> Obj:
    """A detection whose bottom centre (the default anchor) is at normalised (x, y)."""
    width, height = size
    return (track, cls, conf, (x - w / 2) * width, (y - h) * height, (x + w / 2) * width, y * height)


def frame(*objs: Obj) -> Detections:
    if not objs:
        return Detections.empty()
    rows = np.array(objs, np.float64)
    return Detections(xyxy=rows[:, 3:], confidence=rows[:, 2], class_id=rows[:, 1], tracker_id=rows[:, 0])


def rule(trigger: Trigger, area: Area | None = ZONE, **kwargs: Any) -> RuleSpec:
    kwargs.setdefault("class_ids", frozenset({PERSON}))
    return RuleSpec(rule_id=7, name=f"{trigger} rule", trigger=trigger, area=area, **kwargs)


class Scene:
    """Feeds frames to one rule, keeping its state and every hit with its frame time."""

    def __init__(self, spec: RuleSpec, *, tuning: Tuning = DEFAULT_TUNING, size: tuple[int, int] = SIZE) -> None:
        self.rule, self.tuning, self.size = spec, tuning, size
        self.state = RuleState()
        self.hits: list[tuple[float, RuleHit]] = []

    def at(self, t: float, *objs: Obj) -> list[RuleHit]:
        hits, self.state = evaluate(self.rule, frame(*objs), self.size, T0 + t, self.state, tuning=self.tuning)
        self.hits += [(t, hit) for hit in hits]
        return hits

    def during(self, times: Iterable[float], *objs: Obj) -> list[RuleHit]:
        """The same objects in a frame at each of ``times``."""
        return [hit for t in times for hit in self.at(t, *objs)]

    def fired(self) -> list[tuple[float, int]]:
        """(time, tracker id) of every hit so far."""
        return [(t, hit.tracker_id) for t, hit in self.hits]


def seconds(start: float, stop: float, step: float = 1.0) -> list[float]:
    """start, start + step, … up to stop included."""
    return [round(start + i * step, 6) for i in range(int(round((stop - start) / step)) + 1)]


def assert_plain_json(value: Any) -> None:
    """Only dict/list/str/int/float/bool/None, no numpy scalars, and it survives a JSON round trip."""
    def walk(v: Any) -> None:
        assert type(v) in (dict, list, str, int, float, bool, type(None)), (type(v), v)
        for child in v.values() if isinstance(v, dict) else v if isinstance(v, list) else ():
            walk(child)
    walk(value)
    assert json.loads(json.dumps(value)) == value


# seen ------------------------------------------------------------------------------------------


def test_seen_fires_once_per_track() -> None:
    scene = Scene(rule("seen"))
    hits = scene.at(0, obj(1, *INSIDE, conf=0.9), obj(2, 0.3, 0.3, conf=0.8))
    assert [(h.rule_id, h.tracker_id, h.index, h.class_id) for h in hits] == [(7, 1, 0, PERSON), (7, 2, 1, PERSON)]
    assert [h.confidence for h in hits] == pytest.approx([0.9, 0.8])
    assert scene.during(seconds(1, 29), obj(1, *INSIDE), obj(2, 0.3, 0.3)) == []
    assert [h.tracker_id for h in scene.at(30, obj(1, *INSIDE), obj(3, 0.5, 0.5))] == [3]


def test_seen_fires_again_after_the_cooldown_while_still_there() -> None:
    scene = Scene(rule("seen", cooldown_s=60))
    scene.at(0, obj(1, *INSIDE))
    assert scene.at(59.9, obj(1, *INSIDE)) == []
    assert [h.tracker_id for h in scene.at(60, obj(1, *INSIDE))] == [1]
    assert scene.at(100, obj(1, *INSIDE)) == []


def test_seen_waits_for_the_class_and_the_confidence() -> None:
    scene = Scene(rule("seen"))
    assert scene.at(0, obj(1, *INSIDE, conf=0.49), obj(2, *INSIDE, cls=CAR, conf=0.99)) == []
    assert [(h.tracker_id, h.index) for h in scene.at(1, obj(2, *INSIDE, cls=CAR), obj(1, *INSIDE, conf=0.5))] == [
        (1, 1)
    ]


def test_seen_ignores_untracked_detections() -> None:
    scene = Scene(rule("seen"))
    assert scene.during(seconds(0, 10), obj(UNTRACKED, *INSIDE), obj(UNTRACKED, 0.3, 0.3)) == []
    assert not scene.state.tracks


def test_seen_in_a_zone_only_fires_inside_it() -> None:
    scene = Scene(rule("seen", cooldown_s=10))
    scene.at(0, obj(1, *OUTSIDE), obj(2, 0.6, 0.6))
    assert scene.fired() == [(0, 2)]  # the zone's corner counts
    assert scene.at(20, obj(1, *OUTSIDE), obj(2, *OUTSIDE)) == []  # cooldown over but not in the zone
    assert [h.tracker_id for h in scene.at(21, obj(1, *INSIDE), obj(2, *INSIDE))] == [1, 2]


def test_seen_uses_the_rule_anchor() -> None:
    feet_below_head_inside = obj(1, 0.4, 0.65, h=0.1)  # bottom at 0.65 (outside), top at 0.55 (inside)
    assert Scene(rule("seen")).at(0, feet_below_head_inside) == []
    assert [h.tracker_id for h in Scene(rule("seen", anchor="top_center")).at(0, feet_below_head_inside)] == [1]
    assert [h.tracker_id for h in Scene(rule("seen", anchor="center")).at(0, feet_below_head_inside)] == [1]


def test_seen_on_the_whole_frame_fires_anywhere() -> None:
    scene = Scene(rule("seen", area=None))
    assert [h.tracker_id for h in scene.at(0, obj(1, 0.0, 1.0), obj(2, 0.99, 0.1))] == [1, 2]


def test_a_track_listed_twice_in_a_frame_fires_once_on_its_best_box() -> None:
    hits = Scene(rule("seen")).at(0, obj(4, 0.3, 0.3, conf=0.6), obj(4, *INSIDE, conf=0.95))
    assert [(h.tracker_id, h.index) for h in hits] == [(4, 1)]


# evidence ----------------------------------------------------------------------------------------


def test_seen_evidence_is_exact_and_plain_json() -> None:
    scene = Scene(rule("seen", cooldown_s=5))
    scene.at(0, obj(1, 0.3, 0.7))
    scene.at(1, obj(1, 0.3, 0.65))
    (hit,) = scene.at(2, obj(1, 0.3, 0.5))
    assert hit.evidence == {
        "trigger": "seen",
        "anchor": "bottom_center",
        "area": {"id": 3, "name": "Yard", "kind": "zone", "points": [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]]},
        "box": [0.28, 0.4, 0.32, 0.5],
        "track_path": [[T0, 0.3, 0.7], [T0 + 1, 0.3, 0.65], [T0 + 2, 0.3, 0.5]],
    }
    assert_plain_json(hit.evidence)


def test_evidence_names_the_schedule_and_leaves_out_a_whole_frame_area() -> None:
    always = Schedule.from_json([{"days": list(range(7)), "start": "00:00", "end": "00:00"}], "Europe/Paris")
    (hit,) = Scene(rule("seen", area=None, schedule=always, anchor="center")).at(0, obj(1, *INSIDE))
    assert hit.evidence["schedule"] == "Every day all day (Europe/Paris)"
    assert "area" not in hit.evidence and hit.evidence["anchor"] == "center"


# determinism and state ---------------------------------------------------------------------------


def _busy_scene(spec: RuleSpec) -> Scene:
    """Two people walking through the zone, frames where one is missed, a passer-by now and then."""
    scene = Scene(spec)
    for i in range(90):
        objs = [obj(1, i * 0.01, 0.4), obj(2, 0.4, 0.9 - i * 0.01)]
        if i % 4 == 3:
            objs.pop(i % 2)
        if i % 10 == 0:
            objs.append(obj(UNTRACKED, 0.5, 0.5))
        scene.at(i * 0.5, *objs)
    return scene


@pytest.mark.parametrize("trigger", ["seen", "enter", "leave", "loiter", "count", "absence"])
def test_the_same_frames_give_the_same_hits_and_state(trigger: Trigger) -> None:
    spec = rule(trigger, duration_s=2, cooldown_s=5)
    first, second = _busy_scene(spec), _busy_scene(spec)
    assert first.hits == second.hits and first.state == second.state
    assert first.hits, "the scene is busy enough to fire every trigger"


def test_evaluate_leaves_the_given_state_alone() -> None:
    spec = rule("leave", stationary_guard=False)
    scene = Scene(spec)
    scene.during(seconds(0, 3), obj(1, *INSIDE))
    before = scene.state
    snapshot = copy.deepcopy(before)
    hits, after = evaluate(spec, frame(), SIZE, T0 + 20, before)
    assert [h.tracker_id for h in hits] == [1]
    assert before == snapshot and before.tracks[1].zone.inside and not before.tracks[1].lost
    assert after is not before and after.tracks[1].lost


def test_tracks_are_forgotten_after_a_while_and_their_cooldown_with_them() -> None:
    scene = Scene(rule("seen", cooldown_s=1000, stationary_guard=False), tuning=Tuning(forget_after_s=100))
    scene.at(0, obj(1, *INSIDE))
    assert scene.at(50, obj(1, *INSIDE)) == []  # lost in between, back within the cooldown
    scene.at(149)
    assert set(scene.state.tracks) == {1}  # unseen for 99 s
    scene.at(151)
    assert set(scene.state.tracks) == set()  # unseen for 101 s
    assert scene.fired() == [(0, 1)]
    assert [h.tracker_id for h in scene.at(152, obj(1, *INSIDE))] == [1]


def test_the_number_of_tracks_kept_is_capped() -> None:
    scene = Scene(rule("seen"), tuning=Tuning(max_tracks=3))
    for i, track in enumerate(range(10, 20)):
        scene.at(i * 0.1, obj(track, *INSIDE))
    assert sorted(scene.state.tracks) == [17, 18, 19]


def test_a_track_path_stays_short_but_spans_the_whole_track() -> None:
    scene = Scene(rule("loiter", area=None, duration_s=99.9))
    for i in range(1000):
        scene.at(i * 0.1, obj(1, 0.1 + i * 0.0008, 0.5))
    path = scene.state.tracks[1].path
    assert 32 <= len(path) <= DEFAULT_TUNING.path_points
    assert path[0] == (T0, pytest.approx(0.1), 0.5)
    assert path[-1] == (T0 + 99.9, pytest.approx(0.1 + 999 * 0.0008), 0.5)
    assert [p[0] for p in path] == sorted(p[0] for p in path)
    (_, hit), = scene.hits
    evidence_path = hit.evidence["track_path"]
    assert len(evidence_path) == len(path)
    assert evidence_path[0] == [T0, 0.1, 0.5] and evidence_path[-1] == [T0 + 99.9, 0.8992, 0.5]


def test_zone_visits_per_track_are_capped() -> None:
    scene = Scene(rule("enter", cooldown_s=0), tuning=Tuning(max_visits=4))
    t = 0.0
    for _ in range(10):
        scene.during([t, t + 1], obj(1, *INSIDE))
        scene.during([t + 2, t + 3], obj(1, *OUTSIDE))
        t += 4
    assert len(scene.hits) == 10
    visits = scene.state.tracks[1].zone.visits
    assert visits == ((T0 + 24, T0 + 26), (T0 + 28, T0 + 30), (T0 + 32, T0 + 34), (T0 + 36, T0 + 38))


def test_remembered_parked_objects_are_capped() -> None:
    scene = Scene(rule("seen", area=None), tuning=Tuning(max_parked=2))
    spots = [0.1, 0.3, 0.5, 0.7, 0.9]
    scene.during(seconds(0, 20), *(obj(track, x, 0.5) for track, x in enumerate(spots, start=1)))
    scene.during(seconds(21, 30))  # all lost standing still
    assert [p.box[0] for p in scene.state.parked] == pytest.approx([0.68, 0.88])
    scene.at(100, *(obj(track, x, 0.5) for track, x in enumerate(spots, start=10)))
    assert scene.fired()[5:] == [(100, 10), (100, 11), (100, 12)]


# object filters ----------------------------------------------------------------------------------


def _mixed() -> Detections:
    return frame(
        obj(UNTRACKED, 0.5, 0.5, cls=PERSON, conf=0.9, w=0.1, h=0.2),  # 2 % of the frame
        obj(UNTRACKED, 0.5, 0.9, cls=PERSON, conf=0.3, w=0.1, h=0.2),
        obj(UNTRACKED, 0.2, 0.9, cls=CAR, conf=0.8, w=0.5, h=0.5),  # 25 %
        obj(UNTRACKED, 0.9, 0.9, cls=5, conf=0.99),
    )


def test_without_filters_every_class_passes() -> None:
    assert len(filter_objects(_mixed(), SIZE, None, [])) == 4


def test_filters_drop_classes_not_listed_and_apply_confidence_and_size() -> None:
    kept = filter_objects(_mixed(), SIZE, {PERSON: ObjectFilter(min_confidence=0.5), CAR: ObjectFilter()}, [])
    assert kept.class_id.tolist() == [PERSON, CAR] and kept.confidence.tolist() == pytest.approx([0.9, 0.8])
    small_only = filter_objects(_mixed(), SIZE, {PERSON: ObjectFilter(), CAR: ObjectFilter(max_area=0.2)}, [])
    assert small_only.class_id.tolist() == [PERSON, PERSON]
    big_only = filter_objects(_mixed(), SIZE, {PERSON: ObjectFilter(min_area=0.03), CAR: ObjectFilter()}, [])
    assert big_only.class_id.tolist() == [CAR]


def test_filter_areas_count_only_the_part_of_a_box_in_the_frame() -> None:
    half_out = frame(obj(UNTRACKED, 1.0, 0.5, w=0.2, h=0.2))  # 4 % drawn, 2 % in the frame
    assert len(filter_objects(half_out, SIZE, {PERSON: ObjectFilter(max_area=0.025)}, [])) == 1


def test_object_masks_drop_detections_standing_in_them() -> None:
    mask = np.array([[0.0, 0.8], [1.0, 0.8], [1.0, 1.0], [0.0, 1.0]], np.float32)  # the bottom strip
    kept = filter_objects(_mixed(), SIZE, None, [mask])
    assert kept.xyxy[:, 3].tolist() == [500.0]
    on_edge = frame(obj(UNTRACKED, 0.5, 0.8))
    assert len(filter_objects(on_edge, SIZE, None, [mask])) == 0


def test_filtering_nothing_gives_nothing() -> None:
    assert len(filter_objects(Detections.empty(), SIZE, {PERSON: ObjectFilter()}, [np.array(ZONE.points)])) == 0


# rule checks -------------------------------------------------------------------------------------


def test_rules_pair_lines_with_the_cross_trigger_only() -> None:
    line = Area(id=1, name="Door", kind="line", points=((0.1, 0.5), (0.9, 0.5)))
    with pytest.raises(ValueError, match="a line goes with the cross trigger"):
        rule("cross", area=ZONE)
    with pytest.raises(ValueError, match="a line goes with the cross trigger"):
        rule("cross", area=None)
    with pytest.raises(ValueError, match="a line goes with the cross trigger"):
        rule("enter", area=line)
    with pytest.raises(ValueError, match="needs exactly 2 points"):
        replace(line, points=((0.1, 0.5),))
    with pytest.raises(ValueError, match="min_count"):
        rule("count", min_count=0)


def test_evaluate_needs_a_real_frame_size() -> None:
    with pytest.raises(ValueError, match="frame_size"):
        evaluate(rule("seen"), frame(), (0, 480), T0, RuleState())
