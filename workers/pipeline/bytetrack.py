"""ByteTrack with every track's Kalman filter held in stacked arrays.

The algorithm, its constants and its timestamp rules are those of
``trackers.ByteTrackTracker`` (v2, corner-based ``XYXYStateEstimator``) as the pipeline
configures it, so ids come out the same; ``tests/pipeline/test_tracking.py`` checks that
frame by frame against the library on real video. What changes is the cost: the library
keeps one Python Kalman object per track and runs small matrix products and a 4x4
inverse for each of them, every frame; here predict and update run once per frame on
``(N, 8)`` means and ``(N, 8, 8)`` covariances, whatever ``N`` is.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from workers.pipeline.detections import UNTRACKED

log = logging.getLogger(__name__)

_REFERENCE_FPS = 30.0
"""ByteTrack counts its lost-track buffer in frames of a 30 fps video."""

# The state is x1, y1, x2, y2 followed by their velocities; a detection measures the corners.
_DIM = 8
_MEASUREMENT_NOISE = np.eye(4) * 0.1
_PROCESS_NOISE = np.eye(_DIM) * 0.01
"""ByteTrack's tuning of the one-frame noise (the library's identity scaled by 0.1 and 0.01)."""
_ACCELERATION_VARIANCE = 0.01
"""The velocity diagonal of ``_PROCESS_NOISE``: scales the noise over gaps (white-noise acceleration)."""
_NOMINAL_STEP_TOLERANCE_S = 0.004
"""A timestamped step within 4 ms of one frame period counts as one frame (clock jitter)."""
_NOMINAL_STEP_TOLERANCE_FRAMES = 0.1
"""The same band when no frame rate is given (fixed-rate steps are exactly 1.0 anyway)."""


@dataclass(frozen=True)
class _Timing:
    """One predict step: its length in frames, and in seconds when timestamps are in use."""

    frames: float
    seconds: float | None
    frame_rate: float | None = None


class ByteTrack:
    """Class-agnostic ByteTrack; ids start at 1 and are never reused until :meth:`reset`."""

    def __init__(
        self,
        *,
        lost_track_buffer: int,
        frame_rate: float,
        track_activation_threshold: float,
        high_conf_det_threshold: float,
        minimum_iou_threshold: float,
        minimum_consecutive_frames: int,
    ) -> None:
        """
        Args:
            lost_track_buffer: frames of a 30 fps video a lost track survives; scaled to
                ``frame_rate`` without timestamps, converted to seconds with them.
            frame_rate: frames per second the tracker is fed (the step of a call without
                timestamp, and of the first timestamped call).
            track_activation_threshold: confidence a detection needs to start a track.
            high_conf_det_threshold: detections below it only extend existing tracks.
            minimum_iou_threshold: overlap a detection needs with a track's predicted box.
            minimum_consecutive_frames: consecutive matches before a track gets an id.
        """
        if lost_track_buffer < 0:
            raise ValueError("lost_track_buffer must not be negative")
        if not math.isfinite(frame_rate) or frame_rate <= 0:
            raise ValueError("frame_rate must be a finite positive value")
        self.max_misses = max(1, math.ceil(frame_rate / _REFERENCE_FPS * lost_track_buffer)) if lost_track_buffer else 0
        self.max_miss_seconds = lost_track_buffer / _REFERENCE_FPS
        self.frame_rate = frame_rate
        self.track_activation_threshold = track_activation_threshold
        self.high_conf_det_threshold = high_conf_det_threshold
        self.minimum_iou_threshold = minimum_iou_threshold
        self.minimum_consecutive_frames = minimum_consecutive_frames
        self.reset()

    def reset(self) -> None:
        """Forget all tracks and the last timestamp; ids start again at 1."""
        self._next_id = 1
        self._last_timestamp: float | None = None
        self._mean = np.empty((0, _DIM))
        self._covariance = np.empty((0, _DIM, _DIM))
        self._id = np.empty(0, np.int64)  # UNTRACKED until the track is confirmed
        self._misses = np.empty(0, np.int64)  # predicts since the last match
        self._miss_seconds = np.empty(0)  # seconds since the last match (timestamped mode)
        self._streak = np.empty(0, np.int64)  # consecutive matched frames

    def update(self, xyxy: np.ndarray, confidence: np.ndarray, timestamp: float | None = None) -> np.ndarray:
        """Track one frame's boxes; return each box's track id (>= 1) or ``UNTRACKED``, in input order.

        ``timestamp`` is the capture time in seconds; pass it on every call or on none. A
        repeated timestamp matches without moving the tracks; an earlier one (or NaN) is
        ignored and leaves every box untracked.
        """
        ids = np.full(len(xyxy), UNTRACKED, np.int64)
        timing = self._timing(timestamp)
        if timing is None or (not len(self._id) and not len(xyxy)):
            return ids
        if timing.frames > 0:
            self._predict(timing)
        seconds_budget = self.max_miss_seconds if timing.seconds is not None else None
        if seconds_budget is not None:
            # A track that ran out of time during a gap must not be revived under its old id.
            self._keep(self._miss_seconds <= seconds_budget)

        high = np.flatnonzero(confidence >= self.high_conf_det_threshold)
        low = np.flatnonzero(~(confidence >= self.high_conf_det_threshold))
        predicted = self._mean[:, :4]
        tracks_high, dets_high, unmatched_tracks, unmatched_high = _associate(
            predicted, xyxy[high], self.minimum_iou_threshold
        )
        tracks_low, dets_low, _, _ = _associate(predicted[unmatched_tracks], xyxy[low], self.minimum_iou_threshold)
        matched = np.concatenate([tracks_high, unmatched_tracks[tracks_low]])
        matched_dets = np.concatenate([high[dets_high], low[dets_low]])
        self._correct(matched, xyxy[matched_dets])
        ids[matched_dets] = self._id[matched]

        spawn = high[unmatched_high]
        spawn = spawn[confidence[spawn].astype(np.float64) >= self.track_activation_threshold]
        self._spawn(xyxy[spawn])

        within_budget = (
            self._miss_seconds <= seconds_budget if seconds_budget is not None else self._misses <= self.max_misses
        )
        confirmed = (self._id != UNTRACKED) | (self._streak >= self.minimum_consecutive_frames)
        self._keep(within_budget & (confirmed | (self._misses == 0)))
        return ids

    def _timing(self, timestamp: float | None) -> _Timing | None:
        """The predict step for this call, or ``None`` when the call must be ignored."""
        if timestamp is None:
            self._last_timestamp = None
            return _Timing(frames=1.0, seconds=None)
        if not math.isfinite(timestamp):
            log.warning("timestamp %r is not finite; frame ignored", timestamp)
            return None
        last = self._last_timestamp
        if last is not None and timestamp < last:
            log.warning("timestamp %s is earlier than the previous %s; frame ignored", timestamp, last)
            return None
        if last is not None and timestamp == last:
            return _Timing(frames=0.0, seconds=0.0)
        # The first timestamp has no predecessor: it counts as one frame period.
        elapsed = 1.0 / self.frame_rate if last is None else timestamp - last
        self._last_timestamp = timestamp
        return _Timing(frames=elapsed * self.frame_rate, seconds=elapsed, frame_rate=self.frame_rate)

    def _predict(self, timing: _Timing) -> None:
        """Move every track one step of constant velocity and age its miss counters."""
        dt = timing.frames
        transition = np.eye(_DIM)
        transition[range(4), range(4, 8)] = dt
        self._mean = self._mean @ transition.T
        self._covariance = transition @ self._covariance @ transition.T + _process_noise(dt, timing.frame_rate)
        self._streak[self._misses > 0] = 0
        self._misses += 1
        if timing.seconds is None:
            self._miss_seconds[:] = 0.0  # fixed-rate steps do not count time
        else:
            self._miss_seconds += timing.seconds

    def _correct(self, tracks: np.ndarray, boxes: np.ndarray) -> None:
        """Kalman-update ``tracks`` with their matched boxes; confirm those that reached the streak.

        Ids go out in the order of ``tracks``: the library confirms the high-confidence
        matches first, then the low ones, each in track order.
        """
        covariance = self._covariance[tracks]
        cross = covariance[:, :, :4]  # P H^T: the measurement is the first four states
        gain = cross @ np.linalg.inv(covariance[:, :4, :4] + _MEASUREMENT_NOISE)
        innovation = boxes.astype(np.float64) - self._mean[tracks, :4]
        self._mean[tracks] += (gain @ innovation[:, :, None])[:, :, 0]
        # Joseph form, as the library computes it.
        i_kh = np.eye(_DIM) - np.concatenate([gain, np.zeros_like(gain)], axis=2)
        gain_t = gain.transpose(0, 2, 1)
        self._covariance[tracks] = i_kh @ covariance @ i_kh.transpose(0, 2, 1) + gain @ _MEASUREMENT_NOISE @ gain_t
        self._misses[tracks] = 0
        self._miss_seconds[tracks] = 0.0
        self._streak[tracks] += 1
        confirm = tracks[(self._streak[tracks] >= self.minimum_consecutive_frames) & (self._id[tracks] == UNTRACKED)]
        self._id[confirm] = np.arange(self._next_id, self._next_id + len(confirm))
        self._next_id += len(confirm)

    def _spawn(self, boxes: np.ndarray) -> None:
        """Start an unconfirmed track at each box: at rest, identity covariance, one match so far."""
        n = len(boxes)
        mean = np.zeros((n, _DIM))
        mean[:, :4] = boxes
        self._mean = np.concatenate([self._mean, mean])
        self._covariance = np.concatenate([self._covariance, np.broadcast_to(np.eye(_DIM), (n, _DIM, _DIM))])
        self._id = np.concatenate([self._id, np.full(n, UNTRACKED, np.int64)])
        self._misses = np.concatenate([self._misses, np.zeros(n, np.int64)])
        self._miss_seconds = np.concatenate([self._miss_seconds, np.zeros(n)])
        self._streak = np.concatenate([self._streak, np.ones(n, np.int64)])

    def _keep(self, alive: np.ndarray) -> None:
        self._mean = self._mean[alive]
        self._covariance = self._covariance[alive]
        self._id = self._id[alive]
        self._misses = self._misses[alive]
        self._miss_seconds = self._miss_seconds[alive]
        self._streak = self._streak[alive]


def _process_noise(dt: float, frame_rate: float | None) -> np.ndarray:
    """Process noise for a step of ``dt`` frames.

    Near one frame it is ByteTrack's tuned noise; over other steps it is the discrete
    white-noise-acceleration model built from that tuning's velocity variance.
    """
    tolerance = _NOMINAL_STEP_TOLERANCE_S * frame_rate if frame_rate else _NOMINAL_STEP_TOLERANCE_FRAMES
    if abs(dt - 1.0) <= tolerance:
        return _PROCESS_NOISE
    dt2 = dt * dt
    block = _ACCELERATION_VARIANCE * np.array([[dt2 * dt2 / 4.0, dt2 * dt / 2.0], [dt2 * dt / 2.0, dt2]])
    return np.kron(block, np.eye(4))


def _associate(
    tracks: np.ndarray, boxes: np.ndarray, minimum_iou: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Optimal IoU matching: matched track rows, their box rows, unmatched tracks, unmatched boxes.

    Pairs under ``minimum_iou`` are dropped after the assignment (not excluded from it),
    and the matches come in track order, both as in the library.
    """
    matched_tracks = matched_boxes = np.empty(0, np.int64)
    if len(tracks) and len(boxes):
        iou = _iou(tracks, boxes)
        rows, cols = linear_sum_assignment(iou, maximize=True)
        good = iou[rows, cols] >= minimum_iou
        matched_tracks, matched_boxes = rows[good].astype(np.int64), cols[good].astype(np.int64)
    return matched_tracks, matched_boxes, _others(len(tracks), matched_tracks), _others(len(boxes), matched_boxes)


def _others(n: int, taken: np.ndarray) -> np.ndarray:
    """The indices below ``n`` not in ``taken``, ascending (``np.setdiff1d`` costs ten times more)."""
    free = np.ones(n, bool)
    free[taken] = False
    return np.flatnonzero(free)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU, computed in float64 and rounded to float32 like ``supervision.box_iou_batch``.

    The rounding matters: it decides ties and the threshold exactly as the library does.
    """
    a, b = a.astype(np.float64), b.astype(np.float64)
    width = np.maximum(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0.0)
    height = np.maximum(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0.0)
    intersection = width * height
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - intersection
    iou = np.zeros(intersection.shape, np.float32)
    np.divide(intersection, union, out=iou, where=union > 0)
    return iou
