"""Rules: pure functions from (rule, detections, time, state) to hits and the next state.

State is explicit and immutable from the caller's point of view, so the same inputs
always give the same hits, a worker can persist or drop it freely, and tests need no
clock or mocks. ``evaluate`` reads no clock and draws no random numbers. The state is
bounded whatever the scene does: tracks unseen for ``Tuning.forget_after_s`` are
dropped, at most ``Tuning.max_tracks`` are kept, paths and past visits are capped.

How each trigger behaves, and why (docs/rules-contract.md has the API):

- A track is followed through the detections of the rule's classes at
  ``min_confidence`` or more; a frame where it is missing, or below that confidence,
  is a gap, not a departure. After ``Tuning.lost_after_s`` without it the track is
  lost: its visit ends. Untracked detections (``tracker_id`` -1) never fire
  track-based triggers: without an id a new object cannot be told from a known one.
- Zone membership is debounced: a track's anchor has to be on the other side of the
  zone's edge for ``Tuning.debounce`` observations in a row before it counts as
  inside (or outside), so jitter on an edge fires nothing; gaps do not break a run.
  The visit starts (``entered_at``) at the first of those observations.
- seen: fires for a track whose anchor is in the area in this frame (no debounce),
  once per track, and again every ``cooldown_s`` while it stays.
- enter: fires when a track becomes inside. A track first seen already inside counts
  as entering: objects appear from doors and from behind things inside zones (the
  stationary guard stops a parked car re-found by the tracker from firing again).
- leave: fires when a track becomes outside, or when it is lost while inside (it
  walked out of the picture, or out of sight), at ``Tuning.lost_after_s`` after it was
  last seen, with ``index`` -1 as it is not in the frame. ``left_at`` is its first
  observation outside, or when it was last seen if it vanished inside. With
  ``stationary_guard`` a track that is lost standing still does not count as leaving:
  a parked car lost by the detector is still there.
- loiter: fires once per visit, on a frame that sees the track inside, once it has
  been inside for ``duration_s``. Held back by the cooldown or the schedule, it fires
  as soon as they allow, if the visit goes on.
- cross: fires when a track's anchor goes through the line segment from one side to
  the other in the rule's direction. A side counts only once the anchor is at least
  ``Tuning.cross_margin`` of the frame diagonal away from the line, so wandering
  back and forth around the line fires nothing; going around an end of the line is
  not a crossing.
- count: fires when at least ``min_count`` tracks have been inside together for
  ``duration_s`` (a briefly occluded track still counts until it is lost). Then not
  again until the count has dropped below ``min_count`` and risen again (and held
  ``duration_s`` again), or every ``cooldown_s`` while it stays up.
- absence: fires when no object of the classes has been in the zone for
  ``duration_s``, once per empty spell, and not within ``cooldown_s`` of the previous
  absence hit. Any detection of the classes in the zone (tracked or not) or a tracked
  object inside that is not lost yet ends the spell. The engine starts knowing
  nothing, so the first empty spell starts at the first evaluated frame: the caller
  must call ``evaluate`` regularly, with empty detections too, or time does not pass.

All triggers: hits only while the schedule is active, but the state follows the scene
all the time. Conditions (seen, loiter, count, absence) that hold when the window opens
fire then; time in the zone spent before counts. Events (enter, leave, cross) that
happen outside the window are not reported later. ``cooldown_s`` is per track for the
track-based triggers: a track fires again only ``cooldown_s`` after its last hit.

Stationary guard: when a track that fired (or was itself guarded) is lost having
barely moved (its box stayed put for ``Tuning.still_min_s``, or all its life), its
class and box are remembered for ``Tuning.parked_memory_s``. A new track of that class
whose box overlaps a remembered one (IoU >= ``Tuning.parked_iou``), or overlaps such a
still track that is missing right now, is the same object found again: it never fires
seen, enter or loiter. A memory is used up by the track that takes it over, which is
remembered in turn if it is lost still, and forgotten if it drives off.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.geometry import (
    Anchor,
    Direction,
    Point,
    anchor_points,
    box_iou,
    normalised_boxes,
    points_in_polygon,
    segment_intersection,
    signed_distances,
)
from workers.pipeline.schedule import Schedule

Trigger = Literal["seen", "enter", "leave", "loiter", "cross", "count", "absence"]
Box = tuple[float, float, float, float]
"""Normalised x1, y1, x2, y2."""

_ZONE_TRIGGERS = frozenset({"enter", "leave", "loiter", "count", "absence"})
"""Triggers that follow each track's debounced zone membership."""
_GUARDED_TRIGGERS = frozenset({"seen", "enter", "loiter"})
"""Triggers the stationary guard silences for a re-found parked object."""


