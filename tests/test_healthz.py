"""GET /healthz."""
import pytest

from cameras.services import add_camera
from events.live import store_heartbeat

pytestmark = pytest.mark.django_db


def test_it_reports_database_pgvector_and_redis(client, redis_client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["database"]["pgvector"]
    assert body["redis"]["ok"]
    assert body["workers"] == []


def test_it_is_down_when_enabled_cameras_have_no_worker(client, redis_client):
    add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no live stream worker" in response.json()["streams"]["error"]
    assert client.get("/healthz?component=web").status_code == 200


def test_it_lists_live_workers_with_their_cameras(client, redis_client):
    camera = add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    store_heartbeat(
        redis_client,
        {"worker": "w1", "pid": 1, "capacity": 4, "model": "yolox_nano", "providers": ["CPUExecutionProvider"],
         "cameras": [{"id": camera.pk, "status": "online", "detail": "480x360", "decoded_fps": 10.0,
                      "processed_fps": 5.0, "frames_dropped": 5, "frames_corrupt": 0, "reconnects": 0}],
         "counters": {"frames_processed": 10, "frames_skipped_still": 30, "batches": 5, "events": 1},
         "updated_at": 0.0},
        ttl_s=10,
    )
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["workers"][0]["cameras"][0]["processed_fps"] == 5.0


def test_it_is_down_when_redis_is_unreachable(client, settings, monkeypatch):
    import redis

    from vision import health

    monkeypatch.setattr(health, "get_redis", lambda: redis.Redis(unix_socket_path="/nonexistent/redis.sock"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"]["ok"] is False
