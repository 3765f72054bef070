"""Live view: frames per second delivered per camera, and the web process's CPU, for 16 cameras.

Frames are published as a stream worker's sink publishes them (``events.live.store_frame``:
the newest blob under its key, and on the camera's channel) at ``VIGIL_LIVE_FPS`` per camera,
real JPEGs of a real video with boxes, so the figure is the web side alone (a worker running
16 cameras would take the same two cores). Viewers on /ws/live/ subscribe to every camera and
acknowledge each frame, as the live wall does.
"""
from __future__ import annotations

import multiprocessing
import threading
import time

import cv2
from django.conf import settings

from bench.common import MEDIA, Section
from bench.stack import fresh_cameras
from bench.web import daphne, operator_session
from bench.ws_clients import live_clients
from events.live import LiveBox, LiveHeader, store_frame
from vision.redis_client import get_redis
from workers.pipeline.drawing import encode_jpeg

CAMERAS = 16
VIEWERS = (1, 10)
VIDEO = MEDIA / "vtest_480x360.avi"


def _jpegs(count: int = 50) -> list[bytes]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames: list[bytes] = []
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(encode_jpeg(image, max_width=960))
    capture.release()
    return frames


def _publish(camera_ids: list[int], fps: float, stop: threading.Event) -> None:
    """Every camera's frame at ``fps``, cameras spread over each period like independent workers."""
    client, jpegs = get_redis(), _jpegs()
    boxes: list[LiveBox] = [{"box": [0.1 + 0.05 * i, 0.2, 0.2 + 0.05 * i, 0.7], "class_name": "person", "confidence": 0.8,
              "track_id": i + 1} for i in range(4)]
    started, n = time.monotonic(), 0
    while not stop.is_set():
        for i, camera_id in enumerate(camera_ids):
            due = started + (n + i / len(camera_ids)) / fps
            time.sleep(max(0.0, due - time.monotonic()))
            header: LiveHeader = {"camera_id": camera_id, "captured_at": time.time(), "width": 480, "height": 360,
                                  "boxes": boxes}
            store_frame(client, header, jpegs[n % len(jpegs)])
        n += 1


def run(seconds: float) -> Section:
    section = Section(f"Live view: {CAMERAS} cameras through the web process")
    camera_ids = fresh_cameras(CAMERAS, VIDEO, detect_fps=5.0)  # no worker runs them: frames come from _publish
    session = operator_session()
    fps = settings.VIGIL_LIVE_FPS
    rows = []
    stop = threading.Event()
    publisher = threading.Thread(target=_publish, args=(camera_ids, fps, stop), daemon=True)
    publisher.start()
    try:
        with daphne() as web:
            for viewers in VIEWERS:
                context = multiprocessing.get_context("spawn")
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=live_clients, args=(web.port, session, viewers, camera_ids, theirs), daemon=True
                )
                process.start()
                ours.recv()  # subscribed, first frames past: measuring from now
                cpu_before, wall_before = web.cpu_seconds(), time.monotonic()
                ours.send(seconds)
                _kind, counts, elapsed, _cpu = ours.recv()
                cpu = (web.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
                process.join(10)
                per_camera = [c.get(cid, 0) / elapsed for c in counts for cid in camera_ids]
                rows.append((viewers, per_camera, cpu))
    finally:
        stop.set()
        publisher.join(5)
    section.add(f"{CAMERAS} cameras each publishing {fps:g} frames/s (480x360 JPEG, ~{len(_jpegs(1)[0]) // 1024} KiB, "
                f"4 boxes) into Redis as the sink does; viewers subscribe to all {CAMERAS} on /ws/live/ and "
                f"acknowledge every frame; {seconds:.0f} s per row; one Daphne.")
    section.add()
    section.add("| viewers | frames/s per camera per viewer: mean | min | frames/s sent in all | web process CPU |")
    section.add("|---|---|---|---|---|")
    for viewers, per_camera, cpu in rows:
        section.add(f"| {viewers} | {sum(per_camera) / len(per_camera):.2f} | {min(per_camera):.2f} | "
                    f"{sum(per_camera):.0f} | {100 * cpu:.0f} % of a core |")
    section.add()
    section.add("Each frame crosses Redis once per web process (its hub subscribes to the cameras watched) and is "
                "forwarded to every viewer byte for byte; a viewer that has not acknowledged its last 2 frames of a "
                "camera gets that camera's newest frame once it does, never a backlog.")
    return section
