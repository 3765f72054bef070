"""When a rule is armed: weekly time windows on the camera's wall clock.

The wall clock in the camera's time zone decides, whatever daylight saving does:
"22:00-06:00" starts at 22:00 local time and ends at 06:00 local time, so such a
night lasts 7 hours on the spring-forward night and 9 on the fall-back one; on the
spring-forward day a window starting in the skipped hour starts when the clock jumps
past it, and on the fall-back day a repeated hour is inside a window both times.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_WINDOW_KEYS = {"days", "start", "end"}


@dataclass(frozen=True)
class TimeWindow:
    days: frozenset[int]
    """0 = Monday … 6 = Sunday: the days the window STARTS on."""
    start: time
    end: time
    """``end <= start``: the window runs past midnight into the next day (equal: 24 hours)."""

    def covers(self, local: datetime) -> bool:
        """Whether the wall-clock time ``local`` falls in this window."""
        day, clock = local.weekday(), local.time()
        if self.start < self.end:
            return day in self.days and self.start <= clock < self.end
        # Past midnight: the evening part belongs to its own day, the morning part to the day before.
        return (day in self.days and clock >= self.start) or ((day - 1) % 7 in self.days and clock < self.end)

    def describe(self) -> str:
        """``"Mon-Fri 22:00-06:00"``; a midnight-to-midnight window is ``"Sat-Sun all day"``."""
        if self.start == self.end == time(0, 0):
            return f"{describe_days(self.days)} all day"
        return f"{describe_days(self.days)} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Schedule:
    windows: tuple[TimeWindow, ...]
    timezone: str
    """IANA name, e.g. ``"Europe/Paris"``."""

    def __post_init__(self) -> None:
        _zone(self.timezone)  # fail on construction, not on the first frame

    @classmethod
    def from_json(cls, windows: Any, timezone: str) -> Schedule:
        """Parse ``[{"days": [0, 1, 2, 3, 4], "start": "22:00", "end": "06:00"}, ...]``.

        Raises ValueError with a message meant for the person who wrote the schedule.
        """
        if not isinstance(windows, Sequence) or isinstance(windows, str) or not windows:
            raise ValueError("A schedule is a non-empty list of {days, start, end} windows.")
        return cls(tuple(_window(w, n) for n, w in enumerate(windows, start=1)), timezone)

    def active(self, at: float) -> bool:
        """Whether the rule is armed at ``at`` (Unix epoch seconds)."""
        local = datetime.fromtimestamp(at, _zone(self.timezone))
        return any(w.covers(local) for w in self.windows)

    def describe(self) -> str:
        """A short summary for people: ``"Mon-Fri 22:00-06:00 (Europe/Paris)"``."""
        return f"{', '.join(w.describe() for w in self.windows)} ({self.timezone})"


def describe_days(days: frozenset[int]) -> str:
    """``"Mon-Fri"``, ``"Mon, Wed, Fri-Sun"``, ``"Every day"``."""
    if len(days) == 7:
        return "Every day"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        DAY_NAMES[run[0]] if len(run) == 1 else f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}" for run in runs
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
        raise ValueError(f"Unknown time zone {name!r}: use an IANA name such as Europe/Paris.") from err


def _window(value: Any, number: int) -> TimeWindow:
    where = f"Window {number}"
    if not isinstance(value, dict) or set(value) != _WINDOW_KEYS:
        raise ValueError(f"{where}: a window has exactly these keys: days, start, end.")
    days = value["days"]
    if not isinstance(days, list) or not days:
        raise ValueError(f"{where}: days must be a non-empty list of day numbers (0 = Monday … 6 = Sunday).")
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days):
        raise ValueError(f"{where}: days are numbers from 0 (Monday) to 6 (Sunday), got {days}.")
    return TimeWindow(frozenset(days), _clock(value["start"], where, "start"), _clock(value["end"], where, "end"))


def _clock(value: Any, where: str, name: str) -> time:
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{where}: {name} must be a time written HH:MM (00:00 to 23:59), got {value!r}.")
    return time(int(match[1]), int(match[2]))