@dataclass(frozen=True)
class Area:
    id: int
    name: str
    kind: Literal["zone", "line"]
    points: tuple[Point, ...]
    """Zone: 3 points or more; line: exactly 2 (A, B)."""
    direction: Direction = "both"
    """Lines only."""

    def __post_init__(self) -> None:
        if self.kind == "line" and len(self.points) != 2:
            raise ValueError(f"line {self.name!r} needs exactly 2 points, got {len(self.points)}")
        if self.kind == "zone" and len(self.points) < 3:
            raise ValueError(f"zone {self.name!r} needs at least 3 points, got {len(self.points)}")


@dataclass(frozen=True)
class RuleSpec:
    rule_id: int
    name: str
    trigger: Trigger
    class_ids: frozenset[int]
    min_confidence: float = 0.5
    area: Area | None = None
    """``None``: the whole frame. "cross" needs a line; the others a zone or the whole frame."""
    anchor: Anchor = "bottom_center"
    duration_s: float = 0.0
    """loiter: in the zone for; count: count held for; absence: empty for."""
    min_count: int = 1
    """count only."""
    cooldown_s: float = 60.0
    schedule: Schedule | None = None
    """``None``: always active."""
    stationary_guard: bool = True

    def __post_init__(self) -> None:
        is_line = self.area is not None and self.area.kind == "line"
        if (self.trigger == "cross") != is_line:
            raise ValueError(f"rule {self.name!r}: a line goes with the cross trigger, and only with it")
        if self.duration_s < 0 or self.cooldown_s < 0 or self.min_count < 1:
            raise ValueError(f"rule {self.name!r}: durations must not be negative and min_count must be >= 1")


@dataclass(frozen=True)
class RuleHit:
    rule_id: int
    tracker_id: int
    """-1 for count and absence hits (not about one track)."""
    index: int
    """Row of the hit in the evaluated :class:`Detections`, -1 when none."""
    confidence: float
    """0.0 when ``index`` is -1."""
    class_id: int
    """-1 when ``index`` is -1."""
    evidence: dict[str, Any]
    """JSON-serialisable, see docs/rules-contract.md."""


@dataclass(frozen=True)
class Tuning:
    """The engine's constants; workers run the defaults, tests may pass others."""

    debounce: int = 2
    """Observations in a row on the other side of a zone's edge to switch inside/outside."""
    lost_after_s: float = 5.0
    """A track unseen for longer is lost (its visit ends). Keep above the tracker's lost-track buffer."""
    forget_after_s: float = 300.0
    """A track unseen for longer is dropped from the state (its cooldown with it)."""
    max_tracks: int = 1000
    """The least recently seen tracks beyond this are dropped, whatever the scene does."""
    cross_margin: float = 0.01
    """How far past a line (fraction of the frame diagonal) an anchor must be to be on a side."""
    still_iou: float = 0.7
    """A box overlapping where the track came to rest at least this much has not moved."""
    still_min_s: float = 10.0
    """A track lost after resting this long (or resting all its life) was stationary."""
    parked_memory_s: float = 1800.0
    """How long a stationary object lost by the tracker is remembered."""
    parked_iou: float = 0.5
    """Overlap with a remembered object that makes a new track the same object."""
    max_parked: int = 256
    path_points: int = 64
    """Most points of a track path kept (and put in evidence)."""
    max_visits: int = 16
    """Most past in-zone intervals kept per track."""

    def __post_init__(self) -> None:
        if self.debounce < 1 or self.forget_after_s < self.lost_after_s or self.path_points < 2:
            raise ValueError("debounce >= 1, forget_after_s >= lost_after_s and path_points >= 2 are required")


DEFAULT_TUNING = Tuning()


