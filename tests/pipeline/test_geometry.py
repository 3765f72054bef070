from __future__ import annotations

import cv2
import numpy as np
import pytest

from workers.pipeline.geometry import (
    anchor_points,
    box_iou,
    line_problems,
    normalised_boxes,
    points_in_polygon,
    polygon_problems,
    segment_intersection,
    segments_touch,
    signed_distances,
)

SQUARE = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]]


# polygon_problems ----------------------------------------------------------------------


def test_a_valid_polygon_has_no_problems() -> None:
    assert polygon_problems(SQUARE) == []
    assert polygon_problems([[0, 0], [1, 0], [1, 1], [0, 1]]) == []  # the whole frame, edges included
    assert polygon_problems([(0.1, 0.1), (0.9, 0.1), (0.5, 0.2), (0.5, 0.9)]) == []  # concave


def test_a_polygon_needs_three_points() -> None:
    assert polygon_problems([[0.1, 0.1], [0.5, 0.5]]) == ["A zone needs at least 3 points; this one has 2."]
    assert polygon_problems([]) == ["A zone needs at least 3 points; this one has 0."]


def test_it_names_each_point_outside_the_frame_counting_from_one() -> None:
    assert polygon_problems([[0.1, 0.1], [1.2, 0.1], [0.5, -0.5], [0.1, 0.9]]) == [
        "Point 2 (1.2, 0.1) is outside the frame: x and y must be between 0 and 1.",
        "Point 3 (0.5, -0.5) is outside the frame: x and y must be between 0 and 1.",
    ]
    assert polygon_problems([[0.1, 0.1], [float("nan"), 0.1], [0.5, 0.5]]) == [
        "Point 2 (nan, 0.1) is outside the frame: x and y must be between 0 and 1."
    ]


def test_it_names_the_edges_of_a_self_intersecting_polygon() -> None:
    bow_tie = [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]
    assert polygon_problems(bow_tie) == [
        "The zone crosses itself: edge 1 (point 1 to 2) and edge 3 (point 3 to 4) meet."
    ]


def test_a_corner_touching_another_edge_is_a_self_intersection() -> None:
    # Point 5 lies on edge 1: the outline touches itself there.
    touching = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.5, 0.5], [0.5, 0.1], [0.1, 0.9]]
    problems = polygon_problems(touching)
    assert "The zone crosses itself: edge 1 (point 1 to 2) and edge 4 (point 4 to 5) meet." in problems
    assert "The zone crosses itself: edge 1 (point 1 to 2) and edge 5 (point 5 to 6) meet." in problems


def test_an_edge_running_back_over_the_previous_one_is_a_self_intersection() -> None:
    spike = [[0.1, 0.1], [0.5, 0.1], [0.3, 0.1], [0.3, 0.5]]
    assert "The zone crosses itself: edge 1 (point 1 to 2) and edge 2 (point 2 to 3) meet." in polygon_problems(spike)


def test_a_flat_polygon_has_no_area() -> None:
    assert polygon_problems([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]) == [
        "The zone has no area: its points all lie on one line."
    ]


def test_it_names_repeated_points() -> None:
    assert polygon_problems([[0.1, 0.1], [0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]) == [
        "Points 1 and 2 are the same point."
    ]
    assert polygon_problems([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9], [0.1, 0.1]]) == [
        "Points 1 and 4 are the same point."
    ]


def test_it_rejects_points_that_are_not_pairs_of_numbers() -> None:
    assert polygon_problems([[0.1, 0.1], [0.2], [0.3, 0.3]]) == ["Each point must be a pair of numbers [x, y]."]
    not_numbers = [[0.1, 0.1], ["a", 0.2], [0.3, 0.3]]
    assert polygon_problems(not_numbers) == ["Each point must be a pair of numbers [x, y]."]  # type: ignore[arg-type]


# line_problems ---------------------------------------------------------------------------


def test_a_valid_line_has_no_problems() -> None:
    assert line_problems([[0.1, 0.5], [0.9, 0.5]]) == []
    assert line_problems([[0.5, 0.5], [0.5, 0.506]]) == []  # just above 0.5 % of the frame


def test_a_line_has_exactly_two_points() -> None:
    assert line_problems([[0.1, 0.5]]) == ["A line needs exactly 2 points (A and B); this one has 1."]
    assert line_problems([[0.1, 0.5], [0.5, 0.5], [0.9, 0.5]]) == [
        "A line needs exactly 2 points (A and B); this one has 3."
    ]


def test_a_line_stays_in_the_frame() -> None:
    assert line_problems([[0.1, 0.5], [1.01, 0.5]]) == [
        "Point 2 (1.01, 0.5) is outside the frame: x and y must be between 0 and 1."
    ]


@pytest.mark.parametrize("end", [[0.5, 0.5], [0.503, 0.503]])
def test_a_line_is_not_a_dot(end: list[float]) -> None:
    assert line_problems([[0.5, 0.5], end]) == [
        "The line is too short: its ends must be at least 0.5% of the frame apart."
    ]


# anchors and boxes -----------------------------------------------------------------------


def test_anchor_points_are_normalised_and_follow_the_anchor() -> None:
    boxes = np.array([[100, 50, 300, 250], [0, 0, 40, 20]], np.float32)
    assert anchor_points(boxes, "bottom_center", 400, 500).tolist() == [[0.5, 0.5], [0.05, 0.04]]
    assert anchor_points(boxes, "center", 400, 500).tolist() == [[0.5, 0.3], [0.05, 0.02]]
    assert anchor_points(boxes, "top_center", 400, 500).tolist() == [[0.5, 0.1], [0.05, 0.0]]
    assert anchor_points(np.empty((0, 4)), "center", 400, 500).shape == (0, 2)


