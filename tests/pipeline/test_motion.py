from __future__ import annotations

import numpy as np
import pytest

from workers.pipeline.motion import MotionGate


def _still_sequence(frame: np.ndarray, n: int, *, seed: int = 0) -> list[np.ndarray]:
    """One real frame repeated with sensor-like noise."""
    rng = np.random.default_rng(seed)
    return [
        np.clip(frame.astype(np.int16) + rng.normal(0, 2.0, frame.shape).round().astype(np.int16), 0, 255).astype(
            np.uint8
        )
        for _ in range(n)
    ]


def test_it_wakes_the_detector_far_less_on_a_still_scene(vtest_frames) -> None:
    moving, still = MotionGate(), MotionGate()
    moving_passes = sum(moving.update(f, now=i / 10) for i, f in enumerate(vtest_frames[:100]))
    still_passes = sum(still.update(f, now=i / 10) for i, f in enumerate(_still_sequence(vtest_frames[0], 100)))
    assert still_passes == 1  # only the first frame
    assert moving_passes >= 90  # pedestrians walk through the whole clip
    assert (moving.frames_seen, still.frames_seen) == (100, 100)
    assert (moving.frames_with_motion, still.frames_with_motion) == (moving_passes, 1)


def _person_walks(background: np.ndarray, n: int, *, y: int) -> list[np.ndarray]:
    """A dark 40x80 block crossing ``background`` at height ``y``."""
    frames = []
    for i in range(n):
        frame = background.copy()
        x = 20 + 15 * i
        frame[y : y + 80, x : x + 40] = 20
        frames.append(frame)
    return frames


@pytest.mark.parametrize(
    "mask",
    [
        [[(0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (0.0, 0.5)]],  # polygon: top half
        np.repeat([[True], [False]], [180, 180], axis=0).repeat(480, axis=1),  # array: top half
        np.repeat([[True], [False]], [9, 9], axis=0).repeat(4, axis=1),  # coarse array, same area
    ],
    ids=["polygon", "array", "coarse-array"],
)
def test_it_ignores_motion_in_masked_areas(vtest_frames, mask) -> None:
    background = vtest_frames[0]
    top = _person_walks(background, 20, y=40)
    bottom = _person_walks(background, 20, y=250)

    masked_top = MotionGate(mask=mask)
    assert sum(masked_top.update(f) for f in [background, *top]) == 1

    masked_bottom = MotionGate(mask=mask)
    assert sum(masked_bottom.update(f) for f in [background, *bottom]) == 21


def test_it_rechecks_still_scenes_at_the_given_interval(vtest_frames) -> None:
    gate = MotionGate(recheck_every_s=1.0)
    passes = [gate.update(f, now=i / 10) for i, f in enumerate(_still_sequence(vtest_frames[0], 35))]
    assert [i for i, p in enumerate(passes) if p] == [0, 10, 20, 30]
    assert (gate.frames_with_motion, gate.frames_rechecked) == (1, 3)


def test_it_restarts_on_a_new_resolution_and_refuses_non_images(vtest_frames) -> None:
    gate = MotionGate()
    assert gate.update(vtest_frames[0]) is True
    assert gate.update(vtest_frames[0]) is False
    assert gate.update(vtest_frames[0][:200, :300].copy()) is True
    with pytest.raises(ValueError):
        gate.update(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(ValueError):
        gate.update(np.zeros((10, 10, 3), np.float32))


def test_it_rechecks_still_scenes_only_while_objects_are_tracked() -> None:
    from workers.pipeline.motion import needs_detection

    assert needs_detection(True, has_tracks=False, since_detection_s=0.0, recheck_every_s=1.0)
    assert not needs_detection(False, has_tracks=False, since_detection_s=60.0, recheck_every_s=1.0)
    assert not needs_detection(False, has_tracks=True, since_detection_s=0.5, recheck_every_s=1.0)
    assert needs_detection(False, has_tracks=True, since_detection_s=1.0, recheck_every_s=1.0)
