"""Per execution provider: the model at batch 1/8/32, Vigil's throughput, and how many
5 fps cameras one worker sustains.

Every provider this machine can start is measured the same way: TensorRT and CUDA where
there is an NVIDIA GPU (one worker per GPU), the CPU always. Capacity is measured, not
extrapolated: K cameras play the same real 480x360 H.264 file at its own rate (10 fps)
with 5 detect fps and motion gating off (every due frame goes to the detector: the worst
case), and K is sustained when every camera keeps 95 % of its 5 fps.
"""
from __future__ import annotations

import math
import time

import cv2
import numpy as np
import onnxruntime as ort
from django.conf import settings

from bench.common import MEDIA, Section, runs_per_second
from bench.stack import fresh_cameras, running_host
from workers.pipeline import yolox
from workers.pipeline.catalogue import CATALOGUE, locate_model
from workers.pipeline.detector import CPU, CUDA, TENSORRT, OnnxYoloxDetector, load_model, nvidia_driver_present
from workers.runtime import inference_threads, intra_op_threads

VIDEO = MEDIA / "vtest_480x360.avi"
BATCHES = (1, 8, 32)
DETECT_FPS = 5.0
SUSTAINED = 0.95  # of DETECT_FPS, for every camera
MAX_CAMERAS = 256
MAX_TRIALS = 7


def usable_providers() -> list[str]:
    """The providers this onnxruntime build has and this machine can drive, best first."""
    available = ort.get_available_providers()
    gpu = nvidia_driver_present()
    return [p for p in (TENSORRT, CUDA, CPU) if p in available and (p == CPU or gpu)]


def _asked(provider: str) -> tuple[str, ...]:
    """What to ask ONNX Runtime for: TensorRT with CUDA behind it for the nodes TensorRT
    leaves out, as the worker's ``auto`` does."""
    return (TENSORRT, CUDA) if provider == TENSORRT else (provider,)


def _threads(provider: str) -> int:
    """Batches in flight at once, as the stream worker runs them."""
    return inference_threads(on_cpu=provider == CPU)


def _intra_op(provider: str) -> int | None:
    return intra_op_threads(on_cpu=provider == CPU)


def _frame() -> np.ndarray:
    capture = cv2.VideoCapture(str(VIDEO))
    for _ in range(50):  # a frame with people in it
        ok, frame = capture.read()
    capture.release()
    if not ok:
        raise RuntimeError(f"cannot read {VIDEO}")
    return frame


def model_fps(provider: str, batch: int, seconds: float) -> float | None:
    """``session.run`` alone at ``batch`` on ready letterboxed inputs, as Vigil feeds it
    (uint8, one batch per inference thread, side by side); ``None``: the provider did not start."""
    spec = CATALOGUE["yolox_nano"]
    width, height = spec.input_size
    loaded = load_model(
        locate_model(spec, settings.VIGIL_MODEL_DIR), label=spec.name, output_name=None,
        item_shape=(height, width, 3), providers=_asked(provider), max_batch=max(BATCHES),
        intra_op_threads=_intra_op(provider), uint8_hwc_input=True,
    )
    if loaded.session.get_providers()[0] != provider:
        return None
    feed = {loaded.input_name: np.stack([yolox.letterbox_hwc(_frame(), spec.input_size)[0]] * batch)}
    loaded.session.run(None, feed)  # warm-up: TensorRT builds its engine here
    return batch * runs_per_second(lambda: loaded.session.run(None, feed), _threads(provider), seconds)


def sustains(detector: OnnxYoloxDetector, provider: str, cameras: int, seconds: float) -> tuple[bool, float, float]:
    """Run ``cameras`` real-time cameras at 5 detect fps, gating off; whether every camera
    kept 95 % of it, the slowest camera's fps and the worker's frames/s."""
    fresh_cameras(cameras, VIDEO, detect_fps=DETECT_FPS)
    with running_host(
        detector, batch_size=max(BATCHES), motion_gating=False, inference_threads=_threads(provider),
        capacity=MAX_CAMERAS,
    ) as host:
        deadline = time.monotonic() + 30 + cameras / 4
        while time.monotonic() < deadline and len(host.cameras) < cameras:
            time.sleep(0.2)
        time.sleep(5)  # every camera online and warm
        runtimes = list(host.cameras.values())
        before, start = [r.processed.total for r in runtimes], time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - start
        rates = [(r.processed.total - b) / elapsed for r, b in zip(runtimes, before)]
        total, slowest = sum(rates), min(rates, default=0.0)
        held = len(runtimes)
    ok = held == cameras and slowest >= SUSTAINED * DETECT_FPS
    return ok, slowest, total


