"""The live wall's socket (/ws/live/) on the real Redis layer: frames published the way the worker
publishes them, with their boxes, zones and health; newest-only for a slow client; per camera."""
from __future__ import annotations

import asyncio

import cv2
import numpy as np
import pytest
from channels.db import database_sync_to_async as sync_to_async

from cameras.models import Camera, CameraStatus, Region
from cameras.services import add_camera
from events.live import store_frame
from events.live_consumer import WINDOW
from events.live_hub import OFFLINE_AFTER_S, STALE_AFTER_S, camera_health
from tests.event_data import live_header, restricted_camera, small_jpeg
from tests.sockets import is_frame, open_socket, receive, receive_until

async def publish(redis_client, camera_id, **header):
    await sync_to_async(store_frame)(redis_client, live_header(camera_id, **header), small_jpeg())


@pytest.mark.parametrize(
    ("enabled", "status", "age", "state", "reason"),
    [
        (True, "online", 0.5, "live", ""),
        (True, "online", STALE_AFTER_S + 1, "stale", "last picture 4 s ago"),
        (True, "online", OFFLINE_AFTER_S + 5, "offline", "no picture for 20 s"),
        (True, "connecting", None, "offline", "opening rtsp://cam"),
        (True, "unreachable", 0.5, "offline", "opening rtsp://cam"),
        (True, "unassigned", None, "offline", "opening rtsp://cam"),
        (False, "disabled", None, "offline", "the camera is disabled"),
    ],
)
def test_health_says_why(enabled, status, age, state, reason):
    assert camera_health(enabled=enabled, status=status, detail="opening rtsp://cam", frame_age_s=age) == (
        state, reason)


@pytest.mark.parametrize("who", ["anonymous", "nobody"])
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_refuses_sockets_without_a_role(who, nobody, redis_client):
    _socket, connected, code = await open_socket("/ws/live/", None if who == "anonymous" else nobody)
    assert not connected and code == (4401 if who == "anonymous" else 4403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_subscriber_gets_zones_health_and_each_frame_with_its_own_boxes(operator, redis_client):
    camera = await sync_to_async(add_camera)(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    await sync_to_async(Region.objects.create)(
        camera=camera, name="Door", kind="zone", points=[[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]])
    vault = await sync_to_async(restricted_camera)("Vault", "Bank")
    await publish(redis_client, camera.pk, track_id=1)  # the newest frame, there before anyone watches
    await publish(redis_client, vault.pk)
    socket, connected, _ = await open_socket("/ws/live/", operator)
    assert connected
    await socket.send_json_to({"type": "subscribe", "cameras": [camera.pk, vault.pk], "max_fps": 10})
    assert await receive(socket) == {"type": "subscribed", "cameras": [camera.pk], "denied": [vault.pk]}
    info = await receive(socket)
    assert info["type"] == "camera" and info["camera"]["name"] == "Lobby"
    assert [(r["name"], r["kind"], r["points"][1]) for r in info["camera"]["regions"]] == [("Door", "zone", [0.5, 0.1])]
    health = await receive_until(socket, lambda m: not is_frame(m) and m["type"] == "health")
    assert health["camera_id"] == camera.pk and health["state"] == "live"

    header, jpeg = await receive_until(socket, is_frame)
    assert header["camera_id"] == camera.pk and header["boxes"][0]["track_id"] == 1
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (36, 48, 3)
    await socket.send_json_to({"type": "ack", "camera_id": camera.pk})
    await publish(redis_client, camera.pk, track_id=2)  # the worker's next frame, pushed through the hub
    header, _ = await receive_until(socket, is_frame)
    assert header["camera_id"] == camera.pk and header["boxes"][0]["track_id"] == 2
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_client_that_does_not_keep_up_gets_the_newest_frame_not_a_backlog(operator, redis_client):
    camera = await sync_to_async(add_camera)(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    socket, connected, _ = await open_socket("/ws/live/", operator)
    assert connected
    await socket.send_json_to({"type": "subscribe", "cameras": [camera.pk], "max_fps": 15})
    await receive_until(socket, lambda m: not is_frame(m) and m["type"] == "health")
    for track_id in range(1, 11):  # ten frames, 0.1 s apart, while the client draws nothing
        await publish(redis_client, camera.pk, track_id=track_id)
        await asyncio.sleep(0.1)
    frames = []
    while not await socket.receive_nothing(timeout=0.5):
        message = await receive(socket)
        if is_frame(message):
            frames.append(message[0]["boxes"][0]["track_id"])
    assert frames == [1, 2] == list(range(1, WINDOW + 1))  # then it waits for the client
    await socket.send_json_to({"type": "ack", "camera_id": camera.pk})
    newest = await receive_until(socket, is_frame)
    assert newest[0]["boxes"][0]["track_id"] == 10  # skipped straight to the newest
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_health_turns_offline_with_the_workers_reason_and_back_to_live(operator, redis_client):
    camera = await sync_to_async(add_camera)(name="Gate", stream_url="rtsp://192.0.2.1/s")
    await sync_to_async(Camera.objects.filter(pk=camera.pk).update)(
        status=CameraStatus.UNREACHABLE, status_detail="connection refused; retrying in 4.0 s")
    socket, connected, _ = await open_socket("/ws/live/", operator)
    assert connected
    await socket.send_json_to({"type": "subscribe", "cameras": [camera.pk]})
    health = await receive_until(socket, lambda m: not is_frame(m) and m["type"] == "health")
    assert (health["state"], health["reason"]) == ("offline", "connection refused; retrying in 4.0 s")

    await sync_to_async(Camera.objects.filter(pk=camera.pk).update)(status=CameraStatus.ONLINE, status_detail="")
    await publish(redis_client, camera.pk)
    health = await receive_until(socket, lambda m: not is_frame(m) and m["type"] == "health", timeout=5)
    assert health["state"] == "live" and health["reason"] == ""
    await socket.disconnect()
