"""Zones, lines and the points of boxes that rules test against them.

Stored geometry is normalised: x in [0, 1] of the frame width, y in [0, 1] of its
height, origin top-left. Validation speaks plain words, because its messages go
straight to the person drawing the zone; points are numbered from 1 as they see them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

Point = tuple[float, float]
Anchor = Literal["bottom_center", "center", "top_center"]
"""Which point of a box stands for the object: its feet, its middle or its head."""
Direction = Literal["a_to_b", "b_to_a", "both"]
"""Walking from A to B, "a_to_b" crosses from the left-hand to the right-hand side
(image coordinates, y down): the side where ``cross(B - A, P - A) > 0``."""

MIN_LINE_LENGTH = 0.005
"""Shortest line, as a fraction of the frame (0.5 %): shorter ones are a slipped click."""
MIN_POLYGON_AREA = 1e-6
"""Smallest zone area, as a fraction of the frame area: below it the zone is flat."""
_EPS = 1e-6
"""Distance under which a point counts as lying on a line or an edge: far below a pixel,
above float32 rounding (masks and zones may come as float32 arrays)."""
_PARALLEL = 1e-12
"""Cross product under which two directions count as parallel (coordinates are 0..1)."""


def polygon_problems(points: Sequence[Sequence[float]]) -> list[str]:
    """What is wrong with a zone or mask polygon, in plain words; ``[]`` when it is valid."""
    if len(points) < 3:
        return [f"A zone needs at least 3 points; this one has {len(points)}."]
    pairs = _pairs(points)
    if pairs is None:
        return ["Each point must be a pair of numbers [x, y]."]
    problems = _outside_frame(pairs) + _repeated(pairs)
    if problems:  # the checks below would only restate these
        return problems
    if _collinear(pairs):
        return ["The zone has no area: its points all lie on one line."]
    problems = _crossing_edges(pairs)
    if not problems and abs(_signed_area(pairs)) < MIN_POLYGON_AREA:
        problems.append("The zone is too small: it covers almost none of the frame.")
    return problems


def line_problems(points: Sequence[Sequence[float]]) -> list[str]:
    """What is wrong with a line (A, B), in plain words; ``[]`` when it is valid."""
    if len(points) != 2:
        return [f"A line needs exactly 2 points (A and B); this one has {len(points)}."]
    pairs = _pairs(points)
    if pairs is None:
        return ["Each point must be a pair of numbers [x, y]."]
    problems = _outside_frame(pairs)
    if not problems and math.dist(*pairs) < MIN_LINE_LENGTH:
        problems.append(f"The line is too short: its ends must be at least {MIN_LINE_LENGTH:.1%} of the frame apart.")
    return problems


def anchor_points(xyxy: np.ndarray, anchor: Anchor, width: int, height: int) -> np.ndarray:
    """The anchor of each pixel box, normalised, as float64 ``(N, 2)``.

    Clipped to the frame: a box cut by the frame's edge would otherwise put its anchor
    just outside, and out of a zone drawn up to that edge.
    """
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    x = (boxes[:, 0] + boxes[:, 2]) / 2
    if anchor == "bottom_center":
        y = boxes[:, 3]
    elif anchor == "top_center":
        y = boxes[:, 1]
    elif anchor == "center":
        y = (boxes[:, 1] + boxes[:, 3]) / 2
    else:
        raise ValueError(f"unknown anchor {anchor!r}")
    return np.clip(np.column_stack([x / width, y / height]), 0.0, 1.0)


def normalised_boxes(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel boxes as float64 ``(N, 4)`` fractions of the frame, clipped to it."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    return np.clip(boxes / np.array([width, height, width, height], np.float64), 0.0, 1.0)


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Whether each point ``(N, 2)`` lies inside ``polygon`` ``(M, 2)``; points on an edge count as inside.

    An even-odd ray cast, vectorised over points and edges.
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    x, y = pts[:, :1], pts[:, 1:]  # (N, 1): broadcast against the (M,) edges
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddles = (y1 > y) != (y2 > y)
    dy = np.where(y2 == y1, 1.0, y2 - y1)  # only straddling edges are used, and they have y2 != y1
    crosses = straddles & (x < x1 + (y - y1) * (x2 - x1) / dy)
    inside = np.count_nonzero(crosses, axis=1) % 2 == 1
    return inside | _on_edges(x, y, x1, y1, x2, y2)


def signed_distances(points: np.ndarray, a: Point, b: Point, width: int, height: int) -> np.ndarray:
    """Distance in pixels of each normalised point from the line through A and B.

    Positive on the right-hand side of A→B in image coordinates (where the
    "a_to_b" arrow points), negative on the left.
    """
    scale = np.array([width, height], np.float64)
    pts = np.asarray(points, np.float64).reshape(-1, 2) * scale
    pa, pb = np.asarray(a, np.float64) * scale, np.asarray(b, np.float64) * scale
    d = pb - pa
    rel = pts - pa
    return (d[0] * rel[:, 1] - d[1] * rel[:, 0]) / float(np.hypot(*d))


def segment_intersection(p: Point, q: Point, a: Point, b: Point) -> Point | None:
    """Where segment PQ meets segment AB (touching ends count); ``None`` when apart or parallel."""
    r = (q[0] - p[0], q[1] - p[1])
    s = (b[0] - a[0], b[1] - a[1])
    denominator = _cross(r, s)
    if abs(denominator) < _PARALLEL:
        return None
    ap = (a[0] - p[0], a[1] - p[1])
    t = _cross(ap, s) / denominator  # along PQ
    u = _cross(ap, r) / denominator  # along AB
    if not (-_EPS <= t <= 1 + _EPS and -_EPS <= u <= 1 + _EPS):
        return None
    return (p[0] + t * r[0], p[1] + t * r[1])


def segments_touch(p: Point, q: Point, a: Point, b: Point) -> bool:
    """Whether segments PQ and AB share at least one point (crossing, touching or overlapping)."""
    o1, o2 = _orientation(p, q, a), _orientation(p, q, b)
    o3, o4 = _orientation(a, b, p), _orientation(a, b, q)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return True
    return (
        (o1 == 0 and _within_box(a, p, q))
        or (o2 == 0 and _within_box(b, p, q))
        or (o3 == 0 and _within_box(p, a, b))
        or (o4 == 0 and _within_box(q, a, b))
    )


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes; 0.0 when either is empty."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _pairs(points: Sequence[Sequence[float]]) -> list[Point] | None:
    try:
        if any(len(p) != 2 for p in points):
            return None
        return [(float(p[0]), float(p[1])) for p in points]
    except (TypeError, ValueError):
        return None


def _outside_frame(points: list[Point]) -> list[str]:
    return [
        f"Point {i} ({x:g}, {y:g}) is outside the frame: x and y must be between 0 and 1."
        for i, (x, y) in enumerate(points, start=1)
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0)  # also catches NaN
    ]


def _repeated(points: list[Point]) -> list[str]:
    return [
        f"Points {i + 1} and {j + 1} are the same point."
        for i in range(len(points))
        for j in range(i + 1, len(points))
        if math.dist(points[i], points[j]) < _EPS
    ]


def _collinear(points: list[Point]) -> bool:
    offsets = np.array(points) - points[0]
    return bool(np.linalg.matrix_rank(offsets, tol=_EPS) < 2)


def _signed_area(points: list[Point]) -> float:
    xs, ys = np.array(points).T
    return float(np.dot(xs, np.roll(ys, -1)) - np.dot(np.roll(xs, -1), ys)) / 2


def _crossing_edges(points: list[Point]) -> list[str]:
    """Edge i runs from point i to point i + 1 (the last one back to point 1)."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    problems = []
    for i in range(n):
        for j in range(i + 1, n):
            adjacent = j == i + 1 or (i == 0 and j == n - 1)
            if adjacent and not _folds_back(edges[i], edges[j]):
                continue
            if adjacent or segments_touch(*edges[i], *edges[j]):
                problems.append(
                    f"The zone crosses itself: edge {i + 1} (point {i + 1} to {(i + 1) % n + 1}) and "
                    f"edge {j + 1} (point {j + 1} to {(j + 1) % n + 1}) meet."
                )
    return problems