def test_anchors_of_boxes_cut_by_the_frame_edge_stay_on_the_edge() -> None:
    boxes = np.array([[-20, 400, 10, 510]], np.float32)
    assert anchor_points(boxes, "bottom_center", 400, 500).tolist() == [[0.0, 1.0]]


def test_boxes_are_normalised_and_clipped() -> None:
    boxes = np.array([[-10, 50, 200, 600]], np.float32)
    assert normalised_boxes(boxes, 400, 500).tolist() == [[0.0, 0.1, 0.5, 1.0]]


def test_box_iou() -> None:
    assert box_iou((0, 0, 2, 2), (1, 0, 3, 2)) == pytest.approx(1 / 3)
    assert box_iou((0, 0, 1, 1), (0, 0, 1, 1)) == 1.0
    assert box_iou((0, 0, 1, 1), (1, 0, 2, 1)) == 0.0  # touching only
    assert box_iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


# points_in_polygon -------------------------------------------------------------------------


def test_points_in_polygon_count_edges_and_corners_as_inside() -> None:
    points = np.array([[0.4, 0.4], [0.1, 0.4], [0.2, 0.4], [0.6, 0.6], [0.4, 0.2], [0.61, 0.4], [0.4, 0.60001]])
    assert points_in_polygon(points, np.array(SQUARE)).tolist() == [True, False, True, True, True, False, False]


def test_points_in_a_concave_polygon() -> None:
    u_shape = np.array([[0.1, 0.1], [0.3, 0.1], [0.3, 0.7], [0.7, 0.7], [0.7, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]])
    points = np.array([[0.5, 0.5], [0.2, 0.5], [0.8, 0.5], [0.5, 0.8], [0.5, 0.7]])
    assert points_in_polygon(points, u_shape).tolist() == [False, True, True, True, True]


def test_points_in_polygon_agree_with_opencv_off_the_edges() -> None:
    rng = np.random.default_rng(3)
    polygon = np.array([[0.1, 0.2], [0.5, 0.05], [0.9, 0.3], [0.6, 0.5], [0.85, 0.9], [0.2, 0.8], [0.35, 0.5]])
    points = rng.random((2000, 2))
    expected = [cv2.pointPolygonTest(polygon.astype(np.float32), (float(x), float(y)), True) for x, y in points]
    clear = np.abs(expected) > 1e-4  # leave float32 rounding on the edges out of it
    got = points_in_polygon(points, polygon)
    assert clear.sum() > 1900
    assert (got[clear] == (np.array(expected)[clear] > 0)).all()


def test_points_in_polygon_of_no_points() -> None:
    assert points_in_polygon(np.empty((0, 2)), np.array(SQUARE)).shape == (0,)


# lines ---------------------------------------------------------------------------------------


def test_signed_distances_are_positive_where_the_a_to_b_arrow_points() -> None:
    # A→B runs left to right; in image coordinates (y down) its right-hand side is below it.
    a, b = (0.2, 0.5), (0.8, 0.5)
    distances = signed_distances(np.array([[0.5, 0.6], [0.5, 0.4], [0.9, 0.5]]), a, b, 1000, 500)
    assert distances.tolist() == pytest.approx([50.0, -50.0, 0.0])
    # Walking down a vertical line, the right-hand side is on the left of the picture.
    down = signed_distances(np.array([[0.4, 0.5]]), (0.5, 0.2), (0.5, 0.8), 1000, 500)
    assert down.tolist() == pytest.approx([100.0])


def test_segment_intersection() -> None:
    assert segment_intersection((0.5, 0.4), (0.5, 0.6), (0.2, 0.5), (0.8, 0.5)) == pytest.approx((0.5, 0.5))
    assert segment_intersection((0.3, 0.4), (0.7, 0.6), (0.2, 0.5), (0.8, 0.5)) == pytest.approx((0.5, 0.5))
    assert segment_intersection((0.9, 0.4), (0.9, 0.6), (0.2, 0.5), (0.8, 0.5)) is None  # past B
    assert segment_intersection((0.5, 0.1), (0.5, 0.4), (0.2, 0.5), (0.8, 0.5)) is None  # short of the line
    assert segment_intersection((0.3, 0.5), (0.7, 0.5), (0.2, 0.5), (0.8, 0.5)) is None  # along it
    assert segment_intersection((0.5, 0.5), (0.5, 0.6), (0.2, 0.5), (0.8, 0.5)) == pytest.approx((0.5, 0.5))


def test_segments_touch() -> None:
    assert segments_touch((0, 0), (1, 1), (0, 1), (1, 0))
    assert segments_touch((0, 0), (1, 0), (0.5, 0), (0.5, 1))  # T junction
    assert segments_touch((0, 0), (0.6, 0), (0.4, 0), (1, 0))  # overlapping
    assert not segments_touch((0, 0), (0.4, 0), (0.5, 0), (1, 0))  # same line, apart
    assert not segments_touch((0, 0), (1, 0), (0, 0.1), (1, 0.1))  # parallel


def test_a_tiny_polygon_is_too_small() -> None:
    assert polygon_problems([[0.5, 0.5], [0.5005, 0.5], [0.5, 0.5005]]) == [
        "The zone is too small: it covers almost none of the frame."
    ]
