"""/api/events/ and /api/detections/."""
from datetime import datetime, timezone

import pytest

from cameras.services import add_camera
from events.models import Detection, Event
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    camera = add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    now = datetime.now(timezone.utc)
    detection = Detection.objects.create(
        camera=camera, captured_at=now, track_id=3, class_id=0, class_name="person", confidence=0.9,
        x1=1, y1=2, x2=30, y2=60, frame_width=480, frame_height=360, model_name="yolox_nano", model_version="0.1.1rc0",
    )
    return Event.objects.create(
        camera=camera, rule=camera.rules.first(), rule_name="Person seen", detection=detection, track_id=3,
        class_name="person", confidence=0.9, captured_at=now,
    )


def test_it_lists_events_for_operators(operator, event):
    body = client_for(operator).get("/api/events/").json()
    assert [e["id"] for e in body["results"]] == [event.pk]
    assert body["results"][0]["detection"]["x2"] == 30


def test_it_lets_an_operator_acknowledge(operator, event):
    response = client_for(operator).post(f"/api/events/{event.pk}/acknowledge/")
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.status == "acknowledged" and event.acknowledged_by == operator


def test_it_refuses_acknowledging_without_a_role(nobody, event):
    assert client_for(nobody).post(f"/api/events/{event.pk}/acknowledge/").status_code == 403


def test_it_does_not_let_anyone_create_events_through_the_api(admin_user, event):
    assert client_for(admin_user).post("/api/events/", {}).status_code == 405


def test_it_serves_an_openapi_schema(operator):
    response = client_for(operator).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/cameras/" in response.content


def test_it_refuses_the_schema_to_anonymous_clients(client):
    assert client.get("/api/schema/").status_code == 403


def test_alerted_leaves_out_what_operators_were_not_alerted_to(operator, event):
    """The dashboard loads and back-fills with alerted=true: an event of a quiet rule was never
    pushed live, so it must not turn up in the feed after a reconnect either."""
    camera = event.camera
    quiet = camera.rules.create(name="Counting", trigger="seen", object_classes=["person"], notify_operators=False)
    gone = camera.rules.create(name="Deleted since", trigger="seen", object_classes=["person"])
    quiet_event = Event.objects.create(
        camera=camera, rule=quiet, rule_name="Counting", class_name="person", confidence=0.8, captured_at=event.captured_at,
    )
    orphan = Event.objects.create(
        camera=camera, rule=gone, rule_name="Deleted since", class_name="person", confidence=0.8,
        captured_at=event.captured_at,
    )
    gone.delete()  # its events stay, without a rule: they were alerted when they came
    ops = client_for(operator)

    def ids(**params):
        return {e["id"] for e in ops.get("/api/events/", params).json()["results"]}

    assert ids(alerted="true") == {event.pk, orphan.pk}
    assert ids(alerted="true", after=0) == {event.pk, orphan.pk}  # the back-fill
    assert ids(alerted="false") == {quiet_event.pk}
    assert ids() == {event.pk, orphan.pk, quiet_event.pk}  # the API lists them all by default
