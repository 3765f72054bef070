"""The operator pages as served: the live wall with its alert feed, and the event page with its
handling, history and clip. Who gets them, which cameras they show, and that text typed by
users (camera and rule names, notes, people's names) never becomes markup."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cameras.models import Camera, Region, Rule
from cameras.services import add_camera
from events.handling import handle
from events.models import ClipStatus
from tests.conftest import REPO, client_for
from tests.event_data import join, make_event, restricted_camera

pytestmark = pytest.mark.django_db

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def json_script(body: str, element_id: str):
    """The data of a ``json_script`` element, as the page's scripts read it."""
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', body, re.S)
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize("role", ["operator", "reviewer", "admin_user"])
def test_every_role_gets_the_wall_and_may_handle(request, role):
    user = request.getfixturevalue(role)
    add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    response = client_for(user).get("/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="wall"' in body and 'id="alerts"' in body and 'id="conn-banner"' in body
    config = json_script(body, "wall-config")
    assert config["user"]["username"] == user.username
    assert config["can_handle"] is True
    assert [c["name"] for c in config["cameras"]] == ["Lobby"]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    event = make_event(add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s"))
    for path in ["/dashboard/", f"/events/{event.pk}/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/?next=")


def test_signed_in_users_without_a_role_are_refused(nobody):
    event = make_event(add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s"))
    client = client_for(nobody)
    assert client.get("/dashboard/").status_code == 403
    assert client.get(f"/events/{event.pk}/").status_code == 403


def test_an_operator_sees_only_the_cameras_of_their_access_groups(operator, admin_user):
    lobby = add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")  # no access groups: everyone
    dock = restricted_camera("Dock", "Ops")
    vault = restricted_camera("Vault", "Bank")
    join(operator, "Ops")
    Rule.objects.create(camera=vault, name="Safe opened", trigger="seen", object_classes=["person"])
    mine = [make_event(lobby), make_event(dock)]
    quiet = Rule.objects.create(camera=lobby, name="Count", trigger="seen", object_classes=["person"],
                                notify_operators=False)
    never_alerted = make_event(lobby, rule=quiet)  # stored, never pushed: not in the feed either
    hidden = make_event(vault)  # the newest: its id must not leak as the back-fill cursor

    body = client_for(operator).get("/dashboard/").content.decode()
    config = json_script(body, "wall-config")
    assert {c["name"] for c in config["cameras"]} == {"Lobby", "Dock"}
    assert {r["camera_id"] for r in config["rules"]} == {lobby.pk, dock.pk}
    assert {e["id"] for e in json_script(body, "initial-events")} == {e.pk for e in mine}
    assert never_alerted.pk not in {e["id"] for e in json_script(body, "initial-events")}
    assert config["last_id"] == never_alerted.pk < hidden.pk
    assert "Vault" not in body and "Safe opened" not in body
    assert client_for(operator).get(f"/events/{hidden.pk}/").status_code == 404

    admin = json_script(client_for(admin_user).get("/dashboard/").content.decode(), "wall-config")
    assert {c["name"] for c in admin["cameras"]} == {"Lobby", "Dock", "Vault"}
    assert admin["last_id"] == hidden.pk


def test_disabled_cameras_stay_in_the_filters_but_off_the_wall(operator):
    add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    attic = add_camera(name="Attic", stream_url="rtsp://192.0.2.2/s")
    Camera.objects.filter(pk=attic.pk).update(enabled=False)
    body = client_for(operator).get("/dashboard/").content.decode()
    cameras = {c["name"]: c["enabled"] for c in json_script(body, "wall-config")["cameras"]}
    assert cameras == {"Lobby": True, "Attic": False}  # the wall shows the enabled ones
    assert f'<option value="{attic.pk}">Attic</option>' in body


def test_the_event_page_carries_the_handling_the_history_and_the_clip(operator, admin_user):
    camera = add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    event = make_event(camera, clip=f"clips/{camera.pk}/e.mp4", clip_status=ClipStatus.READY)
    handle(event.pk, admin_user, "acknowledge")
    handle(event.pk, admin_user, "note", note="Guard on the way")
    body = client_for(operator).get(f"/events/{event.pk}/").content.decode()
    live = json_script(body, "event-live")
    assert live["can_handle"] is True and live["user"]["username"] == operator.username
    assert live["event"]["status"] == "acknowledged"
    assert live["event"]["acknowledged_by"]["username"] == admin_user.username
    assert live["event"]["clip_url"] == f"/media/clips/{camera.pk}/e.mp4"
    assert [(a["action"], a["note"]) for a in live["history"]] == [("acknowledge", ""), ("note", "Guard on the way")]
    for element in ['id="clip"', 'id="handling"', 'id="history"', 'id="conn-banner"']:
        assert element in body
    # Rendered on the server too, for the first paint.
    assert '<span id="event-status" class="badge status-badge status-acknowledged">Acknowledged</span>' in body


def seed(payload: str, admin_user) -> int:
    """A camera, zone, rule, event and note, and an assignee, all named ``payload``."""
    camera = add_camera(name=payload, stream_url="rtsp://192.0.2.1/s", description=payload)
    region = Region.objects.create(camera=camera, name=payload, kind="zone",
                                   points=[[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]])
    rule = Rule.objects.create(camera=camera, name=payload, trigger="enter", region=region,
                               object_classes=["person"])
    event = make_event(camera, rule=rule, rule_name=payload, class_name=payload)
    admin_user.first_name = payload
    admin_user.save()
    handle(event.pk, admin_user, "note", note=payload)
    handle(event.pk, admin_user, "assign", assignee=admin_user)
    return event.pk


@pytest.mark.parametrize("payload", PAYLOADS)
def test_user_text_is_never_markup_on_the_operator_pages(operator, admin_user, payload):
    event_id = seed(payload, admin_user)
    client = client_for(operator)
    for path in ["/dashboard/", f"/events/{event_id}/"]:
        body = client.get(path).content.decode()
        assert payload not in body, path
        assert "<img src=x" not in body and "<script>alert" not in body, path
        assert "\\u003C" in body, path  # json_script's escaping: the text is there, for textContent
    # ... and comes back as the very text typed, to be written with textContent.
    live = json_script(client.get(f"/events/{event_id}/").content.decode(), "event-live")
    assert live["event"]["camera_name"] == live["event"]["rule_name"] == payload
    assert live["event"]["assigned_to"]["name"] == payload
    assert [a["note"] for a in live["history"]] == [payload, ""]


@pytest.mark.parametrize("path", ["/dashboard/", "/events/{event}/"])
def test_no_inline_script_no_handler_attributes_no_foreign_scripts(operator, path):
    event = make_event(add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s"))
    body = client_for(operator).get(path.format(event=event.pk)).content.decode()
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", body, re.I), "inline event handler"
    for tag in re.findall(r"<script\b[^>]*>", body):
        assert 'type="application/json"' in tag or re.search(r'type="module" src="/static/js/[\w/]+\.js"', tag), tag
    assert not re.search(r'(src|href)="(https?:)?//', body), "a resource from another site"


def test_the_scripts_write_text_never_html():
    scripts = [REPO / "static/js/dashboard.js", REPO / "static/js/event.js",
               *sorted((REPO / "static/js/wall").glob("*.js"))]
    assert len(scripts) > 10
    for script in scripts:
        source = Path(script).read_text()
        for risky in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]:
            assert risky not in source, f"{script.name} uses {risky}"
