"""/api/cameras/: who may do what, and bad input."""
import json

import pytest

from cameras.models import Camera, Rule
from cameras.services import add_camera
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _post(client, data):
    return client.post("/api/cameras/", data=json.dumps(data), content_type="application/json")


def test_it_refuses_anonymous_requests(client):
    assert client.get("/api/cameras/").status_code == 403


def test_it_lets_an_admin_add_a_camera_with_the_default_rule(admin_user, video_dir):
    response = _post(client_for(admin_user), {"name": "Lobby", "stream_url": str(video_dir / "vtest_480x360.avi")})
    assert response.status_code == 201, response.content
    camera = Camera.objects.get(name="Lobby")
    assert camera.status == "connecting"
    rule = Rule.objects.get(camera=camera)
    assert rule.object_classes == ["person"] and rule.trigger == "seen"


def test_it_forbids_operators_and_reviewers_to_change_cameras(operator, reviewer, video_dir):
    camera = add_camera(name="Gate", stream_url="rtsp://127.0.0.1:9/x")
    for user in (operator, reviewer):
        client = client_for(user)
        assert client.get("/api/cameras/").status_code == 200
        assert _post(client, {"name": "New", "stream_url": "rtsp://10.0.0.1/s"}).status_code == 403
        assert client.patch(
            f"/api/cameras/{camera.pk}/", data='{"name": "x"}', content_type="application/json"
        ).status_code == 403
        assert client.delete(f"/api/cameras/{camera.pk}/").status_code == 403
    assert Camera.objects.count() == 1


def test_it_forbids_users_without_a_role(nobody):
    assert client_for(nobody).get("/api/cameras/").status_code == 403


def test_it_never_returns_stream_passwords(admin_user):
    client = client_for(admin_user)
    response = _post(client, {"name": "Yard", "stream_url": "rtsp://admin:hunter2@192.0.2.10:554/live"})
    assert response.status_code == 201
    assert b"hunter2" not in response.content
    assert response.json()["stream_url_display"] == "rtsp://admin:***@192.0.2.10:554/live"
    assert b"hunter2" not in client.get("/api/cameras/").content
    camera = Camera.objects.get(name="Yard")
    assert camera.stream_url == "rtsp://admin:hunter2@192.0.2.10:554/live"


def test_it_stores_stream_urls_encrypted(admin_user):
    from django.db import connection

    add_camera(name="Dock", stream_url="rtsp://u:topsecret@192.0.2.1/s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT stream_url FROM cameras_camera")
        (stored,) = cursor.fetchone()
    assert "topsecret" not in stored and "192.0.2.1" not in stored


def test_it_keeps_the_stored_password_when_the_redacted_url_is_sent_back(admin_user):
    camera = add_camera(name="Dock", stream_url="rtsp://u:topsecret@192.0.2.1/s")
    response = client_for(admin_user).patch(
        f"/api/cameras/{camera.pk}/",
        data=json.dumps({"stream_url": "rtsp://u:***@192.0.2.1/s2"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    camera.refresh_from_db()
    assert camera.stream_url == "rtsp://u:topsecret@192.0.2.1/s2"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"name": "", "stream_url": "rtsp://h/s"}, "name", "may not be blank"),
        ({"name": "   ", "stream_url": "rtsp://h/s"}, "name", "may not be blank"),
        ({"name": "lobby", "stream_url": "rtsp://h/s"}, "name", "already exists"),
        ({"name": "A", "stream_url": "ftp://h/s"}, "stream_url", "ftp"),
        ({"name": "A", "stream_url": "rtsp://"}, "stream_url", "host"),
        ({"name": "A", "stream_url": "/etc/passwd"}, "stream_url", ""),
        ({"name": "A", "stream_url": "../../etc/passwd"}, "stream_url", ""),
        ({"name": "A", "stream_url": "rtsp://h/s", "detect_fps": 0}, "detect_fps", "between"),
        ({"name": "A", "stream_url": "rtsp://h/s", "model_name": "nope"}, "model_name", "Unknown"),
    ],
)
def test_it_rejects_bad_input_with_a_clear_message(admin_user, video_dir, payload, field, message):
    add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    response = _post(client_for(admin_user), payload)
    assert response.status_code == 400
    errors = response.json()
    assert field in errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert Camera.objects.count() == 1


def test_it_accepts_a_file_inside_the_video_folder_only(admin_user, video_dir, tmp_path):
    outside = tmp_path / "secret.avi"
    outside.write_bytes(b"x")
    client = client_for(admin_user)
    assert _post(client, {"name": "Out", "stream_url": str(outside)}).status_code == 400
    escape = str(video_dir / ".." / "secret.avi")
    assert _post(client, {"name": "Esc", "stream_url": escape}).status_code == 400
    assert _post(client, {"name": "In", "stream_url": str(video_dir / "vtest_480x360.avi")}).status_code == 201


def test_it_lists_cameras_in_a_bounded_number_of_queries(admin_user, django_assert_max_num_queries):
    for i in range(10):
        add_camera(name=f"cam {i}", stream_url=f"rtsp://192.0.2.{i}/s")
    client = client_for(admin_user)
    with django_assert_max_num_queries(9):  # session, user, permissions, count, cameras + 3 prefetches
        response = client.get("/api/cameras/")
    assert response.json()["count"] == 10
