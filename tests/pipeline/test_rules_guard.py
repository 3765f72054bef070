"""The stationary-object guard (a parked car lost and found again by the tracker) and schedules."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from workers.pipeline.rules import RuleSpec, Trigger, Tuning
from workers.pipeline.schedule import Schedule

from .test_rules import CAR, INSIDE, OUTSIDE, PERSON, T0, Obj, Scene, obj, rule, seconds

SPOT, OTHER_SPOT = (0.3, 0.5), (0.5, 0.3)
"""Where the parked car stands (bottom centre), and another place, both in the zone."""


def _car(track: int, spot: tuple[float, float] = SPOT, jitter: float = 0.0) -> Obj:
    return obj(track, spot[0] + jitter, spot[1], cls=CAR, w=0.12, h=0.08)


def _parked(scene: Scene, track: int = 1, until: float = 30) -> None:
    """The car stands at SPOT from 0 to ``until`` with a little detector jitter, then the tracker loses it."""
    for t in seconds(0, until):
        scene.at(t, _car(track, jitter=0.002 * (int(t) % 3)))
    scene.during(seconds(until + 1, until + 10))  # lost at until + 6


def _car_rule(trigger: Trigger = "seen", **kwargs: Any) -> RuleSpec:
    return rule(trigger, class_ids=frozenset({CAR, PERSON}), **kwargs)


def test_a_parked_car_found_again_does_not_fire_again() -> None:
    scene = Scene(_car_rule("seen", cooldown_s=60))
    _parked(scene)
    scene.during(seconds(600, 700), _car(2, jitter=0.003))
    assert scene.fired() == [(0, 1)]


def test_without_the_guard_the_car_found_again_fires_again() -> None:
    scene = Scene(_car_rule("seen", cooldown_s=60, stationary_guard=False))
    _parked(scene)
    scene.during(seconds(600, 601), _car(2))
    assert scene.fired() == [(0, 1), (600, 2)]


def test_a_different_car_elsewhere_or_a_person_on_the_spot_still_fire() -> None:
    scene = Scene(_car_rule("seen"))
    _parked(scene)
    scene.at(600, _car(2, OTHER_SPOT), obj(3, *SPOT, w=0.04, h=0.08, cls=PERSON), obj(4, 0.33, 0.5, cls=PERSON))
    assert scene.fired() == [(0, 1), (600, 2), (600, 3), (600, 4)]


def test_a_car_found_again_before_the_old_track_is_even_lost_does_not_fire() -> None:
    scene = Scene(_car_rule("seen"))
    scene.during(seconds(0, 30), _car(1))
    scene.during(seconds(32, 60), _car(2))  # a truck hid it for 2 s; the tracker gave it a new id
    scene.during(seconds(61, 70))  # both lost
    scene.during(seconds(600, 601), _car(3))  # the memory was taken by track 2, then left by it still
    assert scene.fired() == [(0, 1)]


def test_a_car_taken_over_by_a_new_track_frees_its_spot_when_it_drives_off() -> None:
    scene = Scene(_car_rule("seen"))
    scene.during(seconds(0, 30), _car(1))
    scene.during(seconds(32, 60), _car(2))  # found again while track 1 is only missing
    for i, t in enumerate(seconds(61, 65)):  # then it drives off
        scene.at(t, _car(2, (SPOT[0] + 0.05 * (i + 1), SPOT[1])))
    scene.during(seconds(66, 75))
    scene.at(600, _car(3))  # another car on the spot
    assert scene.fired() == [(0, 1), (600, 3)]


def test_a_new_track_where_a_walking_one_vanished_is_not_guarded() -> None:
    scene = Scene(_car_rule("seen"))
    for i, t in enumerate(seconds(0, 5)):
        scene.at(t, obj(1, 0.25 + 0.05 * i, 0.4))
    scene.at(6.5, obj(2, 0.5, 0.4))  # someone else where track 1 was last seen, a moment later
    assert scene.fired() == [(0, 1), (6.5, 2)]


def test_a_parked_car_that_never_fired_is_not_remembered() -> None:
    scene = Scene(_car_rule("loiter", duration_s=60))
    _parked(scene)  # 30 s: not long enough to loiter
    scene.during(seconds(100, 160), _car(2))
    assert scene.fired() == [(160, 2)]


def test_a_car_that_drove_off_is_not_remembered() -> None:
    scene = Scene(_car_rule("seen"))
    scene.during(seconds(0, 30), _car(1))
    for i, t in enumerate(seconds(31, 35)):  # it leaves, moving, and vanishes
        scene.at(t, _car(1, (SPOT[0] + 0.05 * (i + 1), SPOT[1])))
    scene.during(seconds(36, 45))
    scene.at(600, _car(2, (SPOT[0] + 0.25, SPOT[1])))  # another car parks where it was last seen
    assert scene.fired() == [(0, 1), (600, 2)]


def test_a_car_that_parked_is_stationary_after_standing_still_for_a_while() -> None:
    scene = Scene(_car_rule("seen"))
    for i, t in enumerate(seconds(0, 5)):  # drives in (into the zone at 3)
        scene.at(t, _car(1, (SPOT[0] - 0.25 + 0.05 * i, SPOT[1])))
    scene.during(seconds(6, 30), _car(1))  # parks for 25 s
    scene.during(seconds(31, 40))
    scene.at(600, _car(2))
    assert scene.fired() == [(3, 1)]


def test_the_memory_of_a_parked_car_lasts_half_an_hour() -> None:
    first, later = Scene(_car_rule("seen")), Scene(_car_rule("seen"))
    for scene in (first, later):
        _parked(scene)  # lost at 36
    first.at(36 + 1800, _car(2))
    later.at(36 + 1801, _car(2))
    assert first.fired() == [(0, 1)] and later.fired() == [(0, 1), (1837, 2)]


def test_the_memory_is_configurable() -> None:
    scene = Scene(_car_rule("seen"), tuning=Tuning(parked_memory_s=60))
    _parked(scene)
    scene.at(97, _car(2))
    assert scene.fired() == [(0, 1), (97, 2)]


def test_a_car_found_again_and_again_never_fires_again() -> None:
    scene = Scene(_car_rule("seen"))
    _parked(scene)
    for track, start in ((2, 100), (3, 200), (4, 300)):
        scene.during(seconds(start, start + 20), _car(track))
        scene.during(seconds(start + 21, start + 30))
    assert scene.fired() == [(0, 1)]


def test_a_car_found_again_that_drives_off_frees_its_spot() -> None:
    scene = Scene(_car_rule("seen"))
    _parked(scene)
    scene.during(seconds(100, 120), _car(2))
    for i, t in enumerate(seconds(121, 125)):
        scene.at(t, _car(2, (SPOT[0] + 0.05 * (i + 1), SPOT[1])))
    scene.during(seconds(126, 135))
    scene.at(200, _car(3))
    assert scene.fired() == [(0, 1), (200, 3)]


@pytest.mark.parametrize(("trigger", "first_hit"), [("enter", 1), ("loiter", 5), ("seen", 0)])
def test_the_guard_covers_seen_enter_and_loiter(trigger: Trigger, first_hit: float) -> None:
    scene = Scene(_car_rule(trigger, duration_s=5, cooldown_s=1000))
    _parked(scene)
    scene.during(seconds(600, 700), _car(2))
    assert scene.fired() == [(first_hit, 1)]


def test_a_car_found_again_still_fires_leave_when_it_drives_out() -> None:
    scene = Scene(_car_rule("leave"))
    _parked(scene)  # lost standing still: it has not left
    scene.during(seconds(100, 120), _car(2))
    scene.during([121, 122], _car(2, OUTSIDE))
    assert scene.fired() == [(122, 2)]


# schedules -----------------------------------------------------------------------------------------

MONDAY_EVENING = datetime(2024, 6, 3, 21, 59, 50, tzinfo=ZoneInfo("Europe/Paris")).timestamp() - T0
"""Ten seconds before a Monday 22:00-06:00 window opens, in scene seconds."""
NIGHTS = Schedule.from_json([{"days": [0], "start": "22:00", "end": "06:00"}], "Europe/Paris")


def _night(trigger: Trigger, **kwargs: Any) -> Scene:
    return Scene(rule(trigger, schedule=NIGHTS, **kwargs))


def test_a_loiter_that_started_before_the_window_fires_when_it_opens() -> None:
    scene = _night("loiter", duration_s=5)
    scene.during(seconds(MONDAY_EVENING, MONDAY_EVENING + 12), obj(1, *INSIDE))
    assert scene.fired() == [(MONDAY_EVENING + 10, 1)]
    evidence = scene.hits[0][1].evidence
    assert evidence["dwell_s"] == 10.0 and evidence["schedule"] == "Mon 22:00-06:00 (Europe/Paris)"


def test_seen_fires_when_the_window_opens_on_an_object_already_there() -> None:
    scene = _night("seen")
    scene.during(seconds(MONDAY_EVENING, MONDAY_EVENING + 12), obj(1, *INSIDE))
    assert scene.fired() == [(MONDAY_EVENING + 10, 1)]


def test_an_enter_before_the_window_is_not_reported_when_it_opens() -> None:
    scene = _night("enter")
    scene.during(seconds(MONDAY_EVENING, MONDAY_EVENING + 12), obj(1, *INSIDE))
    scene.during(seconds(MONDAY_EVENING + 12, MONDAY_EVENING + 14), obj(2, *INSIDE))
    assert scene.fired() == [(MONDAY_EVENING + 13, 2)]


def test_absence_and_count_that_hold_when_the_window_opens_fire_then() -> None:
    absence = _night("absence", duration_s=5)
    absence.during(seconds(MONDAY_EVENING, MONDAY_EVENING + 12))
    count = _night("count", duration_s=5)
    count.during(seconds(MONDAY_EVENING, MONDAY_EVENING + 12), obj(1, *INSIDE))
    assert [t for t, _ in absence.hits] == [MONDAY_EVENING + 10]
    assert [t for t, _ in count.hits] == [MONDAY_EVENING + 10]
    assert absence.hits[0][1].evidence["empty_since"] == T0 + MONDAY_EVENING


def test_nothing_fires_after_the_window_closes() -> None:
    tuesday_morning = MONDAY_EVENING + 8 * 3600  # 05:59:50
    scene = _night("seen", cooldown_s=1)
    scene.during(seconds(tuesday_morning, tuesday_morning + 20, 5), obj(1, *INSIDE))
    assert [t - tuesday_morning for t, _ in scene.hits] == [0, 5]
