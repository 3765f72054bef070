"""Server-rendered pages: login required, roles, the camera forms, test connection, escaping."""
import base64
import json

import pytest

from cameras.models import Camera
from cameras.services import add_camera
from tests.conftest import client_for
from tests.pipeline.rtsp_server import free_tcp_port

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/dashboard/", "/cameras/", "/docs/api/", "/cameras/1/live.jpg", "/media/x.jpg", "/events/1/"]
)
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


# --- roles on the camera pages -----------------------------------------------------------------


def _camera_form(**overrides):
    data = {"name": "Hall", "stream_url": "rtsp://192.0.2.1/s", "enabled": "on", "detect_fps": "5",
            "model_name": "yolox_nano", "timezone": "UTC", "description": ""}
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ["operator", "reviewer"])
def test_it_forbids_operators_and_reviewers_to_change_cameras(role, request):
    user = request.getfixturevalue(role)
    camera = add_camera(name="Gate", stream_url="rtsp://192.0.2.1/s")
    client = client_for(user)
    listing = client.get("/cameras/")
    assert listing.status_code == 200
    assert b"Gate" in listing.content
    assert b"Add a camera" not in listing.content
    assert f"/cameras/{camera.pk}/edit/".encode() not in listing.content
    assert client.post("/cameras/add/", _camera_form()).status_code == 403
    assert client.get(f"/cameras/{camera.pk}/edit/").status_code == 403
    assert client.post(f"/cameras/{camera.pk}/edit/", _camera_form(name="Renamed")).status_code == 403
    assert client.post(f"/cameras/{camera.pk}/toggle/").status_code == 403
    assert client.post(f"/cameras/{camera.pk}/delete/").status_code == 403
    camera.refresh_from_db()
    assert (camera.name, camera.enabled) == ("Gate", True)


def test_it_forbids_users_without_a_role_to_see_cameras(nobody):
    assert client_for(nobody).get("/cameras/").status_code == 403


def test_it_shows_admins_the_actions_and_the_settings(admin_user):
    camera = add_camera(name="Gate", stream_url="rtsp://192.0.2.1/s")
    body = client_for(admin_user).get("/cameras/").content.decode()
    for expected in [f"/cameras/{camera.pk}/edit/", f"/cameras/{camera.pk}/toggle/", f"/cameras/{camera.pk}/delete/",
                     'name="detect_width"', 'name="timezone"', 'name="description"', 'list="vigil-timezones"',
                     '<option value="Europe/Paris">', 'value="traffic light"', "data-test-connection",
                     'data-confirm="Delete camera']:
        assert expected in body, expected
    assert " on" + "submit=" not in body and " on" + "click=" not in body  # no inline handlers


def test_it_needs_a_post_to_delete_or_toggle(admin_user):
    camera = add_camera(name="Gate", stream_url="rtsp://192.0.2.1/s")
    client = client_for(admin_user)
    assert client.get(f"/cameras/{camera.pk}/delete/").status_code == 405
    assert client.get(f"/cameras/{camera.pk}/toggle/").status_code == 405


def test_it_disables_and_enables_a_camera(admin_user):
    camera = add_camera(name="Gate", stream_url="rtsp://192.0.2.1/s")
    client = client_for(admin_user)
    assert client.post(f"/cameras/{camera.pk}/toggle/").status_code == 302
    camera.refresh_from_db()
    assert not camera.enabled
    assert "Enable</button>" in client.get("/cameras/").content.decode()
    client.post(f"/cameras/{camera.pk}/toggle/")
    camera.refresh_from_db()
    assert camera.enabled


# --- the per-camera settings ---------------------------------------------------------------------


def test_it_adds_a_camera_with_its_settings(admin_user, video_dir):
    response = client_for(admin_user).post("/cameras/add/", _camera_form(
        stream_url=str(video_dir / "vtest_480x360.avi"), detect_width="640", timezone="Europe/Paris",
        description="Looks at the door", **{
            "obj-0-name": "person", "obj-0-on": "1", "obj-0-min_confidence": "0.4", "obj-0-min_area": "0.001",
            "obj-0-max_area": "", "obj-2-name": "car", "obj-2-on": "1",
            "obj-7-name": "truck", "obj-7-min_confidence": "0.9",  # not ticked: not enabled
        },
    ))
    assert response.status_code == 302, response.content.decode()
    camera = Camera.objects.get(name="Hall")
    assert (camera.detect_width, camera.timezone, camera.description) == (640, "Europe/Paris", "Looks at the door")
    assert camera.object_settings == {
        "person": {"min_confidence": 0.4, "min_area": 0.001, "max_area": 1.0},
        "car": {"min_confidence": 0.0, "min_area": 0.0, "max_area": 1.0},
    }


