"""The one type that flows through the pipeline: detections of one frame as parallel arrays."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

UNTRACKED = -1
"""``tracker_id`` of a detection that no track owns (yet)."""

Index = int | slice | Sequence[int] | Sequence[bool] | npt.NDArray[np.bool_] | npt.NDArray[np.integer]


@dataclass(eq=False)
class Detections:
    """Boxes found in one frame, one row per object, in that frame's pixel coordinates.

    The arrays are converted to their canonical dtypes on construction (float64 boxes
    or int64 class ids are fine), and their shapes are checked, so a misaligned row can
    never attach a confidence or a track to the wrong box.
    """

    xyxy: np.ndarray
    """float32 ``(N, 4)``: x1, y1, x2, y2 in pixels."""
    confidence: np.ndarray
    """float32 ``(N,)``."""
    class_id: np.ndarray
    """int32 ``(N,)``: index into the model's ``class_names``."""
    tracker_id: np.ndarray
    """int64 ``(N,)``: stable id of the object's track (>= 1), or ``UNTRACKED`` (-1)."""

    def __post_init__(self) -> None:
        self.xyxy = np.ascontiguousarray(self.xyxy, dtype=np.float32)
        if self.xyxy.size == 0:
            self.xyxy = self.xyxy.reshape(0, 4)  # ``[]`` and friends
        self.confidence = np.ascontiguousarray(self.confidence, dtype=np.float32)
        self.class_id = np.ascontiguousarray(self.class_id, dtype=np.int32)
        self.tracker_id = np.ascontiguousarray(self.tracker_id, dtype=np.int64)
        if self.xyxy.ndim != 2 or self.xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must have shape (N, 4), got {self.xyxy.shape}")
        n = self.xyxy.shape[0]
        for name in ("confidence", "class_id", "tracker_id"):
            shape = getattr(self, name).shape
            if shape != (n,):
                raise ValueError(f"{name} must have shape ({n},) to match xyxy, got {shape}")

    @classmethod
    def empty(cls) -> Detections:
        """No detections."""
        return cls(
            xyxy=np.empty((0, 4), np.float32),
            confidence=np.empty(0, np.float32),
            class_id=np.empty(0, np.int32),
            tracker_id=np.empty(0, np.int64),
        )

    @classmethod
    def merge(cls, parts: Sequence[Detections]) -> Detections:
        """Concatenate detections of the same frame (for example from several zones or models)."""
        if not parts:
            return cls.empty()
        return cls(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            tracker_id=np.concatenate([p.tracker_id for p in parts]),
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: Index) -> Detections:
        """Select rows by boolean mask, index array, slice or a single int (kept as one row)."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        if not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == np.bool_ and index.shape != (len(self),):
                raise IndexError(f"boolean mask of shape {index.shape} does not match {len(self)} detections")
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=self.tracker_id[index],
        )
