"""Stream worker memory: RSS per camera, and RSS over a long run (no leak)."""
from __future__ import annotations

import time

import psutil

from bench.common import MEDIA, Section
from bench.stack import fresh_cameras, running_host
from workers.pipeline.detector import Detector

VIDEO = MEDIA / "vtest_480x360.avi"


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


def run(detector: Detector, soak_seconds: float) -> Section:
    section = Section("Memory: stream worker RSS")
    base = _rss_mb()
    rows = []
    for cameras in (1, 4, 8):
        fresh_cameras(cameras, VIDEO, detect_fps=5.0)
        with running_host(detector, batch_size=8, motion_gating=True):
            time.sleep(20)
            rows.append((cameras, _rss_mb()))
    section.add(f"Process RSS with the detector loaded and no camera: {base:.0f} MiB. "
                "Cameras on a real-time 480x360 file at 5 detect fps, after 20 s:")
    section.add()
    section.add("| cameras | RSS | per camera over the empty worker |")
    section.add("|---|---|---|")
    for cameras, rss in rows:
        section.add(f"| {cameras} | {rss:.0f} MiB | {(rss - base) / cameras:.1f} MiB |")
    section.add()

    fresh_cameras(4, VIDEO, detect_fps=5.0)
    samples: list[tuple[float, float]] = []
    with running_host(detector, batch_size=8, motion_gating=True) as host:
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < soak_seconds:
            time.sleep(min(30.0, soak_seconds / 10))
            samples.append((time.monotonic() - start, _rss_mb()))
        processed = host.counters.frames_processed
    first_half = [rss for t, rss in samples if t <= soak_seconds / 2]
    second_half = [rss for t, rss in samples if t > soak_seconds / 2]
    section.add(f"Soak: 4 cameras for {soak_seconds / 60:.0f} min ({processed} frames through the detector), "
                f"RSS sampled every {samples[0][0]:.0f} s:")
    section.add()
    section.add("| minute | " + " | ".join(f"{t / 60:.1f}" for t, _ in samples) + " |")
    section.add("|---|" + "---|" * len(samples))
    section.add("| RSS MiB | " + " | ".join(f"{rss:.0f}" for _, rss in samples) + " |")
    section.add()
    if first_half and second_half:
        drift = max(second_half) - max(first_half)
        section.add(f"Peak RSS, second half − first half: {drift:+.0f} MiB.")
    del elapsed
    return section
