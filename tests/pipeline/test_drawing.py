from __future__ import annotations

import cv2
import numpy as np
import pytest

from workers.pipeline.catalogue import COCO_CLASSES
from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.drawing import annotate, crop, encode_jpeg, label_text


def test_it_labels_class_confidence_and_track() -> None:
    assert label_text(COCO_CLASSES, 0, 0.8712, 12) == "person 0.87 #12"
    assert label_text(COCO_CLASSES, 2, 0.5, UNTRACKED) == "car 0.50"
    assert label_text(COCO_CLASSES, 99, 0.5, 3) == "class 99 0.50 #3"


def test_it_annotates_a_copy(vtest_frames, vtest_detections) -> None:
    frame, detections = vtest_frames[100], vtest_detections[100]
    before = frame.copy()
    out = annotate(frame, detections, COCO_CLASSES)
    np.testing.assert_array_equal(frame, before)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert (out != frame).any(axis=2).mean() > 0.01
    # Boxes touching the frame edges still get their label inside the frame.
    edge = Detections(
        xyxy=np.array([[0, 0, 480, 360]]), confidence=np.array([0.9]), class_id=np.array([0]), tracker_id=np.array([5])
    )
    assert (annotate(frame, edge, COCO_CLASSES)[:15] != frame[:15]).any()


def test_it_encodes_jpeg_within_a_width(vtest_frames) -> None:
    data = encode_jpeg(vtest_frames[0], max_width=240, quality=70)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == (180, 240, 3)
    full = cv2.imdecode(np.frombuffer(encode_jpeg(vtest_frames[0], max_width=None), np.uint8), cv2.IMREAD_COLOR)
    assert full is not None and full.shape == (360, 480, 3)


def test_it_crops_with_padding_inside_the_frame(vtest_frames) -> None:
    frame = vtest_frames[0]
    piece = crop(frame, [100, 100, 200, 300], pad=0.1)
    assert piece.shape == (240, 120, 3)
    np.testing.assert_array_equal(piece, frame[80:320, 90:210])
    assert not np.shares_memory(piece, frame)
    assert crop(frame, [-50, -50, 20, 20], pad=0.0).shape == (20, 20, 3)
    with pytest.raises(ValueError, match="does not overlap"):
        crop(frame, [500, 400, 600, 500])
