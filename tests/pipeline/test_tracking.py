from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv
from trackers import ByteTrackTracker

from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.detector import OnnxYoloxDetector
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


# --- The array ByteTrack against the ``trackers`` library it replaces -------------------


class _LibraryTracker:
    """The reference: ``trackers.ByteTrackTracker`` exactly as ObjectTracker configured it before."""

    def __init__(self, frame_rate: float) -> None:
        self._tracker = ByteTrackTracker(
            lost_track_buffer=round(3.0 * 30.0),
            frame_rate=frame_rate,
            track_activation_threshold=0.4,
            minimum_consecutive_frames=2,
            minimum_iou_threshold=0.1,
            high_conf_det_threshold=0.5,
        )

    def update(self, detections: Detections, timestamp: float | None = None) -> np.ndarray:
        tracked = self._tracker.update(
            sv.Detections(
                xyxy=detections.xyxy,
                confidence=detections.confidence,
                class_id=detections.class_id,
                data={"index": np.arange(len(detections))},
            ),
            timestamp=timestamp,
        )
        tracker_id = np.full(len(detections), UNTRACKED, np.int64)
        if len(tracked):
            ids = np.asarray(tracked.tracker_id, np.int64)
            tracker_id[np.asarray(tracked.data["index"])] = np.where(ids >= 0, ids + 1, UNTRACKED)
        return tracker_id


def _decode(path: Path, keep: Callable[[int], bool] = lambda _: True, limit: int | None = None) -> dict[int, np.ndarray]:
    """Frames of ``path`` by index, those ``keep`` accepts, up to frame ``limit``."""
    capture = cv2.VideoCapture(str(path))
    frames: dict[int, np.ndarray] = {}
    index = 0
    while limit is None or index < limit:
        ok, frame = capture.read()
        if not ok:
            break
        if keep(index):
            frames[index] = frame
        index += 1
    capture.release()
    assert frames, f"could not decode {path}"
    return frames


def _assert_same_ids(
    frame_rate: float, detections: list[Detections], timestamps: list[float] | None = None
) -> tuple[int, int]:
    """Feed both trackers the same frames; every frame's ids must be equal. Returns (tracked boxes, ids)."""
    library, ours = _LibraryTracker(frame_rate), ObjectTracker(frame_rate=frame_rate)
    tracked = 0
    ids: set[int] = set()
    for i, d in enumerate(detections):
        t = None if timestamps is None else timestamps[i]
        expected, actual = library.update(d, t), ours.update(d, t).tracker_id
        np.testing.assert_array_equal(actual, expected, err_msg=f"frame {i} (timestamp {t})")
        tracked += int((actual != UNTRACKED).sum())
        ids |= set(actual.tolist()) - {UNTRACKED}
    return tracked, len(ids)


@pytest.fixture(scope="module")
def vtest_300(detector: OnnxYoloxDetector, vtest_path: Path) -> list[Detections]:
    return detector.detect(list(_decode(vtest_path, limit=300).values()))


def test_it_gives_the_library_ids_on_every_vtest_frame(vtest_300) -> None:
    tracked, ids = _assert_same_ids(10, vtest_300)
    print(f"\nvtest: {len(vtest_300)} frames, {tracked} tracked boxes, {ids} ids: identical")
    assert tracked > 1000 and ids > 5


def test_it_gives_the_library_ids_on_the_car_video(detector: OnnxYoloxDetector, media_dir: Path) -> None:
    detections = detector.detect(list(_decode(media_dir / "car-detection.mp4").values()))
    tracked, ids = _assert_same_ids(12.5, detections)
    print(f"\ncars: {len(detections)} frames, {tracked} tracked boxes, {ids} ids: identical")
    assert tracked > 50 and ids >= 2


@pytest.mark.filterwarnings("ignore:.*timestamp:UserWarning")
def test_it_gives_the_library_ids_on_timestamps_with_gaps(detector: OnnxYoloxDetector, media_dir: Path) -> None:
    """5 fps of a 10 fps video with capture times; the motion gate drops stretches of 1.6 to 8 s."""
    gaps = [(300, 316), (500, 530), (700, 780), (900, 960)]  # frames never fed (1.6, 3, 8 and 6 s)
    frames = _decode(
        media_dir / "one-by-one-person-detection.mp4",
        keep=lambda i: i % 2 == 0 and not any(start <= i < end for start, end in gaps),
    )
    indices = list(frames)
    detections = detector.detect(list(frames.values()))
    timestamps = [1000.0 + i / 10 for i in indices]
    # Frame 600 arrives again after 602 (a time going backwards), and 402 twice (a duplicate
    # time); inserted back to front so the positions stay valid.
    late, repeat = indices.index(600), indices.index(402)
    detections.insert(late + 2, detections[late])
    timestamps.insert(late + 2, timestamps[late])
    detections.insert(repeat + 1, detections[repeat])
    timestamps.insert(repeat + 1, timestamps[repeat])
    tracked, ids = _assert_same_ids(5, detections, timestamps)
    print(f"\npeople, timestamps: {len(detections)} frames, {tracked} tracked boxes, {ids} ids: identical")
    assert tracked > 300 and ids >= 3


def _crowd(frames: int, people: int, seed: int = 0) -> list[Detections]:
    """``people`` boxes walking at constant speeds with jittery detections, some missed."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 0], [1800, 1000], (people, 2))
    speed = rng.uniform(-4, 4, (people, 2))
    size = rng.uniform([30, 70], [60, 140], (people, 2))
    out = []
    for f in range(frames):
        corner = start + f * speed + rng.normal(0, 1.5, (people, 2))
        xyxy = np.concatenate([corner, corner + size], axis=1)
        seen = rng.random(people) > 0.1
        confidence = rng.uniform(0.2, 0.95, people)
        out.append(
            Detections(
                xyxy=xyxy[seen],
                confidence=confidence[seen],
                class_id=np.zeros(seen.sum()),
                tracker_id=np.full(seen.sum(), UNTRACKED),
            )
        )
    return out


def test_it_gives_the_library_ids_in_a_crowd() -> None:
    tracked, ids = _assert_same_ids(10, _crowd(200, 60))
    assert tracked > 5000 and ids >= 60