@dataclass(frozen=True)
class _Zone:
    """A track's debounced membership of the rule's zone."""

    inside: bool = False
    streak: int = 0
    """Observations in a row on the other side than ``inside``."""
    switch_at: float = 0.0
    """Time of the first of those observations (meaningful when ``streak`` > 0)."""
    entered_at: float | None = None
    """Start of the current visit, while inside."""
    visits: tuple[tuple[float, float], ...] = ()
    """Past visits, oldest first."""
    loitered: bool = False
    """The loiter hit of the current visit has fired."""


@dataclass(frozen=True)
class _Line:
    """A track's confirmed side of the rule's line (-1 left, +1 right, 0 not yet known)."""

    side: int = 0
    through: Point | None = None
    """Where the path last went through the segment since the side was confirmed."""


@dataclass(frozen=True)
class _Track:
    class_id: int
    first_seen: float
    last_seen: float
    box: Box
    path: tuple[tuple[float, float, float], ...]
    """(t, x, y) of the anchor, oldest first; thinned when full, so it spans the whole track."""
    rest_box: Box
    rest_since: float
    zone: _Zone = _Zone()
    line: _Line = _Line()
    fired_at: float | None = None
    guarded: bool = False
    """Found again where a stationary object that fired was lost: the same object."""
    lost: bool = False

    @property
    def point(self) -> Point:
        return (self.path[-1][1], self.path[-1][2])

    def stationary(self, tuning: Tuning) -> bool:
        """Whether the track has barely moved lately (or at all): a parked object."""
        return self.rest_since == self.first_seen or self.last_seen - self.rest_since >= tuning.still_min_s


@dataclass(frozen=True)
class _Parked:
    """A stationary object the tracker lost, remembered so it does not fire again when found."""

    class_id: int
    box: Box
    until: float


@dataclass(frozen=True)
class _Spell:
    """Count and absence: since when their condition holds, and their hits."""

    since: float | None = None
    fired: bool = False
    """Fired during this spell."""
    last_hit: float | None = None


@dataclass(frozen=True)
class RuleState:
    """What one rule remembers between frames; ``RuleState()`` is the empty state. Opaque."""

    tracks: Mapping[int, _Track] = field(default_factory=dict)
    parked: tuple[_Parked, ...] = ()
    spell: _Spell = _Spell()


@dataclass(frozen=True)
class ObjectFilter:
    min_confidence: float = 0.0
    min_area: float = 0.0
    """Box area as a fraction of the frame area."""
    max_area: float = 1.0


def filter_objects(
    detections: Detections,
    frame_size: tuple[int, int],
    filters: Mapping[int, ObjectFilter] | None,
    object_masks: Sequence[np.ndarray],
) -> Detections:
    """Detector output without the objects the camera is not interested in.

    ``filters``: class id → filter; ``None`` lets every class through, and a class
    missing from a mapping is dropped. A detection whose bottom-centre lies in one of
    ``object_masks`` (normalised polygons; the edge counts as inside) is dropped.
    """
    width, height = frame_size
    keep = np.ones(len(detections), bool) if filters is None else _passing(detections, width, height, filters)
    if object_masks:
        feet = anchor_points(detections.xyxy, "bottom_center", width, height)
        for mask in object_masks:
            keep &= ~points_in_polygon(feet, mask)
    return detections[keep]


def _passing(detections: Detections, width: int, height: int, filters: Mapping[int, ObjectFilter]) -> np.ndarray:
    """Rows of a listed class that pass their class's filter (box area measured inside the frame)."""
    boxes = normalised_boxes(detections.xyxy, width, height)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    passing = np.zeros(len(detections), bool)
    for class_id, f in filters.items():
        passing |= (
            (detections.class_id == class_id)
            & (detections.confidence >= f.min_confidence)
            & (area >= f.min_area)
            & (area <= f.max_area)
        )
    return passing


def evaluate(
    rule: RuleSpec,
    detections: Detections,
    frame_size: tuple[int, int],
    now: float,
    state: RuleState,
    *,
    tuning: Tuning = DEFAULT_TUNING,
) -> tuple[list[RuleHit], RuleState]:
    """Hits of ``rule`` on one frame's tracked ``detections`` (pixel boxes) captured at ``now``.

    ``frame_size`` is (width, height); ``now`` is Unix epoch seconds and must not go
    back between calls with the same state. ``state`` is left untouched.
    """
    width, height = frame_size
    if width <= 0 or height <= 0:
        raise ValueError(f"frame_size must be positive, got {frame_size}")
    return _Pass(rule, _View.of(rule, detections, frame_size, tuning), now, state, tuning).run()


