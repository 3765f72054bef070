"""Pipeline overhead and Vigil against the obvious per-camera loop.

- raw: the model's own ``session.run`` at batch B on ready inputs (the ceiling);
- naive: for each camera in turn read, letterbox, ``run`` a batch of one, decode, NMS;
- Vigil: the real StreamHost (capture threads, batching across cameras, tracking, rules,
  sinks to PostgreSQL, live frames to Redis) with motion gating off, file sources
  decoded as fast as they can be.
All three run in one process, one after the other, on the same video.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import psutil

from bench.common import MEDIA, Section, runs_per_second
from workers.pipeline import yolox
from workers.pipeline.catalogue import CATALOGUE, locate_model
from workers.pipeline.detector import OnnxYoloxDetector, with_dynamic_batch

VIDEO = MEDIA / "vtest_480x360.avi"


def _frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames: list[np.ndarray] = []
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
    return per_run * runs_per_second(lambda: session.run(None, {"images": inputs}), threads, seconds)


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


def _thread_cpu_s() -> dict[str, float]:
    """CPU seconds of this process's threads so far, by role (the thread name's first word)."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        role = names.get(int(tid), "other").split("-")[0]
        totals[role] = totals.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def _services_cpu_s() -> dict[str, float]:
    """CPU seconds of the PostgreSQL and Redis server processes so far."""
    totals = {"PostgreSQL": 0.0, "Redis": 0.0}
    for process in psutil.process_iter(["name"]):
        name = process.info["name"] or ""
        role = "PostgreSQL" if name.startswith("postgres") else "Redis" if name.startswith("redis") else None
        if role:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                totals[role] += times.user + times.system
    return totals


def vigil_fps(detector: OnnxYoloxDetector, cameras: int, seconds: float) -> dict[str, object]:
    from bench.stack import fresh_cameras, running_host

    fresh_cameras(cameras, VIDEO, detect_fps=1000.0)  # always due: as fast as frames come
    with running_host(detector, batch_size=cameras, motion_gating=False, realtime_files=False) as host:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and host.counters.frames_processed < 10 * cameras:
            time.sleep(0.1)  # all cameras online and warm
        before, batches_before = host.counters.frames_processed, host.counters.batches
        threads_before, services_before = _thread_cpu_s(), _services_cpu_s()
        model_before = detector.stats.cpu_s
        start = time.perf_counter()
        time.sleep(seconds)
        frames = host.counters.frames_processed - before
        batches = host.counters.batches - batches_before
        elapsed = time.perf_counter() - start
        threads, services = _thread_cpu_s(), _services_cpu_s()
        model = detector.stats.cpu_s - model_before
    cpu = {role: threads[role] - threads_before.get(role, 0.0) for role in threads}
    cpu.update({role: services[role] - services_before[role] for role in services})
    cpu["model"], cpu["inference"] = model, cpu.get("inference", 0.0) - model
    return {"fps": frames / elapsed, "mean_batch": frames / max(batches, 1), "frames": frames, "elapsed": elapsed,
            "cpu": cpu}


_ROLES = {
    "model": "inference threads in `session.run`: the model",
    "inference": "inference threads outside it: letterbox, decode, NMS, tracking, rules",
    "capture": "capture threads: FFmpeg decoding",
    "sink": "sink writer: detection rows, COPY, live frames (JPEG), transactions",
    "stream": "stream host: configuration, leases, status",
    "publisher": "event pushes to the channel layer",
    "PostgreSQL": "PostgreSQL server",
    "Redis": "Redis server",
}


