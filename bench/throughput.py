"""Pipeline overhead and Vigil against the obvious per-camera loop.

- raw: the model's own ``session.run`` at batch B on ready inputs (the ceiling);
- naive: for each camera in turn read, letterbox, ``run`` a batch of one, decode, NMS;
- Vigil: the real StreamHost (capture threads, batching across cameras, tracking, rules,
  sinks to PostgreSQL, live frames to Redis) with motion gating off, file sources
  decoded as fast as they can be.
All three run in one process, one after the other, on the same video.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from bench.common import MEDIA, Section
from workers.pipeline import yolox
from workers.pipeline.catalogue import CATALOGUE, locate_model
from workers.pipeline.detector import Detector, with_dynamic_batch

VIDEO = MEDIA / "vtest_480x360.avi"


def _frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def raw_model_fps(
    model_path: Path, providers: list[str], batch: int, seconds: float, *, threads: int = 1
) -> float:
    """``session.run`` alone on ready inputs; ``threads`` > 1: that many runs side by side,
    each single-threaded and on ``batch / threads`` frames (as the stream host runs on a CPU)."""
    spec = CATALOGUE["yolox_nano"]
    model = with_dynamic_batch(onnx.load(str(model_path)), "images", "output")
    options = ort.SessionOptions()
    if threads > 1:
        options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=providers)
    per_run = max(1, batch // threads)
    inputs = np.stack([yolox.letterbox(f, spec.input_size)[0] for f in _frames(per_run)])
    session.run(None, {"images": inputs})
    counts = [0] * threads
    start = time.perf_counter()

    def loop(slot: int) -> None:
        while time.perf_counter() - start < seconds:
            session.run(None, {"images": inputs})
            counts[slot] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) * per_run / (time.perf_counter() - start)


def naive_loop_fps(model_path: Path, providers: list[str], cameras: int, seconds: float) -> float:
    """The obvious loop: one camera after the other, one frame per ``run``."""
    spec = CATALOGUE["yolox_nano"]
    session = ort.InferenceSession(str(model_path), providers=providers)
    captures = [cv2.VideoCapture(str(VIDEO)) for _ in range(cameras)]
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for capture in captures:
            ok, frame = capture.read()
            if not ok:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = capture.read()
            tensor, ratio = yolox.letterbox(frame, spec.input_size)
            raw = session.run(None, {"images": tensor[None]})[0]
            boxes, scores, class_ids = yolox.decode(raw[0], spec.input_size)
            yolox.postprocess(
                boxes, scores, class_ids, ratio=ratio, frame_shape=frame.shape, conf_threshold=0.3, nms_iou=0.45
            )
            frames += 1
    elapsed = time.perf_counter() - start
    for capture in captures:
        capture.release()
    return frames / elapsed


def vigil_fps(detector: Detector, cameras: int, seconds: float) -> dict[str, float]:
    from bench.stack import fresh_cameras, running_host

    fresh_cameras(cameras, VIDEO, detect_fps=1000.0)  # always due: as fast as frames come
    with running_host(detector, batch_size=cameras, motion_gating=False, realtime_files=False) as host:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and host.counters.frames_processed < 10 * cameras:
            time.sleep(0.1)  # all cameras online and warm
        before, batches_before = host.counters.frames_processed, host.counters.batches
        start = time.perf_counter()
        time.sleep(seconds)
        frames = host.counters.frames_processed - before
        batches = host.counters.batches - batches_before
        elapsed = time.perf_counter() - start
    return {"fps": frames / elapsed, "mean_batch": frames / max(batches, 1)}


def run(seconds: float) -> Section:
    from django.conf import settings

    from workers.runtime import inference_threads, shared_detector

    section = Section("Throughput: pipeline overhead and Vigil against the naive loop")
    spec = CATALOGUE["yolox_nano"]
    path = locate_model(spec, settings.VIGIL_MODEL_DIR)
    detector = shared_detector()
    providers, threads, cameras = detector.providers, inference_threads(), 4
    raw_one = raw_model_fps(path, providers, cameras, seconds)
    raw_side = raw_model_fps(path, providers, cameras, seconds, threads=threads) if threads > 1 else 0.0
    raw = max(raw_one, raw_side)
    naive = naive_loop_fps(path, providers, cameras, seconds)
    vigil = vigil_fps(detector, cameras, seconds)
    section.add(f"Model: {spec.name} on {', '.join(providers)}; video {VIDEO.name} (480x360) on {cameras} cameras; "
                f"{seconds:.0f} s per measurement, one run; Vigil runs {threads} batch(es) at a time.")
    section.add()
    section.add("| what | frames/s | ratio |")
    section.add("|---|---|---|")
    section.add(f"| model alone: one `session.run` at a time, batch {cameras}, ready inputs | {raw_one:.1f} | "
                f"{raw_one / raw:.2f} × raw |")
    if raw_side:
        section.add(f"| model alone: {threads} single-threaded `session.run` side by side, batch "
                    f"{cameras // threads} each, ready inputs | {raw_side:.1f} | {raw_side / raw:.2f} × raw |")
    section.add(f"| naive loop: per camera read → letterbox → run(batch 1) → decode → NMS | {naive:.1f} | "
                f"{naive / raw:.2f} × raw |")
    section.add(
        f"| Vigil StreamHost, gating off: decode → batch → detect → track → rules → PostgreSQL + Redis "
        f"(mean batch {vigil['mean_batch']:.1f}) | {vigil['fps']:.1f} | {vigil['fps'] / raw:.2f} × raw, "
        f"**{vigil['fps'] / naive:.2f} × naive** |"
    )
    section.add()
    section.add("raw = the faster of the model-alone rows: the pipeline overhead ratio is against the model's best.")
    return section
