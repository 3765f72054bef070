"""ONNX Runtime plumbing shared by the pipeline's models (detector, embedder).

Execution provider choice, session creation with fallback, a dynamic batch dimension
for batch-1 exports, and the check every image input goes through.
"""
from __future__ import annotations

import copy
import ctypes
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

log = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
AUTO_ORDER = (TENSORRT, CUDA, CPU)
_ALIASES = {"tensorrt": TENSORRT, "trt": TENSORRT, "cuda": CUDA, "cpu": CPU}
_BATCH_DIM = "batch"


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


def with_uint8_hwc_input(model: onnx.ModelProto, input_name: str) -> onnx.ModelProto:
    """Make a float NCHW image input take uint8 NHWC pixels, in place, and return the model.

    A Cast and a Transpose in front of the network do what the caller would otherwise do
    in NumPy for every frame; both are exact (0..255 integers are exact in float32), so
    the outputs do not change. The frame then goes into the batch with one resize, and a
    GPU receives a quarter of the bytes. The input keeps its name.
    """
    graph = model.graph
    (value,) = [v for v in graph.input if v.name == input_name]
    dims = value.type.tensor_type.shape.dim
    if value.type.tensor_type.elem_type != onnx.TensorProto.FLOAT or len(dims) != 4 or dims[1].dim_value != 3:
        raise ValueError(f"input {input_name!r} is not a float (N, 3, H, W) image")
    inner = f"{input_name}_nchw_float"
    for node in graph.node:
        node.input[:] = [inner if name == input_name else name for name in node.input]
    hwc = f"{input_name}_nhwc_float"
    graph.node.insert(0, onnx.helper.make_node("Transpose", [hwc], [inner], perm=[0, 3, 1, 2]))
    graph.node.insert(0, onnx.helper.make_node("Cast", [input_name], [hwc], to=onnx.TensorProto.FLOAT))
    batch, _, height, width = (copy.deepcopy(d) for d in dims)
    value.type.tensor_type.elem_type = onnx.TensorProto.UINT8
    for dim, source in zip(dims, (batch, height, width), strict=False):
        dim.CopyFrom(source)
    dims[3].Clear()
    dims[3].dim_value = 3
    return model


def open_session(
    model_bytes: bytes,
    *,
    label: str,
    providers: Sequence[str],
    input_name: str,
    item_shape: tuple[int, ...],
    max_batch: int,
    intra_op_threads: int | None = None,
) -> ort.InferenceSession:
    """Open a session on the best of the ``providers`` (see :func:`choose_providers`) that works.

    ONNX Runtime either raises (a provider that fails to initialise) or silently drops
    a provider whose libraries are missing (onnxruntime-gpu on a machine without CUDA);
    both are logged with ``label`` (the model's name) and the next provider is used.

    Args:
        item_shape: the input shape of one batch item (``(3, H, W)``, ``(H, W, 3)``); with
            ``max_batch`` it sizes TensorRT's one engine for batches 1..max_batch.

    Raises:
        RuntimeError: no provider could start, not even the CPU.
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if intra_op_threads is not None:
        options.intra_op_num_threads = intra_op_threads
    wanted, reasons = choose_providers(providers, ort.get_available_providers(), gpu_driver=nvidia_driver_present())
    for reason in reasons:
        log.warning("%s: %s", label, reason)
    for start, provider in enumerate(wanted):
        candidates = wanted[start:]
        try:
            session = ort.InferenceSession(
                model_bytes,
                sess_options=options,
                providers=[_provider_entry(p, input_name, item_shape, max_batch) for p in candidates],
            )
        except Exception as exc:  # ORT raises its own Fail/RuntimeError types per provider
            log.warning("%s: %s failed to start (%s); trying %s", label, provider, exc, candidates[1:])
            continue
        active = session.get_providers()
        for dropped in candidates:
            if dropped not in active and dropped != CPU:
                log.warning(
                    "%s: %s could not be initialised (its CUDA/cuDNN/TensorRT libraries are missing or "
                    "no GPU is visible; see onnxruntime's message above); running on %s",
                    label,
                    dropped,
                    active[0],
                )
        return session
    raise RuntimeError(f"{label}: no execution provider could start (tried {', '.join(wanted)})")


@dataclass(frozen=True)
class LoadedModel:
    session: ort.InferenceSession
    input_name: str
    output_name: str


def load_model(
    model_path: Path,
    *,
    label: str,
    output_name: str | None,
    item_shape: tuple[int, ...],
    providers: Sequence[str],
    max_batch: int,
    intra_op_threads: int | None = None,
    uint8_hwc_input: bool = False,
) -> LoadedModel:
    """Load a batch-1 export, make its batch dynamic and open it (see :func:`open_session`).

    Args:
        output_name: the output to keep; ``None``: the model's first.
        item_shape: what one batch item must look like (``(3, H, W)``, or ``(H, W, 3)``
            with ``uint8_hwc_input``), checked against the model.
        uint8_hwc_input: feed uint8 (N, H, W, 3) pixels (see :func:`with_uint8_hwc_input`).

    Raises:
        ValueError: the model has no such output, or its input is not ``item_shape``.
    """
    model = onnx.load(str(model_path))
    input_name = model.graph.input[0].name
    outputs = [output.name for output in model.graph.output]
    output_name = output_name or outputs[0]
    if output_name not in outputs:
        raise ValueError(f"{label} has no {output_name!r} output (it has {', '.join(outputs)})")
    model = with_dynamic_batch(model, input_name, output_name)
    if uint8_hwc_input:
        model = with_uint8_hwc_input(model, input_name)
    session = open_session(
        model.SerializeToString(),
        label=label,
        providers=providers,
        input_name=input_name,
        item_shape=item_shape,
        max_batch=max_batch,
        intra_op_threads=intra_op_threads,
    )
    model_input = session.get_inputs()[0]
    if tuple(model_input.shape[1:]) != item_shape:
        raise ValueError(
            f"{label}: the model file takes inputs of shape {model_input.shape}, but the catalogue's {label} takes "
            f"{['batch', *item_shape]}: the file is another model (fetch it again with manage.py fetch_models)"
        )
    return LoadedModel(session, input_name, output_name)


def _provider_entry(
    provider: str, input_name: str, item_shape: tuple[int, ...], max_batch: int
) -> str | tuple[str, dict[str, str]]:
    """TensorRT builds one engine covering batch 1..max_batch, not one per batch size."""
    if provider != TENSORRT:
        return provider
    shape = "x".join(str(d) for d in item_shape)
    return (
        provider,
        {
            "trt_profile_min_shapes": f"{input_name}:1x{shape}",
            "trt_profile_opt_shapes": f"{input_name}:{max_batch}x{shape}",
            "trt_profile_max_shapes": f"{input_name}:{max_batch}x{shape}",
        },
    )


def check_image(image: object, what: str) -> None:
    """Raise :class:`ValueError` naming ``what`` (``"frame 3"``) unless ``image`` is a non-empty BGR uint8 image."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{what} is {type(image).__name__}, not an image array")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ValueError(f"{what} must be a non-empty (H, W, 3) uint8 BGR image, got {image.dtype} {image.shape}")