@dataclass(frozen=True)
class _View:
    """One frame's detections of the rule's classes at its confidence, normalised."""

    rows: np.ndarray
    """Their rows in the evaluated Detections."""
    detections: Detections
    anchors: np.ndarray
    boxes: np.ndarray
    inside: np.ndarray
    """Anchor in the zone (always True for the whole frame, never for a line)."""
    distances: np.ndarray
    """Lines: signed distance in pixels from the line; zones: zeros."""
    margin: float
    """Lines: distance from the line (pixels) that confirms a side."""

    @classmethod
    def of(cls, rule: RuleSpec, detections: Detections, frame_size: tuple[int, int], tuning: Tuning) -> _View:
        width, height = frame_size
        matching = np.isin(detections.class_id, list(rule.class_ids)) & (detections.confidence >= rule.min_confidence)
        rows = np.flatnonzero(matching)
        anchors = anchor_points(detections.xyxy[rows], rule.anchor, width, height)
        area = rule.area
        inside = np.ones(len(rows), bool)
        distances = np.zeros(len(rows))
        if area is not None and area.kind == "zone":
            inside = points_in_polygon(anchors, np.asarray(area.points))
        elif area is not None:
            inside = np.zeros(len(rows), bool)
            distances = signed_distances(anchors, area.points[0], area.points[1], width, height)
        return cls(
            rows=rows,
            detections=detections,
            anchors=anchors,
            boxes=normalised_boxes(detections.xyxy[rows], width, height),
            inside=inside,
            distances=distances,
            margin=tuning.cross_margin * math.hypot(width, height),
        )

    def tracked(self) -> list[tuple[int, int]]:
        """(tracker id, position in this view) of each track, its best detection if it has several, in row order."""
        ids = self.detections.tracker_id[self.rows]
        confidence = self.detections.confidence[self.rows]
        best: dict[int, int] = {}
        for k in sorted(range(len(self.rows)), key=lambda k: (-confidence[k], k)):
            tracker_id = int(ids[k])
            if tracker_id != UNTRACKED:
                best.setdefault(tracker_id, k)
        return sorted(best.items(), key=lambda item: item[1])

    def row(self, k: int) -> tuple[int, float, int]:
        """(row, confidence, class id) of position ``k``."""
        row = int(self.rows[k])
        return row, float(self.detections.confidence[row]), int(self.detections.class_id[row])


@dataclass(frozen=True)
class _Crossing:
    point: Point
    direction: Literal["a_to_b", "b_to_a"]


