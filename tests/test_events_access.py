"""Per-camera access on pages, the API and media: an operator sees only the cameras of their
groups (cameras without access groups are everyone's; admins see all)."""
from __future__ import annotations

import pytest

from cameras.services import add_camera
from events.live import store_frame
from tests.conftest import client_for
from tests.event_data import join, live_header, make_event, restricted_camera, small_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def cameras():
    return {
        "open": add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s"),
        "lot": restricted_camera("Parking lot", "Lot"),
        "vault": restricted_camera("Vault", "Bank"),
    }


def test_the_api_lists_only_visible_cameras_events_and_detections(operator, admin_user, cameras):
    join(operator, "Lot")
    events = {name: make_event(camera) for name, camera in cameras.items()}
    client = client_for(operator)
    assert {c["name"] for c in client.get("/api/cameras/").json()["results"]} == {"Lobby", "Parking lot"}
    assert client.get(f"/api/cameras/{cameras['vault'].pk}/").status_code == 404
    assert {e["id"] for e in client.get("/api/events/").json()["results"]} == {events["open"].pk, events["lot"].pk}
    assert client.get(f"/api/events/{events['vault'].pk}/").status_code == 404
    assert client.get("/api/events/", {"camera": cameras["vault"].pk}).json()["results"] == []
    assert {d["camera"] for d in client.get("/api/detections/").json()["results"]} == {
        cameras["open"].pk, cameras["lot"].pk}
    assert {r["camera"] for r in client.get("/api/rules/").json()["results"]} == {
        cameras["open"].pk, cameras["lot"].pk}
    assert len(client_for(admin_user).get("/api/events/").json()["results"]) == 3


def test_pages_show_only_visible_cameras(operator, cameras):
    client = client_for(operator)
    dashboard = client.get("/dashboard/").content.decode()
    assert "Lobby" in dashboard and "Vault" not in dashboard and "Parking lot" not in dashboard
    assert "Vault" not in client.get("/cameras/").content.decode()
    vault_event = make_event(cameras["vault"])
    assert client.get(f"/events/{vault_event.pk}/").status_code == 404
    assert client.get(f"/events/{make_event(cameras['open']).pk}/").status_code == 200


def test_live_frames_and_media_of_other_cameras_are_not_served(operator, cameras, media_root, redis_client):
    for camera in cameras.values():
        store_frame(redis_client, live_header(camera.pk), small_jpeg())
        folder = media_root / "snapshots" / str(camera.pk)
        folder.mkdir(parents=True)
        (folder / "x.jpg").write_bytes(small_jpeg())
    client = client_for(operator)
    open_frame = client.get(f"/cameras/{cameras['open'].pk}/live.jpg")
    assert open_frame.status_code == 200 and open_frame.content[:2] == b"\xff\xd8"
    assert client.get(f"/cameras/{cameras['vault'].pk}/live.jpg").status_code == 404
    assert client.get(f"/media/snapshots/{cameras['open'].pk}/x.jpg").status_code == 200
    assert client.get(f"/media/snapshots/{cameras['vault'].pk}/x.jpg").status_code == 404
