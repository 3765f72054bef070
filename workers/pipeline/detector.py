"""Object detectors behind one small interface, and the ONNX Runtime YOLOX implementation.

One detector (one ONNX Runtime session) is built per worker process and shared by all
its cameras: the newest frames of every camera that needs a look go through
:meth:`Detector.detect` together, in batches of up to ``max_batch`` per session run.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from workers.pipeline import yolox
from workers.pipeline.catalogue import ModelSpec
from workers.pipeline.detections import Detections
from workers.pipeline.onnx_session import (  # noqa: F401  (some are re-exports for runtime.py, bench/, tests)
    CPU,
    CUDA,
    TENSORRT,
    check_image,
    choose_providers,
    load_model,
    nvidia_driver_present,
    with_dynamic_batch,
)

log = logging.getLogger(__name__)


class Detector(Protocol):
    """Finds objects in frames. Implementations are thread-safe and built once per process."""

    spec: ModelSpec
    providers: list[str]
    """The ONNX Runtime execution providers actually in use, best first."""

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """One :class:`Detections` per frame (H, W, 3 BGR uint8, any mix of sizes), in order."""
        ...


@dataclass
class RunStats:
    """What the detector's ``session.run`` calls have cost so far (for metrics and benchmarks)."""

    runs: int = 0
    frames: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    """CPU time of the calling threads inside ``run``: on a CPU provider, the model's own
    work (single-threaded sessions); on a GPU, the host's share."""


class OnnxYoloxDetector:
    """YOLOX (official ONNX export) on ONNX Runtime, with batching across frames.

    Frames are validated before anything runs: a frame that is ``None``, empty, not
    uint8, or not (H, W, 3) raises :class:`ValueError` naming its index.
    """

    def __init__(
        self,
        model_path: Path,
        spec: ModelSpec,
        *,
        providers: Sequence[str] = ("auto",),
        conf_threshold: float = 0.3,
        nms_iou: float = 0.45,
        max_batch: int = 8,
        intra_op_threads: int | None = None,
    ) -> None:
        pre = spec.preprocessing
        if spec.task != "detection" or (pre.channel_order, pre.resize, pre.scale) != ("BGR", "letterbox", 1.0):
            raise ValueError(f"{spec.name} is not a YOLOX detector (BGR, letterbox, pixels 0..255)")
        if pre.mean != (0.0, 0.0, 0.0) or pre.std != (1.0, 1.0, 1.0):
            raise ValueError(f"{spec.name}: YOLOX takes raw pixels; mean/std normalisation is not supported")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.spec = spec
        self.conf_threshold = conf_threshold
        self.nms_iou = nms_iou
        self.max_batch = max_batch
        pad = yolox.PAD_VALUE if pre.pad_value is None else pre.pad_value
        if pad != int(pad) or not 0 <= pad <= 255:
            raise ValueError(f"{spec.name}: pad value {pad} is not a pixel value (0..255)")
        self._pad_value = int(pad)

        loaded = load_model(
            model_path,
            label=spec.name,
            output_name=None,
            item_shape=self._input_shape(1)[1:],
            providers=providers,
            max_batch=max_batch,
            intra_op_threads=intra_op_threads,
            uint8_hwc_input=True,  # frames are letterboxed straight into the batch
        )
        self._session, self._input_name, self._output_name = loaded.session, loaded.input_name, loaded.output_name
        self.providers: list[str] = self._session.get_providers()
        self._session.run(None, {self._input_name: np.full(self._input_shape(1), self._pad_value, np.uint8)})
        self.stats = RunStats()
        self._stats_lock = threading.Lock()
        log.info("%s loaded from %s on %s", spec.name, model_path, ", ".join(self.providers))

    def _input_shape(self, batch: int) -> tuple[int, int, int, int]:
        width, height = self.spec.input_size
        return batch, height, width, 3

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Detect objects in each frame; see :class:`Detector`."""
        for index, frame in enumerate(frames):
            check_image(frame, f"frame {index}")
        results: list[Detections] = []
        for start in range(0, len(frames), self.max_batch):
            results += self._detect_batch(frames[start : start + self.max_batch])
        return results

    def _detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        batch = np.empty(self._input_shape(len(frames)), np.uint8)
        ratios = [
            yolox.letterbox_hwc(frame, self.spec.input_size, pad_value=self._pad_value, out=batch[i])[1]
            for i, frame in enumerate(frames)
        ]
        wall, cpu = time.perf_counter(), time.thread_time()
        (raw,) = self._session.run([self._output_name], {self._input_name: batch})
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        with self._stats_lock:
            self.stats.runs += 1
            self.stats.frames += len(frames)
            self.stats.wall_s += wall
            self.stats.cpu_s += cpu
        results = []
        for i, frame in enumerate(frames):
            boxes, scores, class_ids = yolox.decode_candidates(raw[i], self.spec.input_size, self.conf_threshold)
            results.append(
                yolox.postprocess(
                    boxes,
                    scores,
                    class_ids,
                    ratio=ratios[i],
                    frame_shape=frame.shape,
                    conf_threshold=self.conf_threshold,
                    nms_iou=self.nms_iou,
                )
            )
        return results