class _Pass:
    """One call of :func:`evaluate`; works on copies, never on the caller's state."""

    def __init__(self, rule: RuleSpec, view: _View, now: float, state: RuleState, tuning: Tuning) -> None:
        self.rule, self.view, self.now, self.tuning, self.state = rule, view, now, tuning, state
        self.active = rule.schedule is None or rule.schedule.active(now)
        self.tracks = dict(state.tracks)
        self.parked = [p for p in state.parked if p.until >= now]
        self.hits: list[RuleHit] = []

    def run(self) -> tuple[list[RuleHit], RuleState]:
        present = dict(self.view.tracked())
        for tracker_id, k in present.items():
            self._observe(tracker_id, k, present)
        for tracker_id in sorted(self.tracks.keys() - present.keys()):
            self._check_lost(tracker_id, present)
        spell = self.state.spell
        if self.rule.trigger == "count":
            spell = self._count(spell, present)
        elif self.rule.trigger == "absence":
            spell = self._absence(spell)
        return self.hits, RuleState(self._bounded_tracks(), tuple(self.parked[-self.tuning.max_parked :]), spell)

    # Tracks ---------------------------------------------------------------------------

    def _observe(self, tracker_id: int, k: int, present: Mapping[int, int]) -> None:
        previous = self.tracks.get(tracker_id)
        track = self._start(k, present) if previous is None else self._moved(previous, k)
        entered = left = False
        crossing = None
        if self.rule.trigger in _ZONE_TRIGGERS:
            track, entered, left = self._update_zone(track, bool(self.view.inside[k]))
        if self.rule.trigger == "cross":
            track, crossing = self._update_line(track, previous, k)
        self.tracks[tracker_id] = self._fire_track(tracker_id, k, track, entered, left, crossing)

    def _start(self, k: int, present: Mapping[int, int]) -> _Track:
        box = _box(self.view.boxes[k])
        x, y = self.view.anchors[k]
        track = _Track(
            class_id=self.view.row(k)[2],
            first_seen=self.now,
            last_seen=self.now,
            box=box,
            path=((self.now, float(x), float(y)),),
            rest_box=box,
            rest_since=self.now,
        )
        if self.rule.stationary_guard and self._found_again(track, present):
            track = replace(track, guarded=True)
        return track

    def _moved(self, track: _Track, k: int) -> _Track:
        box = _box(self.view.boxes[k])
        x, y = self.view.anchors[k]
        rest_box, rest_since = track.rest_box, track.rest_since
        if box_iou(box, rest_box) < self.tuning.still_iou:
            rest_box, rest_since = box, self.now
        return replace(
            track,
            class_id=self.view.row(k)[2],
            last_seen=self.now,
            box=box,
            path=_thinned(track.path + ((self.now, float(x), float(y)),), self.tuning.path_points),
            rest_box=rest_box,
            rest_since=rest_since,
            lost=False,
        )

    def _found_again(self, track: _Track, present: Mapping[int, int]) -> bool:
        """Whether a new track is a remembered (or missing) stationary object; uses up the memory."""
        matched = [p for p in self.parked if self._same_object(p, track.class_id, track.box)]
        if matched:
            self.parked = [p for p in self.parked if p not in matched]
            return True
        return any(
            _worth_guarding(other)
            and not other.lost
            and other.stationary(self.tuning)
            and self._same_object(other, track.class_id, track.box)
            for tracker_id, other in self.tracks.items()
            if tracker_id not in present
        )

    def _same_object(self, known: _Track | _Parked, class_id: int, box: Box) -> bool:
        return known.class_id == class_id and box_iou(known.box, box) >= self.tuning.parked_iou

    def _update_zone(self, track: _Track, inside_now: bool) -> tuple[_Track, bool, bool]:
        """The track's zone membership after one observation, and whether it entered or left."""
        zone = track.zone
        if inside_now == zone.inside:
            return replace(track, zone=replace(zone, streak=0)), False, False
        switch_at = self.now if zone.streak == 0 else zone.switch_at
        if zone.streak + 1 < self.tuning.debounce:
            return replace(track, zone=replace(zone, streak=zone.streak + 1, switch_at=switch_at)), False, False
        if inside_now:
            visit = replace(zone, inside=True, streak=0, entered_at=switch_at, loitered=False)
            return replace(track, zone=visit), True, False
        return replace(track, zone=self._closed(zone, switch_at)), False, True

    def _closed(self, zone: _Zone, left_at: float) -> _Zone:
        visit = ((zone.entered_at if zone.entered_at is not None else left_at, left_at),)
        visits = (zone.visits + visit)[-self.tuning.max_visits :]
        return _Zone(visits=visits)

    def _update_line(self, track: _Track, previous: _Track | None, k: int) -> tuple[_Track, _Crossing | None]:
        area = self.rule.area
        assert area is not None  # RuleSpec pairs cross with a line
        a, b = area.points
        line = track.line
        through = line.through
        if previous is not None:
            step = segment_intersection(previous.point, track.point, a, b)
            through = through if step is None else step
        distance = float(self.view.distances[k])
        if abs(distance) < self.view.margin:
            return replace(track, line=_Line(line.side, through)), None
        side = 1 if distance > 0 else -1
        crossing = None
        if line.side not in (0, side) and through is not None:
            crossing = _Crossing(through, "a_to_b" if side > 0 else "b_to_a")
        return replace(track, line=_Line(side, None)), crossing

    def _check_lost(self, tracker_id: int, present: Mapping[int, int]) -> None:
        track = self.tracks[tracker_id]
        if track.lost or self.now - track.last_seen <= self.tuning.lost_after_s:
            return
        zone = track.zone
        stationary = self.rule.stationary_guard and track.stationary(self.tuning)
        if stationary and _worth_guarding(track):
            self._remember(track, present)
        if zone.inside:
            left_at = zone.switch_at if zone.streak else track.last_seen
            closed = self._closed(zone, left_at)
            self.tracks[tracker_id] = track = replace(track, zone=closed, lost=True)
            if self.rule.trigger == "leave" and not stationary:
                self._fire_lost_leave(tracker_id, track, left_at)
        else:
            self.tracks[tracker_id] = replace(track, zone=replace(zone, streak=0), lost=True)

    def _remember(self, track: _Track, present: Mapping[int, int]) -> None:
        """Remember a lost stationary object, unless a present track already took it over."""
        taken_over = any(self._same_object(self.tracks[t], track.class_id, track.box) for t in present)
        if not taken_over:
            self.parked.append(_Parked(track.class_id, track.box, self.now + self.tuning.parked_memory_s))

    def _bounded_tracks(self) -> dict[int, _Track]:
        """Tracks without those forgotten, and at most ``max_tracks`` of the most recently seen."""
        recent = [
            (tracker_id, track)
            for tracker_id, track in self.tracks.items()
            if self.now - track.last_seen <= self.tuning.forget_after_s
        ]
        recent.sort(key=lambda item: (item[1].last_seen, item[0]))
        return dict(recent[-self.tuning.max_tracks :])

    # Track-based hits ----------------------------------------------------------------

    def _fire_track(
        self, tracker_id: int, k: int, track: _Track, entered: bool, left: bool, crossing: _Crossing | None
    ) -> _Track:
        """The hit this observation gives, if any; returns the track with its hit recorded."""
        trigger = self.rule.trigger
        if not self._may_fire(track):
            return track
        evidence: dict[str, Any] | None = None
        if trigger == "seen" and self.view.inside[k]:
            evidence = {}
        elif trigger == "enter" and entered or trigger == "leave" and left:
            evidence = self._visit_evidence(track)
        elif trigger == "loiter" and self._loitering(track):
            evidence = self._visit_evidence(track)
            track = replace(track, zone=replace(track.zone, loitered=True))
        elif trigger == "cross" and crossing is not None and self._wanted(crossing):
            at = _t(self.now)
            evidence = {"crossing": {"point": _point(crossing.point), "direction": crossing.direction, "at": at}}
        if evidence is None:
            return track
        row, confidence, class_id = self.view.row(k)
        self._hit(tracker_id, row, confidence, class_id, {**self._track_evidence(track), **evidence})
        return replace(track, fired_at=self.now)

    def _may_fire(self, track: _Track) -> bool:
        if not self.active:
            return False
        if track.fired_at is not None and self.now - track.fired_at < self.rule.cooldown_s:
            return False
        return not (self.rule.stationary_guard and track.guarded and self.rule.trigger in _GUARDED_TRIGGERS)

    def _loitering(self, track: _Track) -> bool:
        zone = track.zone
        return (
            zone.inside
            and zone.streak == 0  # not on a frame that already sees it outside
            and not zone.loitered
            and zone.entered_at is not None
            and self.now - zone.entered_at >= self.rule.duration_s
        )

    def _wanted(self, crossing: _Crossing) -> bool:
        assert self.rule.area is not None
        return self.rule.area.direction in ("both", crossing.direction)

    def _fire_lost_leave(self, tracker_id: int, track: _Track, left_at: float) -> None:
        if self._may_fire(track):
            self._hit(tracker_id, -1, 0.0, -1, {**self._track_evidence(track), **self._visit_evidence(track)})
            self.tracks[tracker_id] = replace(track, fired_at=self.now)

    def _visit_evidence(self, track: _Track) -> dict[str, Any]:
        zone = track.zone
        intervals = list(zone.visits)
        if zone.inside and zone.entered_at is not None:
            intervals.append((zone.entered_at, self.now))
        entered_at, left_at = intervals[-1]
        evidence: dict[str, Any] = {
            "entered_at": _t(entered_at),
            "in_zone": [[_t(t0), _t(t1)] for t0, t1 in intervals],
            "dwell_s": _t(left_at - entered_at),
        }
        if not zone.inside:
            evidence["left_at"] = _t(left_at)
        return evidence

    def _track_evidence(self, track: _Track) -> dict[str, Any]:
        return {
            "box": _rounded(track.box),
            "track_path": [[_t(t), round(x, 5), round(y, 5)] for t, x, y in track.path],
        }

    # Count and absence -------------------------------------------------------------

    def _count(self, spell: _Spell, present: Mapping[int, int]) -> _Spell:
        counted = sorted(t for t, track in self.tracks.items() if track.zone.inside and not track.lost)
        spell = _next_spell(spell, len(counted) >= self.rule.min_count, self.now)
        if spell.since is None or self.now - spell.since < self.rule.duration_s or not self.active:
            return spell
        if spell.fired and spell.last_hit is not None and self.now - spell.last_hit < self.rule.cooldown_s:
            return spell
        evidence: dict[str, Any] = {
            "count": len(counted),
            "counted": [{"track_id": t, "point": _point(self.tracks[t].point)} for t in counted],
            "since": _t(spell.since),
        }
        seen_now = [present[t] for t in counted if t in present]
        if seen_now:
            # The best-confidence counted detection of this frame stands for the group.
            k = max(seen_now, key=lambda k: (self.view.row(k)[1], -k))
            evidence["box"] = _rounded(self.view.boxes[k])
            self._hit(UNTRACKED, *self.view.row(k), evidence)
        else:
            self._hit(UNTRACKED, -1, 0.0, -1, evidence)
        return replace(spell, fired=True, last_hit=self.now)

    def _absence(self, spell: _Spell) -> _Spell:
        occupied = bool(self.view.inside.any()) or any(
            track.zone.inside and not track.lost for track in self.tracks.values()
        )
        spell = _next_spell(spell, not occupied, self.now)
        if spell.since is None or spell.fired or not self.active:
            return spell
        if self.now - spell.since < self.rule.duration_s:
            return spell
        if spell.last_hit is not None and self.now - spell.last_hit < self.rule.cooldown_s:
            return spell
        self._hit(UNTRACKED, -1, 0.0, -1, {"empty_since": _t(spell.since)})
        return replace(spell, fired=True, last_hit=self.now)

    # Hits --------------------------------------------------------------------------

    def _hit(self, tracker_id: int, row: int, confidence: float, class_id: int, evidence: dict[str, Any]) -> None:
        self.hits.append(
            RuleHit(
                rule_id=self.rule.rule_id,
                tracker_id=tracker_id,
                index=row,
                confidence=confidence,
                class_id=class_id,
                evidence={**_rule_evidence(self.rule), **evidence},
            )
        )


