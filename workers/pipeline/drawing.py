"""Pictures for people: annotated frames, JPEG encoding for live views and snapshots, crops."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from workers.pipeline.detections import UNTRACKED, Detections

# Tableau-like colours (BGR) that stay readable with white or black text.
_PALETTE: tuple[tuple[int, int, int], ...] = (
    (180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148),
    (75, 86, 140), (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23),
)  # fmt: skip
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def label_text(class_names: Sequence[str], class_id: int, confidence: float, tracker_id: int) -> str:
    """``"person 0.87 #12"``; unknown classes show their number, untracked boxes no ``#``."""
    name = class_names[class_id] if 0 <= class_id < len(class_names) else f"class {class_id}"
    text = f"{name} {confidence:.2f}"
    return text if tracker_id == UNTRACKED else f"{text} #{tracker_id}"


def annotate(frame: np.ndarray, detections: Detections, class_names: Sequence[str]) -> np.ndarray:
    """A copy of ``frame`` (BGR) with a box and a label per detection.

    Colours follow the track (or the class for untracked boxes), so an object keeps
    its colour while it moves; line and text size follow the frame size.
    """
    out = frame.copy()
    height, width = out.shape[:2]
    scale = max(0.4, min(width, height) / 900)
    thickness = max(1, round(scale * 2))
    for xyxy, confidence, class_id, tracker_id in zip(
        detections.xyxy, detections.confidence, detections.class_id, detections.tracker_id
    ):
        x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
        colour = _PALETTE[int(tracker_id if tracker_id != UNTRACKED else class_id) % len(_PALETTE)]
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness, cv2.LINE_AA)
        text = label_text(class_names, int(class_id), float(confidence), int(tracker_id))
        (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
        box_h = text_h + baseline + 2 * thickness
        # Above the box when there is room, else just inside its top edge; never off-frame.
        top = y1 - box_h if y1 - box_h >= 0 else min(y1, height - box_h)
        left = min(max(0, x1), max(0, width - text_w - 2 * thickness))
        cv2.rectangle(out, (left, top), (left + text_w + 2 * thickness, top + box_h), colour, cv2.FILLED)
        text_colour = (0, 0, 0) if sum(colour) > 3 * 150 else (255, 255, 255)
        origin = (left + thickness, top + thickness + text_h)
        cv2.putText(out, text, origin, _FONT, scale, text_colour, thickness, cv2.LINE_AA)
    return out


def downscale(frame: np.ndarray, max_width: int) -> np.ndarray:
    """``frame`` shrunk to ``max_width`` pixels wide (aspect kept); unchanged if not wider."""
    height, width = frame.shape[:2]
    if width <= max_width:
        return frame
    return cv2.resize(frame, (max_width, max(1, round(height * max_width / width))), interpolation=cv2.INTER_AREA)


def encode_jpeg(frame: np.ndarray, *, max_width: int | None, quality: int = 80) -> bytes:
    """JPEG bytes of ``frame``, first shrunk to ``max_width`` pixels wide (aspect kept) if wider."""
    if max_width is not None:
        frame = downscale(frame, max_width)
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"could not encode a {frame.dtype} {frame.shape} image as JPEG")
    return buffer.tobytes()


def crop(frame: np.ndarray, xyxy: Sequence[float] | np.ndarray, pad: float = 0.1) -> np.ndarray:
    """A copy of the box ``xyxy`` grown by ``pad`` x its width/height on each side, clipped to the frame.

    The copy does not keep the whole frame alive, so crops can be queued cheaply.

    Raises:
        ValueError: the box does not overlap the frame.
    """
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    pad_x, pad_y = (x2 - x1) * pad, (y2 - y1) * pad
    left, top = max(0, int(np.floor(x1 - pad_x))), max(0, int(np.floor(y1 - pad_y)))
    right, bottom = min(width, int(np.ceil(x2 + pad_x))), min(height, int(np.ceil(y2 + pad_y)))
    if right <= left or bottom <= top:
        raise ValueError(f"box {list(xyxy)} does not overlap the {width}x{height} frame")
    return frame[top:bottom, left:right].copy()
