"""Live view end to end: a real stream worker's frames reach a browser socket through Redis with
the boxes found in them, and keep coming while the scene is still (the detector skips those)."""
from __future__ import annotations

import shutil
import subprocess
import time
from collections import defaultdict

import pytest
from channels.db import database_sync_to_async as sync_to_async

from cameras.services import add_camera
from tests.sockets import is_frame, open_socket, receive
from workers.runtime import build_stream_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def videos(settings, shared_media, tmp_path):
    """The street video, and 30 s of one of its frames held still, in the video folder."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg (Debian's package) is required"
    street = shared_media / "vtest_480x360.avi"
    frame, still = tmp_path / "frame.png", tmp_path / "still.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-ss", "12", "-i", str(street), "-frames:v", "1", str(frame)], check=True)
    subprocess.run([ffmpeg, "-v", "error", "-loop", "1", "-framerate", "10", "-t", "30", "-i", str(frame),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(still)], check=True)
    shutil.copyfile(street, tmp_path / "street.avi")  # 3 MB; a link would lead out of the video folder
    settings.VIGIL_VIDEO_DIR = tmp_path
    return tmp_path


async def test_live_frames_flow_with_their_boxes_moving_or_still(operator, videos, media_root, redis_client, settings):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    settings.VIGIL_LIVE_FPS = 5.0
    street = await sync_to_async(add_camera)(name="Street", stream_url="street.avi")
    still = await sync_to_async(add_camera)(name="Still", stream_url="still.mp4")
    socket, connected, _ = await open_socket("/ws/live/", operator)
    assert connected
    await socket.send_json_to({"type": "subscribe", "cameras": [street.pk, still.pk]})
    host = await sync_to_async(build_stream_host)()
    host.start()
    frames: dict[int, list[dict]] = defaultdict(list)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and min(len(frames[street.pk]), len(frames[still.pk])) < 1:
            message = await receive(socket, timeout=30)  # the worker's first frames
            if is_frame(message):
                frames[message[0]["camera_id"]].append(message[0])
                await socket.send_json_to({"type": "ack", "camera_id": message[0]["camera_id"]})
        started = time.monotonic()
        while time.monotonic() - started < 4.0:
            message = await receive(socket, timeout=5)
            if is_frame(message):
                frames[message[0]["camera_id"]].append(message[0])
                await socket.send_json_to({"type": "ack", "camera_id": message[0]["camera_id"]})
    finally:
        await sync_to_async(host.stop)()
        await socket.disconnect()

    assert host.counters.frames_skipped_still > 0, "the still camera was gated"
    for camera in (street, still):
        assert len(frames[camera.pk]) >= 3 * 4.0, f"{camera.name}: about 5 fps, still or not"
    boxes = [box for header in frames[street.pk] for box in header["boxes"]]
    assert boxes and all(0 <= v <= 1 for box in boxes for v in box["box"])
    assert "person" in {box["class_name"] for box in boxes} and any(b["track_id"] > 0 for b in boxes)
    # The people standing in the still picture keep their boxes while the detector rests.
    assert all(header["boxes"] for header in frames[still.pk][-5:])
