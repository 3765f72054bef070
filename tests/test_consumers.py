"""The operators' WebSocket on the real Redis channel layer, through the real ASGI stack."""
import threading

import pytest
from channels.db import database_sync_to_async as sync_to_async
from django.contrib.auth.models import Group

from cameras.services import add_camera
from events.publisher import publish_camera_changed, publish_event
from tests.event_data import join, restricted_camera
from tests.outages import restart_redis
from tests.sockets import open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _payload(camera, event_id=1):
    return {
        "id": event_id, "camera_id": camera.pk, "camera_name": camera.name, "rule_name": "Person seen",
        "class_name": "person", "confidence": 0.9, "severity": "warning", "status": "new", "track_id": 4,
        "captured_at": "2026-11-23T10:00:00+00:00", "created_at": "2026-11-23T10:00:00+00:00",
        "snapshot_url": "", "box": [1.0, 2.0, 3.0, 4.0], "frame_size": [480, 360],
    }


async def _connect(user=None):
    return await open_socket("/ws/events/", user)


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


async def test_publishing_keeps_one_redis_connection_and_outlives_a_redis_restart(operator, redis_client):
    """A stream worker publishes from plain threads, outside any event loop: each message
    once started a loop of its own, and with it a new Redis connection."""
    camera = await sync_to_async(add_camera)(name="Busy", stream_url="rtsp://192.0.2.1/s")

    def publish_from_a_plain_thread(times: int) -> None:
        worker = threading.Thread(target=lambda: [publish_camera_changed(camera.pk) for _ in range(times)])
        worker.start()
        worker.join()

    publish_from_a_plain_thread(1)  # the process's sends are connected
    opened_before = redis_client.info("stats")["total_connections_received"]
    publish_from_a_plain_thread(20)
    assert redis_client.info("stats")["total_connections_received"] - opened_before == 0

    await sync_to_async(restart_redis)(down_s=1.0)
    communicator, connected, _ = await _connect(operator)
    assert connected
    await sync_to_async(publish_event)(_payload(camera, 9))
    assert (await communicator.receive_json_from(timeout=5))["event"]["id"] == 9
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


def _group_members(redis_client, camera) -> int:
    return redis_client.zcard(f"asgi:group:camera.{camera.pk}")


async def test_a_socket_joins_only_the_groups_of_cameras_its_user_may_see(operator, redis_client):
    lobby = await sync_to_async(add_camera)(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    vault = await sync_to_async(restricted_camera)("Vault", "Bank")
    communicator, connected, _ = await _connect(operator)
    assert connected
    assert _group_members(redis_client, lobby) == 1
    assert _group_members(redis_client, vault) == 0  # a vault message cannot even be queued for it
    await sync_to_async(publish_event)(_payload(vault, 1))
    await sync_to_async(publish_event)(_payload(lobby, 2))
    assert (await communicator.receive_json_from(timeout=5))["event"]["id"] == 2
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_leaving_a_group_stops_that_groups_cameras_at_once(operator, redis_client):
    lot = await sync_to_async(restricted_camera)("Parking lot", "Lot")
    await sync_to_async(join)(operator, "Lot")
    communicator, connected, _ = await _connect(operator)
    assert connected
    await sync_to_async(publish_event)(_payload(lot, 1))
    assert (await communicator.receive_json_from(timeout=5))["event"]["id"] == 1

    await sync_to_async(operator.groups.remove)(await sync_to_async(Group.objects.get)(name="Lot"))
    assert await communicator.receive_json_from(timeout=5) == {"type": "camera", "camera_id": lot.pk}
    assert _group_members(redis_client, lot) == 0
    await sync_to_async(publish_event)(_payload(lot, 2))
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_camera_restricted_while_watched_is_left(operator, redis_client):
    lobby = await sync_to_async(add_camera)(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    communicator, connected, _ = await _connect(operator)
    assert connected
    bank = (await sync_to_async(Group.objects.get_or_create)(name="Bank"))[0]
    await sync_to_async(lobby.access_groups.add)(bank)  # as the camera form and API do, then they say so
    await sync_to_async(publish_camera_changed)(lobby.pk)
    assert await communicator.receive_json_from(timeout=5) == {"type": "camera", "camera_id": lobby.pk}
    await sync_to_async(publish_event)(_payload(lobby, 3))
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
