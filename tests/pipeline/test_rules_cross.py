"""cross on synthetic tracks: directions, the arrow convention, hysteresis and segment ends.

The line runs from A (0.2, 0.5) to B (0.8, 0.5), left to right: walking from A to B, the
right-hand side in image coordinates is below the line, so "a_to_b" is going down. In a
1000 x 1000 frame the hysteresis margin is 1 % of the diagonal: 14.1 px, 0.0141 in y.
"""
from __future__ import annotations

from typing import Any

import pytest

from workers.pipeline.geometry import Direction, Point
from workers.pipeline.rules import Area, Tuning

from .test_rules import T0, Scene, assert_plain_json, obj, rule, seconds


def _line(direction: Direction = "both", a: Point = (0.2, 0.5), b: Point = (0.8, 0.5)) -> Area:
    return Area(id=5, name="Door", kind="line", points=(a, b), direction=direction)


def _cross(direction: Direction = "both", **kwargs: Any) -> Scene:
    return Scene(rule("cross", area=_line(direction), **kwargs))


def _walk(scene: Scene, track: int, ys: list[float], t0: float = 0.0, x: float = 0.5, dt: float = 1.0) -> None:
    for i, y in enumerate(ys):
        scene.at(t0 + i * dt, obj(track, x, y))


DOWN = [0.3, 0.36, 0.42, 0.48, 0.54, 0.6]
"""Past the line (0.54, 40 px below it) at the fifth frame; 0.48 is within the margin above it."""
UP = [0.7, 0.64, 0.58, 0.52, 0.46, 0.4]
"""The same, upwards: past the line (0.46) at the fifth frame."""


@pytest.mark.parametrize(
    ("direction", "expected"),
    [("a_to_b", [(4, "a_to_b")]), ("b_to_a", [(14, "b_to_a")]), ("both", [(4, "a_to_b"), (14, "b_to_a")])],
)
def test_cross_fires_in_the_configured_direction(direction: Direction, expected: list[tuple[float, str]]) -> None:
    scene = _cross(direction, cooldown_s=0)
    _walk(scene, 1, DOWN)
    _walk(scene, 1, UP, t0=10)
    assert [(t, h.evidence["crossing"]["direction"]) for t, h in scene.hits] == expected
    assert {h.tracker_id for _, h in scene.hits} == {1}


def test_crossing_evidence_has_the_crossing_point_direction_and_time() -> None:
    scene = _cross("a_to_b")
    for i, (x, y) in enumerate([(0.30, 0.33), (0.34, 0.39), (0.38, 0.45), (0.42, 0.51), (0.46, 0.57)]):
        scene.at(i, obj(1, x, y))
    (t, hit), = scene.hits
    assert t == 4  # 0.51 is within the margin of the line; 0.57 is past it
    assert hit.index == 0 and hit.tracker_id == 1
    crossing = hit.evidence["crossing"]
    assert crossing["point"] == pytest.approx([0.38 + 0.04 * 5 / 6, 0.5], abs=1e-5)  # on the step 0.45 → 0.51
    assert crossing["direction"] == "a_to_b" and crossing["at"] == T0 + 4
    assert hit.evidence["area"] == {
        "id": 5, "name": "Door", "kind": "line", "points": [[0.2, 0.5], [0.8, 0.5]], "direction": "a_to_b",
    }
    assert len(hit.evidence["track_path"]) == 5 and hit.evidence["track_path"][0] == [T0, 0.3, 0.33]
    assert_plain_json(hit.evidence)


def test_the_arrow_of_a_vertical_line_drawn_downwards_points_left() -> None:
    # Walking down from A to B, the right-hand side (y down) is the left of the picture.
    scene = Scene(rule("cross", area=_line("a_to_b", a=(0.5, 0.2), b=(0.5, 0.8)), cooldown_s=0))
    for i, x in enumerate([0.7, 0.6, 0.55, 0.45, 0.4, 0.3]):  # right to left
        scene.at(i, obj(1, x, 0.5))
    for i, x in enumerate([0.3, 0.4, 0.45, 0.55, 0.6, 0.7]):  # left to right
        scene.at(10 + i, obj(1, x, 0.5))
    assert scene.fired() == [(3, 1)]