def capacity(detector: OnnxYoloxDetector, provider: str, estimate: int, seconds: float) -> tuple[int, list[str]]:
    """The most cameras sustained, searched from ``estimate`` (grow or shrink by a quarter
    until one trial holds and one fails, then halve the gap); and each trial, in words."""
    trials: list[str] = []
    held, failed = 0, MAX_CAMERAS + 1  # the most cameras sustained, the fewest not
    k = max(1, min(estimate, MAX_CAMERAS))
    while failed - held > 1 and len(trials) < MAX_TRIALS:
        ok, slowest, total = sustains(detector, provider, k, seconds)
        trials.append(f"{k} cameras: {'sustained' if ok else 'not sustained'} "
                      f"(slowest camera {slowest:.2f} fps, {total:.1f} frames/s in all)")
        held, failed = (k, failed) if ok else (held, k)
        if failed > MAX_CAMERAS:
            k = min(MAX_CAMERAS, max(held + 1, math.floor(held * 1.25)))
        elif held == 0:
            k = max(1, min(failed - 1, math.floor(failed * 0.8)))
        else:
            k = (held + failed) // 2
    return held, trials


def run(seconds: float) -> Section:
    section = Section("Per execution provider: batch 1/8/32 and cameras per worker")
    spec = CATALOGUE["yolox_nano"]
    providers = usable_providers()
    missing = [p for p in (TENSORRT, CUDA) if p not in providers]
    section.add(
        f"Model {spec.name}; inputs and cameras on {VIDEO.name} (480x360 H.264, 10 fps). Model alone: frames/s of "
        "`session.run` on ready letterboxed uint8 batches, one batch per inference thread side by side as the "
        f"worker runs them ({_threads(CPU)} on this CPU, {_threads(CUDA)} on a GPU). Cameras: real-time playback "
        f"at {DETECT_FPS:g} detect fps, gating off, {seconds:.0f} s per trial; sustained = every camera at ≥ "
        f"{SUSTAINED * DETECT_FPS:.2f} fps."
    )
    if missing:
        reason = "no NVIDIA driver on this machine" if not nvidia_driver_present() else "not in this onnxruntime build"
        section.add(f"Not measured here: {', '.join(missing)} ({reason}).")
    section.add()
    section.add("| provider | " + " | ".join(f"model alone, batch {b}" for b in BATCHES)
                + " | 5 fps cameras sustained by one worker |")
    section.add("|---|" + "---|" * (len(BATCHES) + 1))
    notes: list[str] = []
    for provider in providers:
        rates = {b: model_fps(provider, b, seconds / 2) for b in BATCHES}
        if rates[1] is None:
            section.add(f"| {provider} | " + " | ".join("did not start" for _ in BATCHES) + " | |")
            continue
        detector = OnnxYoloxDetector(
            locate_model(spec, settings.VIGIL_MODEL_DIR), spec, providers=_asked(provider), max_batch=max(BATCHES),
            intra_op_threads=_intra_op(provider),
        )
        best = max(r for r in rates.values() if r)
        cameras, trials = capacity(detector, provider, math.floor(0.8 * best / DETECT_FPS), seconds)
        section.add(f"| {provider} | " + " | ".join(f"{rates[b]:.1f} frames/s" for b in BATCHES)
                    + (f" | **≥ {cameras}** (the most tried) |" if cameras >= MAX_CAMERAS else f" | **{cameras}** |"))
        notes.append(f"{provider}: " + "; ".join(trials) + ".")
    section.add()
    section.add("Capacity trials, in order (the search starts at 80 % of the model's best rate ÷ 5 fps):")
    section.add()
    for note in notes:
        section.add(f"- {note}")
    return section