def run(seconds: float, rounds: int = 3) -> Section:
    from django.conf import settings

    from workers.runtime import inference_threads, shared_detector

    section = Section("Throughput: pipeline overhead and Vigil against the naive loop")
    spec = CATALOGUE["yolox_nano"]
    path = locate_model(spec, settings.VIGIL_MODEL_DIR)
    detector = shared_detector()
    providers, threads, cameras = detector.providers, inference_threads(), 4
    rows: dict[str, list[float]] = {"raw_one_2": [], "raw_one": [], "raw_side": [], "naive": [], "vigil": []}
    vigil: dict[str, object] = {}
    for _round in range(rounds):  # interleaved: a slower minute of a shared machine hits every row alike
        if threads > 1:
            rows["raw_one_2"].append(raw_model_fps(path, providers, cameras // threads, seconds))
        rows["raw_one"].append(raw_model_fps(path, providers, cameras, seconds))
        if threads > 1:
            rows["raw_side"].append(raw_model_fps(path, providers, cameras, seconds, threads=threads))
        rows["naive"].append(naive_loop_fps(path, providers, cameras, seconds))
        vigil = vigil_fps(detector, cameras, seconds)
        rows["vigil"].append(float(vigil["fps"]))  # type: ignore[arg-type]
    raws = [max(values[i] for name, values in rows.items() if name.startswith("raw") and values) for i in range(rounds)]
    median = {name: float(np.median(values)) for name, values in rows.items() if values}
    over_raw = [v / r for v, r in zip(rows["vigil"], raws)]
    over_naive = [v / n for v, n in zip(rows["vigil"], rows["naive"])]
    raw = float(np.median(raws))
    section.add(f"Model: {spec.name} on {', '.join(providers)}; video {VIDEO.name} (480x360) on {cameras} cameras; "
                f"{rounds} rounds of {seconds:.0f} s per row, the rows taken in turn within each round; medians; "
                f"Vigil runs {threads} batch(es) at a time.")
    section.add()
    section.add("| what | frames/s (median) | per round | ratio |")
    section.add("|---|---|---|---|")

    def row(label: str, name: str, ratio: str) -> None:
        per_round = ", ".join(f"{v:.1f}" for v in rows[name])
        section.add(f"| {label} | {median[name]:.1f} | {per_round} | {ratio} |")

    for name, batch in (("raw_one_2", cameras // threads), ("raw_one", cameras)):
        if rows[name]:
            row(f"model alone: one `session.run` at a time, batch {batch}, ready inputs", name,
                f"{median[name] / raw:.2f} × raw; Vigil is {median['vigil'] / median[name]:.2f} × it")
    if rows["raw_side"]:
        row(f"model alone: {threads} single-threaded `session.run` side by side, batch {cameras // threads} each, "
            "ready inputs", "raw_side", f"{median['raw_side'] / raw:.2f} × raw")
    row("naive loop: per camera read → letterbox → run(batch 1) → decode → NMS", "naive",
        f"{median['naive'] / raw:.2f} × raw")
    row(f"Vigil StreamHost, gating off: decode → batch → detect → track → rules → PostgreSQL + Redis (mean batch "
        f"{float(vigil['mean_batch']):.1f})", "vigil",  # type: ignore[arg-type]
        f"{np.median(over_raw):.2f} × raw, **{np.median(over_naive):.2f} × naive**")
    section.add()
    section.add(
        "raw = in each round the faster of the model-alone rows (the overhead ratio is against the model's best); "
        f"Vigil ÷ raw per round: {', '.join(f'{r:.2f}' for r in over_raw)}; "
        f"Vigil ÷ naive per round: {', '.join(f'{r:.2f}' for r in over_naive)}."
    )
    section.add()
    cpu: dict[str, float] = vigil["cpu"]  # type: ignore[assignment]
    frames, elapsed = float(vigil["frames"]), float(vigil["elapsed"])  # type: ignore[arg-type]
    cores = os.cpu_count() or 1
    section.add(f"Where Vigil's CPU went (last round, {frames / elapsed:.1f} frames/s, {cores} cores), per frame; the "
                f"model alone needs {cores * 1000 / raws[-1]:.1f} ms of CPU per frame at raw speed in that round:")
    section.add()
    section.add("| part | CPU per frame | share of the cores |")
    section.add("|---|---|---|")
    used = 0.0
    for role, label in _ROLES.items():
        seconds_used = cpu.get(role, 0.0)
        used += seconds_used
        section.add(f"| {label} | {1000 * seconds_used / frames:.2f} ms | {100 * seconds_used / elapsed / cores:.0f} % |")
    rest = sum(v for k, v in cpu.items() if k not in _ROLES)
    used += rest
    section.add(f"| other threads (bench) | {1000 * rest / frames:.2f} ms | {100 * rest / elapsed / cores:.0f} % |")
    idle = max(0.0, cores * elapsed - used)
    section.add(f"| idle | {1000 * idle / frames:.2f} ms | {100 * idle / elapsed / cores:.0f} % |")
    alone_ms = cores * 1000 / raws[-1]
    other_ms = 1000 * (used - cpu.get("model", 0.0)) / frames
    section.add()
    section.add(
        f"Work other than the model: {other_ms:.2f} ms of CPU per frame, {100 * other_ms / alone_ms:.0f} % of what the "
        f"model alone needs ({alone_ms:.1f} ms). With no idle core and the model as fast as alone, that work "
        f"alone caps Vigil at {alone_ms / (alone_ms + other_ms):.2f} × raw on this machine."
    )
    return section
