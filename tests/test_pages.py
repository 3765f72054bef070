"""Server-rendered pages: login required, roles, the add-camera form, escaping."""
import pytest

from cameras.models import Camera
from cameras.services import add_camera
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/dashboard/", "/cameras/", "/docs/api/", "/cameras/1/live.jpg", "/media/x.jpg"])
def test_it_sends_anonymous_visitors_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_shows_the_dashboard_to_an_operator(operator):
    add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    response = client_for(operator).get("/dashboard/")
    assert response.status_code == 200
    assert b"Lobby" in response.content


def test_it_hides_the_add_form_from_operators(operator):
    response = client_for(operator).get("/cameras/")
    assert response.status_code == 200
    assert b"Add a camera" not in response.content
    assert client_for(operator).post("/cameras/add/", {"name": "x"}).status_code == 403


def test_it_adds_a_camera_from_the_form(admin_user, video_dir):
    response = client_for(admin_user).post(
        "/cameras/add/",
        {"name": "Hall", "stream_url": str(video_dir / "vtest_480x360.avi"), "enabled": "on", "detect_fps": "5",
         "model_name": "yolox_nano"},
    )
    assert response.status_code == 302
    assert Camera.objects.get(name="Hall").rules.count() == 1


def test_it_shows_form_errors_in_plain_words(admin_user, video_dir):
    add_camera(name="Hall", stream_url="rtsp://192.0.2.1/s")
    response = client_for(admin_user).post(
        "/cameras/add/",
        {"name": "hall", "stream_url": "/etc/passwd", "enabled": "on", "detect_fps": "5", "model_name": "yolox_nano"},
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Camera.objects.count() == 1


def test_it_never_renders_stream_passwords(admin_user):
    camera = add_camera(name="Yard", stream_url="rtsp://admin:hunter2@192.0.2.10/live")
    client = client_for(admin_user)
    for path in ["/cameras/", f"/cameras/{camera.pk}/edit/", "/dashboard/"]:
        body = client.get(path).content.decode()
        assert "hunter2" not in body, path


def test_it_escapes_names(admin_user):
    add_camera(name="<script>alert(1)</script>", stream_url="rtsp://192.0.2.1/s")
    client = client_for(admin_user)
    for path in ["/cameras/", "/dashboard/"]:
        body = client.get(path).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;" in body


def test_it_keeps_media_inside_the_media_root(operator, media_root):
    media_root.mkdir(parents=True)
    (media_root / "snap.jpg").write_bytes(b"\xff\xd8jpeg")
    client = client_for(operator)
    assert client.get("/media/snap.jpg").status_code == 200
    assert client.get("/media/../../etc/passwd").status_code == 404
    assert client.get("/media/%2e%2e/%2e%2e/etc/passwd").status_code == 404


def test_it_deletes_a_camera_for_admins_only(admin_user, operator):
    camera = add_camera(name="Old", stream_url="rtsp://192.0.2.1/s")
    assert client_for(operator).post(f"/cameras/{camera.pk}/delete/").status_code == 403
    assert client_for(admin_user).post(f"/cameras/{camera.pk}/delete/").status_code == 302
    assert not Camera.objects.exists()
