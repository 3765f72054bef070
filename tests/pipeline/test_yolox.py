from __future__ import annotations

import cv2
import numpy as np
import pytest

from workers.pipeline.yolox import decode, letterbox, letterbox_hwc, postprocess


def _official_preproc(img: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """``preproc`` from YOLOX's yolox/data/data_augment.py (``input_size`` is (h, w) there)."""
    padded_img = np.ones((input_size[0], input_size[1], 3), dtype=np.uint8) * 114
    r = min(input_size[0] / img.shape[0], input_size[1] / img.shape[1])
    resized_img = cv2.resize(
        img, (int(img.shape[1] * r), int(img.shape[0] * r)), interpolation=cv2.INTER_LINEAR
    ).astype(np.uint8)
    padded_img[: int(img.shape[0] * r), : int(img.shape[1] * r)] = resized_img
    padded_img = padded_img.transpose((2, 0, 1))
    return np.ascontiguousarray(padded_img, dtype=np.float32), r


@pytest.mark.parametrize("size", [(416, 416), (640, 384)])
@pytest.mark.parametrize("crop", [(slice(None), slice(None)), (slice(None), slice(100, 260))], ids=["wide", "tall"])
def test_it_letterboxes_exactly_like_the_official_preprocessing(vtest_frames, size, crop) -> None:
    frame = np.ascontiguousarray(vtest_frames[0][crop])
    canvas, ratio = letterbox(frame, size)
    expected, expected_ratio = _official_preproc(frame, (size[1], size[0]))
    assert ratio == expected_ratio
    assert canvas.dtype == np.float32 and canvas.shape == (3, size[1], size[0])
    np.testing.assert_array_equal(canvas, expected)


def test_it_keeps_bgr_pixels_0_to_255_pasted_top_left(vtest_frames) -> None:
    frame = vtest_frames[0]  # 480x360 -> 416x312, padding below
    canvas, ratio = letterbox(frame, (416, 416))
    assert ratio == pytest.approx(416 / 480)
    assert (canvas[:, 312:, :] == 114).all()
    np.testing.assert_array_equal(canvas[0, :312, :], cv2.resize(frame, (416, 312))[:, :, 0])  # blue first
    assert canvas.max() > 1


def test_it_letterboxes_straight_into_a_uint8_batch_slot(vtest_frames) -> None:
    batch = np.zeros((2, 416, 416, 3), np.uint8)
    canvas, ratio = letterbox_hwc(vtest_frames[0], (416, 416), out=batch[1])
    assert np.shares_memory(canvas, batch) and (batch[0] == 0).all()
    expected, expected_ratio = letterbox(vtest_frames[0], (416, 416))
    assert ratio == expected_ratio
    np.testing.assert_array_equal(batch[1].transpose(2, 0, 1).astype(np.float32), expected)
    tall = np.full((200, 50, 3), 7, np.uint8)  # padded on the right, not below
    letterbox_hwc(tall, (416, 416), out=batch[0])
    assert batch[0, 0, 0].tolist() == [7, 7, 7] and (batch[0, :, 104:] == 114).all() and (batch[0, :, :104] == 7).all()


def test_it_decodes_a_grid_cell() -> None:
    raw = np.zeros((3549, 85), np.float32)
    row = 52 * 52 + 2 * 26 + 3  # stride 16, cell x=3, y=2
    raw[row, :5] = [0.5, 0.25, np.log(2.0), 0.0, 0.8]
    raw[row, 5 + 5] = 0.5
    boxes, scores, class_ids = decode(raw, (416, 416))
    np.testing.assert_allclose(boxes[row], [40, 28, 72, 44], atol=1e-4)
    assert scores[row] == pytest.approx(0.4) and class_ids[row] == 5
    assert boxes.shape == (3549, 4) and scores.shape == class_ids.shape == (3549,)

    batched = decode(np.stack([raw, raw]), (416, 416))
    np.testing.assert_array_equal(batched[0][1], boxes)


def test_it_refuses_output_of_another_input_size() -> None:
    with pytest.raises(ValueError, match="3549 rows"):
        decode(np.zeros((3549, 85), np.float32), (640, 640))


def test_it_runs_class_aware_nms_and_maps_back_to_the_frame() -> None:
    boxes = np.array(
        [[10, 10, 110, 110], [12, 12, 112, 112], [12, 12, 112, 112], [300, 300, 500, 500], [0, 0, 5, 5]],
        np.float32,
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1], np.float32)
    class_ids = np.array([0, 0, 2, 0, 0], np.int32)
    d = postprocess(
        boxes, scores, class_ids, ratio=0.5, frame_shape=(600, 800, 3), conf_threshold=0.3, nms_iou=0.45
    )
    # The duplicate person goes; the car on the same spot stays; the low score goes.
    assert d.class_id.tolist() == [0, 2, 0]
    assert d.confidence.tolist() == pytest.approx([0.9, 0.7, 0.6])
    np.testing.assert_allclose(d.xyxy[0], [20, 20, 220, 220])
    np.testing.assert_allclose(d.xyxy[2], [600, 600, 800, 600])  # clipped to the 800x600 frame
    assert (d.tracker_id == -1).all()


def test_it_returns_nothing_below_the_threshold() -> None:
    d = postprocess(
        np.zeros((3, 4), np.float32),
        np.full(3, 0.1, np.float32),
        np.zeros(3, np.int32),
        ratio=1.0,
        frame_shape=(10, 10),
        conf_threshold=0.3,
        nms_iou=0.45,
    )
    assert len(d) == 0