def _next_spell(spell: _Spell, holds: bool, now: float) -> _Spell:
    """Count/absence condition after this frame: a spell starts, goes on, or ends (re-arming)."""
    if not holds:
        return _Spell(last_hit=spell.last_hit)
    return spell if spell.since is not None else _Spell(since=now, last_hit=spell.last_hit)


def _worth_guarding(track: _Track) -> bool:
    return track.fired_at is not None or track.guarded


def _thinned(path: tuple[tuple[float, float, float], ...], limit: int) -> tuple[tuple[float, float, float], ...]:
    """``path`` if it fits, else every other point of it (the newest kept): old parts get coarser."""
    if len(path) <= limit:
        return path
    return path[:-1:2] + path[-1:]


def _rule_evidence(rule: RuleSpec) -> dict[str, Any]:
    evidence: dict[str, Any] = {"trigger": rule.trigger, "anchor": rule.anchor}
    if rule.area is not None:
        area = rule.area
        evidence["area"] = {
            "id": area.id,
            "name": area.name,
            "kind": area.kind,
            "points": [_point(p) for p in area.points],
            **({"direction": area.direction} if area.kind == "line" else {}),
        }
    if rule.schedule is not None:
        evidence["schedule"] = rule.schedule.describe()
    return evidence


def _box(values: Iterable[float]) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


def _point(p: Sequence[float]) -> list[float]:
    return _rounded(p[:2])


def _rounded(values: Iterable[float]) -> list[float]:
    """Normalised coordinates in evidence: 5 decimals is far below a pixel."""
    return [round(float(v), 5) for v in values]


def _t(seconds: float) -> float:
    """Times and durations in evidence, to the millisecond."""
    return round(float(seconds), 3)
