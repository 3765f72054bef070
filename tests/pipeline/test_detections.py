from __future__ import annotations

import numpy as np
import pytest

from workers.pipeline.detections import UNTRACKED, Detections


def _three() -> Detections:
    return Detections(
        xyxy=np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 2, 3, 4]]),
        confidence=np.array([0.9, 0.5, 0.7]),
        class_id=np.array([0, 2, 0]),
        tracker_id=np.array([1, UNTRACKED, 3]),
    )


def test_it_coerces_to_canonical_dtypes() -> None:
    d = _three()
    assert (d.xyxy.dtype, d.confidence.dtype, d.class_id.dtype, d.tracker_id.dtype) == (
        np.float32,
        np.float32,
        np.int32,
        np.int64,
    )
    assert len(d) == 3


def test_it_rejects_misaligned_arrays() -> None:
    with pytest.raises(ValueError, match="confidence must have shape"):
        Detections(xyxy=np.zeros((2, 4)), confidence=np.ones(1), class_id=np.zeros(2), tracker_id=np.zeros(2))
    with pytest.raises(ValueError, match="xyxy must have shape"):
        Detections(xyxy=np.zeros((2, 5)), confidence=np.ones(2), class_id=np.zeros(2), tracker_id=np.zeros(2))


def test_it_makes_an_empty_one() -> None:
    d = Detections.empty()
    assert len(d) == 0 and d.xyxy.shape == (0, 4)
    nothing = np.array([])
    assert len(Detections(xyxy=nothing, confidence=nothing, class_id=nothing, tracker_id=nothing)) == 0


def test_it_selects_rows_by_mask_index_slice_and_int() -> None:
    d = _three()
    persons = d[d.class_id == 0]
    assert persons.confidence.tolist() == pytest.approx([0.9, 0.7])
    assert persons.tracker_id.tolist() == [1, 3]
    assert d[np.array([2, 0])].class_id.tolist() == [0, 0]
    assert d[1:].tracker_id.tolist() == [UNTRACKED, 3]
    one = d[1]
    assert len(one) == 1 and one.xyxy.shape == (1, 4) and one.class_id.tolist() == [2]
    with pytest.raises(IndexError):
        d[np.array([True, False])]


def test_it_merges() -> None:
    merged = Detections.merge([_three(), Detections.empty(), _three()[0]])
    assert len(merged) == 4
    assert merged.tracker_id.tolist() == [1, UNTRACKED, 3, 1]
    assert len(Detections.merge([])) == 0
