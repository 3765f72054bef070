"""YOLOX pre- and post-processing as pure functions, exactly as the official export expects.

The verified recipe (models/SOURCES.md, checked by the COCO AP test): BGR pixels 0..255,
letterboxed to the TOP-LEFT of a canvas filled with 114; the output rows are raw box
offsets per grid cell plus sigmoid objectness and class scores.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from workers.pipeline.detections import UNTRACKED, Detections

STRIDES = (8, 16, 32)
PAD_VALUE = 114


def letterbox(frame: np.ndarray, size: tuple[int, int], *, pad_value: int = PAD_VALUE) -> tuple[np.ndarray, float]:
    """The model's own input for ``frame``: :func:`letterbox_hwc` as a CHW float32 canvas
    (pixel values 0..255, no normalisation), as the official export takes it."""
    canvas, ratio = letterbox_hwc(frame, size, pad_value=pad_value)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32), ratio


def letterbox_hwc(
    frame: np.ndarray,
    size: tuple[int, int],
    *,
    pad_value: int = PAD_VALUE,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Resize ``frame`` (H, W, 3 BGR uint8) into a ``size = (width, height)`` canvas, keeping its aspect.

    Returns the (height, width, 3) uint8 canvas and the ratio ``r`` by which the frame
    was scaled; boxes map back to the frame as ``box / r``. ``out`` (height, width, 3)
    uint8, for example one slot of a batch, is filled in place of a new array: the
    frame is resized straight into it and only the margin is padded.
    """
    width, height = size
    h, w = frame.shape[:2]
    ratio = min(height / h, width / w)
    new_w, new_h = max(1, int(w * ratio)), max(1, int(h * ratio))
    canvas = np.empty((height, width, 3), np.uint8) if out is None else out
    placed = canvas[:new_h, :new_w]
    resized = cv2.resize(frame, (new_w, new_h), dst=placed, interpolation=cv2.INTER_LINEAR)
    if resized is not placed and not np.shares_memory(resized, placed):
        placed[...] = resized  # OpenCV could not write into the view
    canvas[new_h:] = pad_value
    canvas[:new_h, new_w:] = pad_value
    return canvas, ratio


@functools.lru_cache(maxsize=8)
def _grid(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Cell offsets (A, 2) and strides (A, 1) of every output row, for an input ``(width, height)``.

    Rows come stride 8, 16, 32 in turn, each level row-major (y outer, x inner).
    """
    width, height = size
    grids, strides = [], []
    for stride in STRIDES:
        ys, xs = np.mgrid[0 : height // stride, 0 : width // stride]
        grids.append(np.stack((xs, ys), axis=-1).reshape(-1, 2))
        strides.append(np.full((grids[-1].shape[0], 1), stride))
    grid, stride_col = np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)
    grid.flags.writeable = stride_col.flags.writeable = False  # shared through the cache
    return grid, stride_col


def decode(raw: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode raw YOLOX rows ``(..., A, 5 + C)`` on the grid of ``input_size = (width, height)``.

    Returns ``boxes`` (..., A, 4) as x1, y1, x2, y2 in network-input pixels, ``scores``
    (..., A) = objectness x best class score, and ``class_ids`` (..., A) = that class.
    """
    grid, stride = _grid(input_size)
    _check_rows(raw, grid, input_size)
    return _decode_rows(raw, grid, stride)


def decode_candidates(
    raw: np.ndarray, input_size: tuple[int, int], min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`decode` for one image's rows ``(A, 5 + C)``, but only the rows that can
    reach ``min_score``: a score is objectness x a class score, both sigmoids, so a row
    whose objectness is below ``min_score`` never passes it. Skipping those first leaves
    a few dozen of the thousands of rows, with the same detections in the end."""
    grid, stride = _grid(input_size)
    _check_rows(raw, grid, input_size)
    rows = np.flatnonzero(raw[:, 4] >= min_score)
    return _decode_rows(raw[rows], grid[rows], stride[rows])


def _check_rows(raw: np.ndarray, grid: np.ndarray, input_size: tuple[int, int]) -> None:
    if raw.shape[-2] != grid.shape[0]:
        raise ValueError(f"model output has {raw.shape[-2]} rows, a {input_size} input gives {grid.shape[0]}")


def _decode_rows(
    raw: np.ndarray, grid: np.ndarray, stride: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    centre = (raw[..., 0:2] + grid) * stride
    half = np.exp(raw[..., 2:4]) * stride / 2
    boxes = np.concatenate((centre - half, centre + half), axis=-1)
    class_scores = raw[..., 5:]
    class_ids = class_scores.argmax(axis=-1)
    scores = raw[..., 4] * np.take_along_axis(class_scores, class_ids[..., None], axis=-1)[..., 0]
    return boxes, scores, class_ids.astype(np.int32)


def postprocess(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    *,
    ratio: float,
    frame_shape: tuple[int, ...],
    conf_threshold: float,
    nms_iou: float,
) -> Detections:
    """Class-aware NMS on one image's decoded rows, then boxes in the original frame's pixels.

    ``ratio`` is the letterbox ratio of that frame; ``frame_shape`` its ``(H, W, ...)``.
    """
    keep = scores >= conf_threshold
    if not keep.any():
        return Detections.empty()
    boxes, scores, class_ids = boxes[keep], scores[keep], class_ids[keep]
    xywh = np.concatenate((boxes[:, :2], boxes[:, 2:] - boxes[:, :2]), axis=1)
    kept = np.asarray(
        cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), class_ids.tolist(), conf_threshold, nms_iou),
        dtype=np.intp,
    ).reshape(-1)
    height, width = frame_shape[:2]
    xyxy = boxes[kept] / ratio
    np.clip(xyxy[:, 0::2], 0, width, out=xyxy[:, 0::2])
    np.clip(xyxy[:, 1::2], 0, height, out=xyxy[:, 1::2])
    return Detections(
        xyxy=xyxy,
        confidence=scores[kept],
        class_id=class_ids[kept],
        tracker_id=np.full(len(kept), UNTRACKED, np.int64),
    )
