from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from workers.pipeline.schedule import Schedule, TimeWindow, describe_days

PARIS, NEW_YORK = "Europe/Paris", "America/New_York"
FRI, SAT, SUN = 4, 5, 6


def _local(tz: str, year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a wall-clock time that exists exactly once in ``tz``."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(tz)).timestamp()


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc).timestamp()


def _active_minutes(schedule: Schedule, start: float, hours: int) -> list[float]:
    """The epoch minutes in ``hours`` hours from ``start`` at which the schedule is active."""
    minutes = [start + 60 * m for m in range(hours * 60)]
    return [m for m in minutes if schedule.active(m)]


def _night(days: list[int], tz: str = PARIS, start: str = "22:00", end: str = "06:00") -> Schedule:
    return Schedule.from_json([{"days": days, "start": start, "end": end}], tz)


# Parsing ------------------------------------------------------------------------------------


def test_it_parses_the_stored_json() -> None:
    schedule = Schedule.from_json(
        [{"days": [0, 1, 2, 3, 4], "start": "22:00", "end": "06:00"}, {"days": [6], "start": "00:00", "end": "00:00"}],
        PARIS,
    )
    assert schedule == Schedule(
        (
            TimeWindow(frozenset({0, 1, 2, 3, 4}), time(22, 0), time(6, 0)),
            TimeWindow(frozenset({6}), time(0, 0), time(0, 0)),
        ),
        PARIS,
    )


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ([], "A schedule is a non-empty list of {days, start, end} windows."),
        ("22:00-06:00", "A schedule is a non-empty list of {days, start, end} windows."),
        ([{"days": [1], "start": "22:00"}], "Window 1: a window has exactly these keys: days, start, end."),
        (
            [{"days": [1], "start": "22:00", "end": "06:00", "tz": "UTC"}],
            "Window 1: a window has exactly these keys: days, start, end.",
        ),
        ([{"days": [], "start": "22:00", "end": "06:00"}], "Window 1: days must be a non-empty list of day numbers"),
        ([{"days": 1, "start": "22:00", "end": "06:00"}], "Window 1: days must be a non-empty list of day numbers"),
        ([{"days": [1, 7], "start": "22:00", "end": "06:00"}], "Window 1: days are numbers from 0 (Monday) to 6"),
        ([{"days": [True], "start": "22:00", "end": "06:00"}], "Window 1: days are numbers from 0 (Monday) to 6"),
        (
            [{"days": [1], "start": "08:00", "end": "12:00"}, {"days": [1], "start": "7:00", "end": "12:00"}],
            "Window 2: start must be a time written HH:MM (00:00 to 23:59), got '7:00'.",
        ),
        ([{"days": [1], "start": "08:00", "end": "24:00"}], "Window 1: end must be a time written HH:MM"),
        ([{"days": [1], "start": "08:60", "end": "12:00"}], "Window 1: start must be a time written HH:MM"),
        ([{"days": [1], "start": 800, "end": "12:00"}], "Window 1: start must be a time written HH:MM"),
        ([{"days": [1], "start": "08:00 ", "end": "12:00"}], "Window 1: start must be a time written HH:MM"),
    ],
)
def test_it_rejects_bad_windows_with_a_clear_message(windows: object, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Schedule.from_json(windows, PARIS)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "../etc/passwd"])
def test_it_rejects_unknown_time_zones(tz: str) -> None:
    with pytest.raises(ValueError, match="Unknown time zone"):
        _night([1], tz)
    with pytest.raises(ValueError, match="Unknown time zone"):
        Schedule((), tz)


# Plain days --------------------------------------------------------------------------------