def _folds_back(e: tuple[Point, Point], f: tuple[Point, Point]) -> bool:
    """Whether two edges that share a corner run back over each other from it."""
    shared = next(p for p in e if p in f)
    u = next(p for p in e if p != shared)
    v = next(p for p in f if p != shared)
    du, dv = (u[0] - shared[0], u[1] - shared[1]), (v[0] - shared[0], v[1] - shared[1])
    return abs(_cross(du, dv)) < _PARALLEL and du[0] * dv[0] + du[1] * dv[1] > 0


def _on_edges(
    x: np.ndarray, y: np.ndarray, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray
) -> np.ndarray:
    length = np.hypot(x2 - x1, y2 - y1)
    distance = np.abs((x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)) / np.where(length == 0, 1.0, length)
    within = (
        (x >= np.minimum(x1, x2) - _EPS) & (x <= np.maximum(x1, x2) + _EPS)
        & (y >= np.minimum(y1, y2) - _EPS) & (y <= np.maximum(y1, y2) + _EPS)
    )
    return np.any((distance <= _EPS) & within, axis=1)


def _cross(u: tuple[float, float], v: tuple[float, float]) -> float:
    return u[0] * v[1] - u[1] * v[0]


def _orientation(p: Point, q: Point, r: Point) -> int:
    value = _cross((q[0] - p[0], q[1] - p[1]), (r[0] - p[0], r[1] - p[1]))
    return 0 if abs(value) < _PARALLEL else (1 if value > 0 else -1)


def _within_box(p: Point, a: Point, b: Point) -> bool:
    """Whether P lies in the bounding box of A and B (P is known to be on their line)."""
    return all(min(a[k], b[k]) - _EPS <= p[k] <= max(a[k], b[k]) + _EPS for k in (0, 1))