def test_it_keeps_detect_width_empty_for_the_decoded_size(admin_user):
    assert client_for(admin_user).post("/cameras/add/", _camera_form(detect_width="")).status_code == 302
    camera = Camera.objects.get(name="Hall")
    assert camera.detect_width is None and camera.object_settings == {}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"timezone": "Mars/Olympus"}, "Unknown timezone “Mars/Olympus”"),
    ({"detect_width": "100"}, "Detect width must be between 160 and 3840"),
    ({"detect_fps": "50"}, "Detect fps must be between 0.1 and 30"),
    ({"obj-0-name": "person", "obj-0-on": "1", "obj-0-min_area": "0.5", "obj-0-max_area": "0.1"},
     "person: min_area is larger than max_area"),
    ({"obj-0-name": "person", "obj-0-on": "1", "obj-0-min_confidence": "7"}, "person: min_confidence must be a number"),
    ({"obj-0-name": "person", "obj-0-on": "1", "obj-0-min_confidence": "lots"}, "person: min_confidence must be"),
    ({"obj-0-name": "unicorn", "obj-0-on": "1"}, "yolox_nano does not detect: unicorn"),
])
def test_it_says_what_is_wrong_with_the_settings(admin_user, overrides, message):
    response = client_for(admin_user).post("/cameras/add/", _camera_form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Camera.objects.exists()


def test_it_says_the_same_as_the_api(admin_user):
    client = client_for(admin_user)
    page = client.post("/cameras/add/", _camera_form(timezone="Nowhere/Land")).content.decode()
    api = client.post("/api/cameras/", data=json.dumps({"name": "Hall", "stream_url": "rtsp://192.0.2.1/s",
                                                         "timezone": "Nowhere/Land"}), content_type="application/json")
    message = api.json()["timezone"][0]
    assert message in page


def test_it_keeps_the_typed_object_settings_after_an_error(admin_user):
    response = client_for(admin_user).post("/cameras/add/", _camera_form(
        timezone="bad", **{"obj-0-name": "person", "obj-0-on": "1", "obj-0-min_confidence": "0.35"}))
    body = response.content.decode()
    assert 'name="obj-0-on" value="1" checked' in body
    assert 'name="obj-0-min_confidence" value="0.35"' in body


def test_it_edits_the_settings_and_keeps_the_stored_password(admin_user):
    camera = add_camera(name="Yard", stream_url="rtsp://admin:hunter2@192.0.2.10/live",
                        object_settings={"dog": {"min_confidence": 0.3, "min_area": 0.0, "max_area": 0.5}})
    client = client_for(admin_user)
    page = client.get(f"/cameras/{camera.pk}/edit/").content.decode()
    assert "rtsp://admin:***@192.0.2.10/live" in page
    assert 'name="obj-16-on" value="1" checked' in page  # dog is COCO class 16
    assert 'name="obj-16-max_area" value="0.5"' in page
    response = client.post(f"/cameras/{camera.pk}/edit/", _camera_form(
        name="Yard", stream_url="rtsp://admin:***@192.0.2.10/live", timezone="America/New_York", detect_width="960",
        description="Back yard", **{"obj-0-name": "person", "obj-0-on": "1"}))
    assert response.status_code == 302, response.content.decode()
    camera.refresh_from_db()
    assert camera.stream_url == "rtsp://admin:hunter2@192.0.2.10/live"
    assert (camera.timezone, camera.detect_width, camera.description) == ("America/New_York", 960, "Back yard")
    assert camera.object_settings == {"person": {"min_confidence": 0.0, "min_area": 0.0, "max_area": 1.0}}


# --- test connection (the API behind the button) ---------------------------------------------------


def _test_connection(client, **body):
    return client.post("/api/cameras/test-connection/", data=json.dumps(body), content_type="application/json")


def test_it_returns_the_first_frame_of_a_working_source(admin_user, video_dir):
    response = _test_connection(client_for(admin_user), stream_url=str(video_dir / "vtest_480x360.avi"))
    assert response.status_code == 200
    result = response.json()
    assert result["ok"] is True and (result["width"], result["height"]) == (480, 360)
    assert base64.b64decode(result["jpeg_base64"])[:3] == b"\xff\xd8\xff"


def test_it_says_why_a_source_gives_no_frame(admin_user, video_dir):
    port = free_tcp_port()
    result = _test_connection(client_for(admin_user), stream_url=f"rtsp://127.0.0.1:{port}/x").json()
    assert result == {"ok": False, "error": f"connection refused by 127.0.0.1:{port} (nothing is listening there)"}


def test_it_explains_a_bad_url_without_trying_it(admin_user, video_dir):
    result = _test_connection(client_for(admin_user), stream_url="/etc/passwd").json()
    assert result["ok"] is False and "outside the video folder" in result["error"]


def test_it_uses_the_stored_password_for_a_redacted_url(admin_user):
    port = free_tcp_port()
    camera = add_camera(name="Yard", stream_url=f"rtsp://admin:hunter2@127.0.0.1:{port}/live")
    client = client_for(admin_user)
    without = _test_connection(client, stream_url=f"rtsp://admin:***@127.0.0.1:{port}/live").json()
    assert without["ok"] is False and "Type the camera's password" in without["error"]
    edited = _test_connection(client, stream_url=f"rtsp://admin:***@127.0.0.1:{port}/live", camera=camera.pk).json()
    assert edited["ok"] is False and "connection refused" in edited["error"]
    assert "hunter2" not in json.dumps(edited)


@pytest.mark.parametrize("role", ["operator", "reviewer"])
def test_it_lets_only_admins_test_connections(role, request, video_dir):
    client = client_for(request.getfixturevalue(role))
    assert _test_connection(client, stream_url=str(video_dir / "vtest_480x360.avi")).status_code == 403