def test_a_daytime_window_includes_its_start_and_excludes_its_end() -> None:
    office = Schedule.from_json([{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30"}], PARIS)
    assert not office.active(_local(PARIS, 2024, 6, 5, 8, 59, 59))  # a Wednesday
    assert office.active(_local(PARIS, 2024, 6, 5, 9, 0))
    assert office.active(_local(PARIS, 2024, 6, 5, 17, 29, 59))
    assert not office.active(_local(PARIS, 2024, 6, 5, 17, 30))
    assert not office.active(_local(PARIS, 2024, 6, 8, 10, 0))  # Saturday


def test_the_camera_time_zone_decides_not_utc() -> None:
    office = Schedule.from_json([{"days": [2], "start": "09:00", "end": "10:00"}], NEW_YORK)
    assert office.active(_utc(2024, 6, 5, 13, 30))  # 09:30 in New York (EDT)
    assert not office.active(_utc(2024, 6, 5, 9, 30))  # 09:30 UTC is 05:30 there


def test_several_windows_add_up() -> None:
    split = Schedule.from_json(
        [{"days": [0], "start": "08:00", "end": "12:00"}, {"days": [0], "start": "14:00", "end": "18:00"}], PARIS
    )
    monday = [(h, split.active(_local(PARIS, 2024, 6, 3, h, 30))) for h in (7, 8, 11, 12, 13, 14, 17, 18)]
    assert [h for h, active in monday if active] == [8, 11, 14, 17]


# Past midnight -----------------------------------------------------------------------------


def test_a_window_past_midnight_belongs_to_the_day_it_starts_on() -> None:
    friday_night = _night([FRI])
    assert friday_night.active(_local(PARIS, 2024, 6, 7, 23, 0))  # Friday 23:00
    assert friday_night.active(_local(PARIS, 2024, 6, 8, 3, 0))  # Saturday 03:00: still Friday's night
    assert not friday_night.active(_local(PARIS, 2024, 6, 8, 6, 0))  # ends at 06:00
    assert not friday_night.active(_local(PARIS, 2024, 6, 8, 23, 0))  # Saturday night is not listed
    assert not friday_night.active(_local(PARIS, 2024, 6, 9, 3, 0))  # Sunday 03:00 belongs to Saturday
    assert not friday_night.active(_local(PARIS, 2024, 6, 7, 3, 0))  # Friday 03:00 belongs to Thursday
    assert not friday_night.active(_local(PARIS, 2024, 6, 7, 21, 59))
    assert _night([FRI, SAT]).active(_local(PARIS, 2024, 6, 9, 3, 0))


def test_sunday_night_runs_into_monday() -> None:
    sunday_night = _night([SUN], start="23:00", end="01:00")
    assert sunday_night.active(_local(PARIS, 2024, 6, 10, 0, 30))  # Monday 00:30
    assert not sunday_night.active(_local(PARIS, 2024, 6, 11, 0, 30))  # Tuesday 00:30


def test_equal_start_and_end_is_a_whole_day_from_the_start() -> None:
    sunday = Schedule.from_json([{"days": [SUN], "start": "00:00", "end": "00:00"}], PARIS)
    assert sunday.active(_local(PARIS, 2024, 6, 9, 0, 0))
    assert sunday.active(_local(PARIS, 2024, 6, 9, 23, 59, 59))
    assert not sunday.active(_local(PARIS, 2024, 6, 10, 0, 0))
    assert not sunday.active(_local(PARIS, 2024, 6, 8, 23, 59, 59))
    from_noon = Schedule.from_json([{"days": [SAT], "start": "12:00", "end": "12:00"}], PARIS)
    assert from_noon.active(_local(PARIS, 2024, 6, 9, 11, 59))
    assert not from_noon.active(_local(PARIS, 2024, 6, 9, 12, 0))


# Daylight saving ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "evening_utc", "first_utc", "last_utc"),
    [
        # Paris springs forward on Sunday 2024-03-31 at 02:00 CET: 22:00 CET → 06:00 CEST is 7 hours.
        (PARIS, (2024, 3, 30, 20, 0), (2024, 3, 30, 21, 0), (2024, 3, 31, 3, 59)),
        # New York springs forward on Sunday 2024-03-10 at 02:00 EST.
        (NEW_YORK, (2024, 3, 10, 2, 0), (2024, 3, 10, 3, 0), (2024, 3, 10, 9, 59)),
    ],
)
def test_the_spring_forward_night_is_an_hour_shorter(
    tz: str, evening_utc: tuple[int, int, int, int, int], first_utc: tuple[int, int, int, int, int],
    last_utc: tuple[int, int, int, int, int],
) -> None:
    active = _active_minutes(_night([SAT], tz), _utc(*evening_utc), 12)
    assert len(active) == 7 * 60
    assert (active[0], active[-1]) == (_utc(*first_utc), _utc(*last_utc))


@pytest.mark.parametrize(
    ("tz", "evening_utc", "first_utc", "last_utc"),
    [
        # Paris falls back on Sunday 2024-10-27 at 03:00 CEST: 22:00 CEST → 06:00 CET is 9 hours.
        (PARIS, (2024, 10, 26, 19, 0), (2024, 10, 26, 20, 0), (2024, 10, 27, 4, 59)),
        # New York falls back on Sunday 2024-11-03 at 02:00 EDT.
        (NEW_YORK, (2024, 11, 3, 1, 0), (2024, 11, 3, 2, 0), (2024, 11, 3, 10, 59)),
    ],
)
def test_the_fall_back_night_is_an_hour_longer(
    tz: str, evening_utc: tuple[int, int, int, int, int], first_utc: tuple[int, int, int, int, int],
    last_utc: tuple[int, int, int, int, int],
) -> None:
    active = _active_minutes(_night([SAT], tz), _utc(*evening_utc), 12)
    assert len(active) == 9 * 60
    assert (active[0], active[-1]) == (_utc(*first_utc), _utc(*last_utc))


def test_a_window_starting_in_the_skipped_hour_starts_when_the_clock_jumps() -> None:
    schedule = Schedule.from_json([{"days": [SUN], "start": "02:30", "end": "04:00"}], PARIS)
    active = _active_minutes(schedule, _utc(2024, 3, 30, 23, 0), 4)
    assert (active[0], active[-1], len(active)) == (_utc(2024, 3, 31, 1, 0), _utc(2024, 3, 31, 1, 59), 60)


def test_a_repeated_hour_is_in_the_window_both_times() -> None:
    schedule = Schedule.from_json([{"days": [SUN], "start": "02:00", "end": "02:30"}], PARIS)
    active = _active_minutes(schedule, _utc(2024, 10, 26, 23, 0), 4)
    first = [_utc(2024, 10, 27, 0, 0) + 60 * m for m in range(30)]  # 02:00-02:29 CEST
    second = [_utc(2024, 10, 27, 1, 0) + 60 * m for m in range(30)]  # 02:00-02:29 CET
    assert active == first + second


def test_new_york_midnight_wrap_on_the_fall_back_night() -> None:
    # Saturday 2024-11-02 23:00 EDT to Sunday 01:30, when 01:00-01:59 happens twice.
    schedule = Schedule.from_json([{"days": [SAT], "start": "23:00", "end": "01:30"}], NEW_YORK)
    active = _active_minutes(schedule, _utc(2024, 11, 3, 2, 0), 6)
    assert active[0] == _utc(2024, 11, 3, 3, 0)  # 23:00 EDT
    assert active[-1] == _utc(2024, 11, 3, 6, 29)  # 01:29 EST, the second 01:29
    assert not schedule.active(_utc(2024, 11, 3, 5, 30))  # 01:30 EDT: the wall clock says the window is over…
    assert schedule.active(_utc(2024, 11, 3, 6, 0))  # …until it turns back to 01:00 EST
    assert len(active) == 3 * 60
    assert not schedule.active(_utc(2024, 11, 3, 6, 30))


def test_every_night_of_a_year_lasts_eight_hours_except_the_changeover_nights() -> None:
    schedule = _night(list(range(7)))
    hours = {}
    for day in range(366):
        date = datetime(2024, 1, 1) + timedelta(days=day)
        noon = datetime(date.year, date.month, date.day, 12, tzinfo=ZoneInfo(PARIS)).timestamp()
        hours[date.strftime("%m-%d")] = sum(schedule.active(noon + 60 * m) for m in range(0, 24 * 60, 15)) / 4
    assert {d: h for d, h in hours.items() if h != 8.0} == {"03-30": 7.0, "10-26": 9.0}


# Describing ----------------------------------------------------------------------------------


def test_it_describes_itself_for_people() -> None:
    assert _night([0, 1, 2, 3, 4]).describe() == "Mon-Fri 22:00-06:00 (Europe/Paris)"
    mixed = Schedule.from_json(
        [
            {"days": [0, 2, 4, 5, 6], "start": "08:00", "end": "12:30"},
            {"days": [5, 6], "start": "00:00", "end": "00:00"},
        ],
        NEW_YORK,
    )
    assert mixed.describe() == "Mon, Wed, Fri-Sun 08:00-12:30, Sat-Sun all day (America/New_York)"
    assert describe_days(frozenset(range(7))) == "Every day"
    assert describe_days(frozenset({3})) == "Thu"
