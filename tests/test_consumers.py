"""The operators' WebSocket on the real Redis channel layer, through the real ASGI stack."""
import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator

from cameras.services import add_camera
from events.publisher import publish_camera_changed, publish_event
from tests.conftest import client_for
from vision.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _headers(user=None):
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        session = client_for(user).cookies["sessionid"].value
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return headers


def _payload(camera, event_id=1):
    return {
        "id": event_id, "camera_id": camera.pk, "camera_name": camera.name, "rule_name": "Person seen",
        "class_name": "person", "confidence": 0.9, "severity": "warning", "status": "new", "track_id": 4,
        "captured_at": "2026-11-23T10:00:00+00:00", "created_at": "2026-11-23T10:00:00+00:00",
        "snapshot_url": "", "box": [1.0, 2.0, 3.0, 4.0], "frame_size": [480, 360],
    }


async def _connect(user=None):
    headers = await sync_to_async(_headers)(user)
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_it_refuses_an_anonymous_socket(redis_client):
    communicator, connected, code = await _connect()
    assert not connected
    assert code == 4401


async def test_it_refuses_a_user_without_a_role(nobody, redis_client):
    communicator, connected, code = await _connect(nobody)
    assert not connected and code == 4403


async def test_it_delivers_events_to_an_operator(operator, redis_client):
    camera = await sync_to_async(add_camera)(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    communicator, connected, _ = await _connect(operator)
    assert connected
    await sync_to_async(publish_event)(_payload(camera, 42))
    message = await communicator.receive_json_from(timeout=5)
    assert message == {"type": "event", "event": _payload(camera, 42)}
    await communicator.disconnect()


async def test_it_follows_cameras_added_after_connecting(operator, redis_client):
    communicator, connected, _ = await _connect(operator)
    assert connected
    camera = await sync_to_async(add_camera)(name="New", stream_url="rtsp://192.0.2.1/s")
    await sync_to_async(publish_camera_changed)(camera.pk)
    assert await communicator.receive_json_from(timeout=5) == {"type": "camera", "camera_id": camera.pk}
    await sync_to_async(publish_event)(_payload(camera, 7))
    assert (await communicator.receive_json_from(timeout=5))["event"]["id"] == 7
    await communicator.disconnect()


async def test_it_answers_pings(operator, redis_client):
    communicator, connected, _ = await _connect(operator)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_it_keeps_an_idle_socket_open_past_the_layers_blocking_read(operator, redis_client):
    camera = await sync_to_async(add_camera)(name="Quiet", stream_url="rtsp://192.0.2.1/s")
    communicator, connected, _ = await _connect(operator)
    assert connected
    assert await communicator.receive_nothing(timeout=7)  # longer than channels-redis' 5 s BZPOPMIN
    await sync_to_async(publish_event)(_payload(camera, 9))
    assert (await communicator.receive_json_from(timeout=5))["event"]["id"] == 9
    await communicator.disconnect()
