"""Object detectors behind one small interface, and the ONNX Runtime YOLOX implementation.

One detector (one ONNX Runtime session) is built per worker process and shared by all
its cameras: the newest frames of every camera that needs a look go through
:meth:`Detector.detect` together, in batches of up to ``max_batch`` per session run.
"""
from __future__ import annotations

import ctypes

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from workers.pipeline import yolox
from workers.pipeline.catalogue import ModelSpec
from workers.pipeline.detections import Detections

log = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
AUTO_ORDER = (TENSORRT, CUDA, CPU)
_ALIASES = {"tensorrt": TENSORRT, "trt": TENSORRT, "cuda": CUDA, "cpu": CPU}
_BATCH_DIM = "batch"


class Detector(Protocol):
    """Finds objects in frames. Implementations are thread-safe and built once per process."""

    spec: ModelSpec
    providers: list[str]
    """The ONNX Runtime execution providers actually in use, best first."""

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """One :class:`Detections` per frame (H, W, 3 BGR uint8, any mix of sizes), in order."""
        ...


def nvidia_driver_present() -> bool:
    """Whether this machine has the NVIDIA driver library, without which GPU providers cannot start."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def choose_providers(
    requested: Sequence[str], available: Sequence[str], *, gpu_driver: bool = True
) -> tuple[list[str], list[str]]:
    """Pick the execution providers to ask ONNX Runtime for, best first.

    ``requested`` holds provider names (``CUDAExecutionProvider``), short names
    (``tensorrt``, ``cuda``, ``cpu``) or ``auto`` (TensorRT, CUDA, CPU, whichever this
    onnxruntime build has). The CPU provider is always in the list, last unless
    requested earlier, as the provider of last resort.

    ``auto`` skips the GPU providers when ``gpu_driver`` is false: onnxruntime-gpu lists
    them on every machine, and trying them where no driver exists only fills the logs.

    Returns the providers and one human-readable reason for each requested provider
    that was dropped.

    Raises:
        ValueError: a name is neither ``auto``, a short name, nor an ``...ExecutionProvider``.
    """
    wanted: list[str] = []
    skipped_for_driver: list[str] = []
    for name in requested:
        if name.lower() == "auto":
            gpu = [p for p in AUTO_ORDER if p in available and p != CPU]
            (wanted if gpu_driver else skipped_for_driver).extend(gpu)
            wanted.append(CPU)
        elif name.lower() in _ALIASES:
            wanted.append(_ALIASES[name.lower()])
        elif name.endswith("ExecutionProvider"):
            wanted.append(name)
        else:
            raise ValueError(
                f"unknown execution provider {name!r}: use auto, tensorrt, cuda, cpu or an ONNX Runtime name"
            )
    chosen: list[str] = []
    reasons: list[str] = [
        f"{provider} skipped: no NVIDIA driver (libcuda.so.1) on this machine" for provider in skipped_for_driver
    ]
    for provider in dict.fromkeys(wanted):
        if provider in available:
            chosen.append(provider)
        else:
            reasons.append(f"{provider} is not available in this onnxruntime build (it has {', '.join(available)})")
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen, reasons


def with_dynamic_batch(model: onnx.ModelProto, input_name: str, output_name: str) -> onnx.ModelProto:
    """Make the batch dimension of a batch-1 export symbolic, in place, and return the model.

    The official YOLOX export fixes batch = 1 in the input, the output, the stored
    shape hints, and in the target shapes ``[1, 85, -1]`` of its head's Reshape nodes.
    The Reshapes get ``0`` ("copy the input's dimension") instead of the 1; the shape
    hints are dropped, ONNX Runtime infers them again.
    """
    graph = model.graph
    for value in (*graph.input, *graph.output):
        if value.name in (input_name, output_name):
            dim = value.type.tensor_type.shape.dim[0]
            dim.Clear()
            dim.dim_param = _BATCH_DIM
    del graph.value_info[:]
    initializers = {init.name: init for init in graph.initializer}
    uses = Counter(name for node in graph.node for name in node.input)
    copies: dict[str, str] = {}  # shared shape initializer -> its patched copy
    for node in graph.node:
        if node.op_type != "Reshape" or node.input[1] not in initializers:
            continue
        if any(attr.name == "allowzero" and attr.i for attr in node.attribute):
            raise ValueError(f"cannot make the batch dynamic: Reshape {node.name} sets allowzero")
        name = node.input[1]
        shape = numpy_helper.to_array(initializers[name])
        if not shape.size or shape[0] != 1:
            continue
        patched = shape.copy()
        patched[0] = 0
        if uses[name] == 1:
            initializers[name].CopyFrom(numpy_helper.from_array(patched, name))
        else:  # other nodes read it too: they keep the original
            if name not in copies:
                copies[name] = f"{name}_dynamic_batch"
                graph.initializer.append(numpy_helper.from_array(patched, copies[name]))
            node.input[1] = copies[name]
    return model


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
        self._pad_value = yolox.PAD_VALUE if pre.pad_value is None else pre.pad_value

        model = onnx.load(str(model_path))
        self._input_name = model.graph.input[0].name
        self._output_name = model.graph.output[0].name
        model_bytes = with_dynamic_batch(model, self._input_name, self._output_name).SerializeToString()

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if intra_op_threads is not None:
            options.intra_op_num_threads = intra_op_threads
        wanted, reasons = choose_providers(
            providers, ort.get_available_providers(), gpu_driver=nvidia_driver_present()
        )
        for reason in reasons:
            log.warning("%s: %s", spec.name, reason)
        self._session = self._create_session(model_bytes, options, wanted)
        self.providers: list[str] = self._session.get_providers()
        self._check_io()
        self._session.run(None, {self._input_name: np.full(self._input_shape(1), self._pad_value, np.float32)})
        log.info("%s loaded from %s on %s", spec.name, model_path, ", ".join(self.providers))

    def _create_session(
        self, model_bytes: bytes, options: ort.SessionOptions, wanted: list[str]
    ) -> ort.InferenceSession:
        """Open the session on the best provider that works, logging why each better one did not.

        ONNX Runtime either raises (a provider that fails to initialise) or silently
        drops a provider whose libraries are missing (onnxruntime-gpu on a machine
        without CUDA); both are reported here.
        """
        for start, provider in enumerate(wanted):
            candidates = wanted[start:]
            try:
                session = ort.InferenceSession(
                    model_bytes, sess_options=options, providers=[self._provider_entry(p) for p in candidates]
                )
            except Exception as exc:  # ORT raises its own Fail/RuntimeError types per provider
                log.warning("%s: %s failed to start (%s); trying %s", self.spec.name, provider, exc, candidates[1:])
                continue
            active = session.get_providers()
            for dropped in candidates:
                if dropped not in active and dropped != CPU:
                    log.warning(
                        "%s: %s could not be initialised (its CUDA/cuDNN/TensorRT libraries are missing or "
                        "no GPU is visible; see onnxruntime's message above); running on %s",
                        self.spec.name,
                        dropped,
                        active[0],
                    )
            return session
        raise RuntimeError(f"{self.spec.name}: no execution provider could start (tried {', '.join(wanted)})")

    def _provider_entry(self, provider: str) -> str | tuple[str, dict[str, str]]:
        """TensorRT builds one engine covering batch 1..max_batch, not one per batch size."""
        if provider != TENSORRT:
            return provider
        shape = "x".join(str(d) for d in self._input_shape(1)[1:])
        return (
            provider,
            {
                "trt_profile_min_shapes": f"{self._input_name}:1x{shape}",
                "trt_profile_opt_shapes": f"{self._input_name}:{self.max_batch}x{shape}",
                "trt_profile_max_shapes": f"{self._input_name}:{self.max_batch}x{shape}",
            },
        )

    def _input_shape(self, batch: int) -> tuple[int, int, int, int]:
        width, height = self.spec.input_size
        return batch, 3, height, width

    def _check_io(self) -> None:
        model_input = self._session.get_inputs()[0]
        if tuple(model_input.shape[1:]) != self._input_shape(1)[1:]:
            raise ValueError(f"{self.spec.name}: model input is {model_input.shape}, spec says {self._input_shape(1)}")

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Detect objects in each frame; see :class:`Detector`."""
        for index, frame in enumerate(frames):
            _check_frame(frame, index)
        results: list[Detections] = []
        for start in range(0, len(frames), self.max_batch):
            results += self._detect_batch(frames[start : start + self.max_batch])
        return results

    def _detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        batch = np.empty(self._input_shape(len(frames)), np.float32)
        ratios = [
            yolox.letterbox(frame, self.spec.input_size, pad_value=self._pad_value, out=batch[i])[1]
            for i, frame in enumerate(frames)
        ]
        (raw,) = self._session.run([self._output_name], {self._input_name: batch})
        boxes, scores, class_ids = yolox.decode(raw, self.spec.input_size)
        return [
            yolox.postprocess(
                boxes[i],
                scores[i],
                class_ids[i],
                ratio=ratios[i],
                frame_shape=frame.shape,
                conf_threshold=self.conf_threshold,
                nms_iou=self.nms_iou,
            )
            for i, frame in enumerate(frames)
        ]


def _check_frame(frame: object, index: int) -> None:
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame {index} is {type(frame).__name__}, not an image array")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or frame.size == 0:
        raise ValueError(
            f"frame {index} must be a non-empty (H, W, 3) uint8 BGR image, got {frame.dtype} {frame.shape}"
        )
