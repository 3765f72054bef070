"""End to end: a camera on a real RTSP stream becomes detections and a live event.

ffmpeg encodes a real sample video and an RTSP camera on 127.0.0.1 serves it
(tests/pipeline/rtsp_server.py; ffmpeg itself can only receive RTSP in listen mode);
a real StreamHost (the same
one a stream worker runs) claims the camera, detects with YOLOX, tracks, fires the
default "person seen" rule and writes to PostgreSQL; an operator's WebSocket receives
the event through the Redis channel layer.
"""
import asyncio
import time

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator

from cameras.models import Camera
from cameras.services import add_camera
from events.models import Detection, Event
from tests.conftest import client_for
from tests.pipeline.rtsp_server import RtspCamera, free_tcp_port
from vision.asgi import application
from workers.runtime import build_stream_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def rtsp_url(shared_media):
    camera = RtspCamera(shared_media / "vtest_480x360.avi", free_tcp_port())
    try:
        yield camera.url
    finally:
        camera.stop()


async def test_it_turns_an_rtsp_camera_into_persisted_detections_and_a_live_event(
    operator, rtsp_url, redis_client, media_root, settings
):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    camera = await sync_to_async(add_camera)(name="Entrance", stream_url=rtsp_url)
    session = (await sync_to_async(client_for)(operator)).cookies["sessionid"].value
    communicator = WebsocketCommunicator(
        application, "/ws/events/",
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", f"sessionid={session}".encode())],
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected

    host = await sync_to_async(build_stream_host)()
    started = time.monotonic()
    host.start()
    try:
        message = await communicator.receive_json_from(timeout=90)
        latency = time.monotonic() - started
        await asyncio.sleep(3)  # let tracks settle over a few more frames
    finally:
        await sync_to_async(host.stop)()
        await communicator.disconnect()

    event = message["event"]
    assert message["type"] == "event"
    assert event["camera_id"] == camera.pk and event["class_name"] == "person"
    assert event["rule_name"] == "Person seen" and event["track_id"] is not None
    print(f"first event {latency:.1f}s after the worker started")

    stored = await sync_to_async(Event.objects.get)(pk=event["id"])
    assert (media_root / stored.snapshot).is_file() and (media_root / stored.crop).is_file()
    detections = await sync_to_async(list)(Detection.objects.filter(camera=camera, class_name="person"))
    assert len(detections) >= 3
    assert all(d.model_name == "yolox_nano" and d.model_version for d in detections)
    tracked = [d for d in detections if d.track_id is not None]
    assert len(tracked) >= len(detections) // 2, "most person detections belong to a track"
    camera_row = await sync_to_async(Camera.objects.get)(pk=camera.pk)
    assert camera_row.worker == host.worker_id