def test_jitter_around_the_line_within_the_margin_fires_nothing() -> None:
    scene = _cross("both", cooldown_s=0)
    scene.at(0, obj(1, 0.5, 0.45))  # clearly above
    for i in range(30):
        scene.at(1 + i * 0.2, obj(1, 0.5, 0.49 if i % 2 else 0.51))  # ±10 px around the line
    assert scene.fired() == []
    scene.at(8, obj(1, 0.5, 0.52))  # 20 px below: it has crossed
    assert scene.fired() == [(8, 1)]
    for i in range(30):
        scene.at(9 + i * 0.2, obj(1, 0.5, 0.495 if i % 2 else 0.51))
    assert scene.fired() == [(8, 1)]  # wandering back into the margin is not a crossing back
    scene.at(16, obj(1, 0.5, 0.48))  # 20 px above: it has
    assert scene.fired() == [(8, 1), (16, 1)]
    assert [h.evidence["crossing"]["direction"] for _, h in scene.hits] == ["a_to_b", "b_to_a"]


def test_stepping_back_from_within_the_margin_fires_nothing() -> None:
    scene = _cross("both", cooldown_s=0)
    _walk(scene, 1, [0.4, 0.45, 0.505, 0.51, 0.47, 0.4, 0.45, 0.51, 0.46])
    assert scene.fired() == []


def test_the_margin_is_measured_in_pixels_on_a_wide_frame() -> None:
    # 2000 x 500: the margin is 20.6 px, 0.041 of the height.
    wide = (2000, 500)
    scene = Scene(rule("cross", area=_line("a_to_b")), size=wide)
    for i, y in enumerate([0.4, 0.46, 0.53]):
        scene.at(i, obj(1, 0.5, y, size=wide))
    assert scene.fired() == []  # 0.53 is 15 px below
    scene.at(3, obj(1, 0.5, 0.55, size=wide))  # 25 px below
    assert scene.fired() == [(3, 1)]


def test_the_margin_is_configurable() -> None:
    scene = Scene(rule("cross", area=_line("a_to_b")), tuning=Tuning(cross_margin=0.05))
    _walk(scene, 1, [0.4, 0.45, 0.52, 0.56])
    assert scene.fired() == []
    scene.at(4, obj(1, 0.5, 0.58))  # 80 px > 70.7 px
    assert scene.fired() == [(4, 1)]


def test_going_around_the_end_of_the_line_is_not_a_crossing() -> None:
    scene = _cross("both", cooldown_s=0)
    _walk(scene, 1, [0.4, 0.45, 0.55, 0.6], x=0.85)  # past B
    assert scene.fired() == []
    for i, x in enumerate([0.8, 0.7, 0.6, 0.5]):  # round under the line, to its middle
        scene.at(4 + i, obj(1, x, 0.6))
    _walk(scene, 1, [0.55, 0.45, 0.4], t0=8)  # and up through it
    assert scene.fired() == [(9, 1)]
    assert scene.hits[0][1].evidence["crossing"]["direction"] == "b_to_a"


def test_a_crossing_hidden_by_an_occlusion_still_counts() -> None:
    scene = _cross("a_to_b")
    _walk(scene, 1, [0.3, 0.4])
    scene.during(seconds(2, 4))
    scene.at(4.5, obj(1, 0.6, 0.6))
    assert scene.fired() == [(4.5, 1)]
    assert scene.hits[0][1].evidence["crossing"]["point"] == pytest.approx([0.55, 0.5])


def test_a_track_first_seen_on_the_line_has_no_side_yet() -> None:
    scene = _cross("both", cooldown_s=0)
    _walk(scene, 1, [0.5, 0.51, 0.55, 0.6])  # appeared on the line, walked down
    assert scene.fired() == []
    _walk(scene, 1, [0.55, 0.5, 0.45], t0=4)
    assert scene.fired() == [(6, 1)]


def test_cross_respects_the_cooldown_per_track() -> None:
    scene = _cross("both", cooldown_s=60)
    _walk(scene, 1, DOWN)
    _walk(scene, 1, UP, t0=10)
    _walk(scene, 2, DOWN, t0=20, x=0.3)
    _walk(scene, 1, DOWN, t0=70)
    assert scene.fired() == [(4, 1), (24, 2), (74, 1)]


def test_untracked_detections_never_cross() -> None:
    scene = _cross("both")
    _walk(scene, -1, DOWN)
    assert scene.fired() == []


def test_two_tracks_crossing_in_the_same_frame_fire_in_row_order() -> None:
    scene = _cross("both")
    for i, (y1, y2) in enumerate(zip(DOWN, UP)):
        scene.at(i, obj(8, 0.3, y1), obj(3, 0.7, y2))
    assert [(t, h.tracker_id, h.index) for t, h in scene.hits] == [(4, 8, 0), (4, 3, 1)]
