"""Event clips end to end: a real stream worker on a real video records the seconds around an
event as browser-ready H.264 MP4, the event says so, and every operator hears it at once."""
from __future__ import annotations

import json
import shutil
import subprocess
import time

import cv2
import pytest
from channels.db import database_sync_to_async as sync_to_async

from cameras.services import add_camera
from events.models import Event
from tests.conftest import client_for
from tests.sockets import open_socket
from workers.runtime import build_stream_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

PRE_S, POST_S = 3.0, 3.0


def probe(path) -> dict:
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe (Debian's ffmpeg package) is required"
    out = subprocess.run(
        [ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-of", "json",
         "-show_entries", "stream=codec_name,pix_fmt,nb_read_frames:format=duration,format_name", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    info = json.loads(out)
    return {**info["streams"][0], **info["format"]}


async def next_of(socket, kind: str, event_id: int | None = None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = await socket.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
        if message["type"] == kind and (event_id is None or message["event"]["id"] == event_id):
            return message


async def test_a_worker_records_a_playable_clip_around_an_event(operator, video_dir, media_root, redis_client, settings):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    settings.VIGIL_CLIP_PRE_SECONDS, settings.VIGIL_CLIP_POST_SECONDS = PRE_S, POST_S
    camera = await sync_to_async(add_camera)(name="Street", stream_url="vtest_480x360.avi")
    socket, connected, _ = await open_socket("/ws/events/", operator)
    assert connected
    host = await sync_to_async(build_stream_host)()
    assert host.clips is not None, "ffmpeg is installed: clips are on"
    host.start()
    try:
        created = (await next_of(socket, "event"))["event"]
        assert created["clip_status"] == "pending" and created["clip_url"] == ""
        updated = await next_of(socket, "event.updated", created["id"], timeout=POST_S + 30)
    finally:
        await sync_to_async(host.stop)()
        await socket.disconnect()

    assert updated["action"] is None  # the worker, not an operator
    event = updated["event"]
    assert event["clip_status"] == "ready", event["clip_detail"]
    stored = await sync_to_async(Event.objects.get)(pk=event["id"])
    path = media_root / stored.clip
    assert stored.clip.startswith(f"clips/{camera.pk}/") and path.is_file()

    info = probe(path)
    assert info["codec_name"] == "h264" and info["pix_fmt"] == "yuv420p" and "mp4" in info["format_name"]
    # From the start of the buffer (the worker had just started) to POST_S after the event.
    assert POST_S <= float(info["duration"]) <= PRE_S + POST_S + 0.5
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "index first: plays while it downloads"
    capture = cv2.VideoCapture(str(path))
    decoded = 0
    while capture.read()[0]:
        decoded += 1
    capture.release()
    assert decoded == int(info["nb_read_frames"]) >= 10 * POST_S  # every frame decodes, 10 fps

    client = await sync_to_async(client_for)(operator)
    whole = await sync_to_async(client.get)(event["clip_url"])
    assert whole.status_code == 200 and whole["Content-Type"] == "video/mp4" and whole["Accept-Ranges"] == "bytes"
    part = await sync_to_async(client.get)(event["clip_url"], headers={"Range": "bytes=100-199"})  # the player seeks
    assert part.status_code == 206 and part.content == data[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(data)}"
