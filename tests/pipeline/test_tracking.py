from __future__ import annotations

import numpy as np

from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.tracking import ObjectTracker

PERSON = 0


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def _id_consistency(tracked: list[Detections]) -> tuple[float, int]:
    """Share of tracked boxes whose best match (IoU >= 0.5) in the next frame has the same id."""
    same = pairs = 0
    for current, following in zip(tracked, tracked[1:]):
        current, following = current[current.tracker_id != UNTRACKED], following[following.tracker_id != UNTRACKED]
        if not len(current) or not len(following):
            continue
        iou = _iou(current.xyxy, following.xyxy)
        for i, j in enumerate(iou.argmax(axis=1)):
            if iou[i, j] >= 0.5:
                pairs += 1
                same += int(current.tracker_id[i] == following.tracker_id[j])
    return same / pairs, pairs


def test_it_keeps_pedestrian_ids_stable_on_real_video(vtest_detections) -> None:
    tracker = ObjectTracker(frame_rate=10)
    tracked = [tracker.update(d[d.class_id == PERSON]) for d in vtest_detections]
    consistency, pairs = _id_consistency(tracked)
    assert pairs > 500
    assert consistency >= 0.95, consistency
    ids = np.concatenate([d.tracker_id for d in tracked])
    assert (ids[ids != UNTRACKED] >= 1).all()
    share_tracked = float((ids != UNTRACKED).mean())
    assert share_tracked >= 0.9, share_tracked
    assert len(set(ids.tolist()) - {UNTRACKED}) <= 20  # 4-9 people in view: no id churn


def test_it_keeps_class_and_confidence_with_their_boxes(vtest_detections) -> None:
    tracker = ObjectTracker(frame_rate=10)
    for d in vtest_detections[:20]:
        out = tracker.update(d)
        np.testing.assert_array_equal(out.xyxy, d.xyxy)  # same rows, same order
        np.testing.assert_array_equal(out.class_id, d.class_id)
        np.testing.assert_array_equal(out.confidence, d.confidence)
    assert (out.tracker_id >= 1).any()


def test_it_tracks_on_timestamps_when_frames_are_skipped(vtest_detections) -> None:
    """The motion gate skips frames: every other frame, 0.2 s apart, keeps the ids."""
    tracker = ObjectTracker(frame_rate=10)
    tracked = [
        tracker.update(d[d.class_id == PERSON], timestamp=1000.0 + i / 10)
        for i, d in enumerate(vtest_detections)
        if i % 2 == 0
    ]
    consistency, _ = _id_consistency(tracked)
    assert consistency >= 0.9, consistency


def test_it_handles_empty_frames_and_reset() -> None:
    tracker = ObjectTracker(frame_rate=10)
    assert len(tracker.update(Detections.empty())) == 0
    box = Detections(
        xyxy=np.array([[10, 10, 50, 90]]),
        confidence=np.array([0.9]),
        class_id=np.array([0]),
        tracker_id=np.array([UNTRACKED]),
    )
    first_ids = [int(tracker.update(box).tracker_id[0]) for _ in range(3)]
    assert first_ids[0] == UNTRACKED and first_ids[1:] == [1, 1]
    tracker.reset()
    assert [int(tracker.update(box).tracker_id[0]) for _ in range(2)] == [UNTRACKED, 1]
