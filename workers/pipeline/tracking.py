"""Per-camera multi-object tracking: stable ids for the same object across frames (ByteTrack)."""
from __future__ import annotations

import dataclasses

from workers.pipeline.bytetrack import ByteTrack
from workers.pipeline.detections import Detections

_REFERENCE_FPS = 30.0
"""ByteTrack counts its lost-track buffer in frames of a 30 fps video."""


class ObjectTracker:
    """ByteTrack for one camera; tracks are class-agnostic, ids start at 1 and are never reused.

    Feed it every detector result of the camera, in capture order. When the detector
    does not run on every frame (motion gate), pass each frame's capture time as
    ``timestamp`` so the motion model and the lost-track buffer use real elapsed time;
    either always pass timestamps or never.
    """

    def __init__(
        self,
        *,
        frame_rate: float,
        lost_track_buffer_s: float = 3.0,
        track_activation_threshold: float = 0.4,
        high_conf_det_threshold: float = 0.5,
        minimum_iou_threshold: float = 0.1,
        minimum_consecutive_frames: int = 2,
    ) -> None:
        """
        Args:
            frame_rate: frames per second the detector sees for this camera.
            lost_track_buffer_s: how long a track that lost its object (occlusion, a
                missed detection) stays alive to take it back with the same id.
            track_activation_threshold: confidence a detection needs to start a track.
            high_conf_det_threshold: detections below it only extend existing tracks
                (ByteTrack's second association stage).
            minimum_iou_threshold: overlap a detection needs with a track's predicted box.
            minimum_consecutive_frames: frames a new track must be seen in before it gets
                an id; until then its detections stay ``UNTRACKED``.
        """
        if lost_track_buffer_s < 0:
            raise ValueError("lost_track_buffer_s must not be negative")
        self._tracker = ByteTrack(
            lost_track_buffer=round(lost_track_buffer_s * _REFERENCE_FPS),
            frame_rate=frame_rate,
            track_activation_threshold=track_activation_threshold,
            minimum_consecutive_frames=minimum_consecutive_frames,
            minimum_iou_threshold=minimum_iou_threshold,
            high_conf_det_threshold=high_conf_det_threshold,
        )

    def update(self, detections: Detections, timestamp: float | None = None) -> Detections:
        """Return ``detections`` in the same order, with ``tracker_id`` set (>= 1, or -1 when untracked)."""
        tracker_id = self._tracker.update(detections.xyxy, detections.confidence, timestamp)
        return dataclasses.replace(detections, tracker_id=tracker_id)

    def reset(self) -> None:
        """Forget all tracks (camera moved, stream replaced); ids start again at 1."""
        self._tracker.reset()
