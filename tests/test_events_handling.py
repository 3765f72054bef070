"""Handling events through the API: acknowledge, assign, note, escalate, resolve, dismiss, reopen;
the history of who did what; and every allowed operator's socket hearing about it live."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async as sync_to_async

from cameras.services import add_camera
from events.models import Event, EventAction
from tests.conftest import client_for, make_user
from tests.event_data import join, make_event, restricted_camera
from tests.sockets import open_socket
from vision.roles import OPERATOR

pytestmark = pytest.mark.django_db


def post(user, event, action, body=None):
    return client_for(user).post(
        f"/api/events/{event.pk}/{action}/", json.dumps(body or {}), content_type="application/json"
    )


@pytest.fixture
def event():
    return make_event(add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s"))


def history(user, event):
    return [(a["action"], a["user_name"], a["status"]) for a in client_for(user).get(
        f"/api/events/{event.pk}/history/").json()]


def test_an_operator_acknowledges_once_and_the_history_says_who(operator, event):
    other = make_user("otto", OPERATOR)
    first = post(operator, event, "acknowledge")
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"]["username"] == "olivia"
    again = post(other, event, "acknowledge")  # a second click, or another operator a moment later
    assert again.status_code == 200 and again.json()["acknowledged_by"]["username"] == "olivia"
    assert history(operator, event) == [("acknowledge", "olivia", "acknowledged")]


def test_assign_to_me_to_someone_and_back_to_nobody(operator, event):
    other = make_user("otto", OPERATOR)
    assert post(operator, event, "assign").json()["assigned_to"]["username"] == "olivia"
    assert post(operator, event, "assign", {"assignee": other.pk}).json()["assigned_to"]["id"] == other.pk
    assert post(operator, event, "assign", {"assignee": None}).json()["assigned_to"] is None
    actions = client_for(operator).get(f"/api/events/{event.pk}/history/").json()
    assert [(a["action"], a["assignee_name"]) for a in actions] == [
        ("assign", "olivia"), ("assign", "otto"), ("unassign", "")]
    assert [u["username"] for u in client_for(operator).get(f"/api/events/{event.pk}/assignees/").json()] == [
        "olivia", "otto"]


def test_an_event_is_not_assigned_to_someone_who_cannot_see_its_camera(operator, admin_user):
    join(operator, "Lot")
    event = make_event(restricted_camera("Lot gate", "Lot"))
    outsider = make_user("owen", OPERATOR)
    response = post(operator, event, "assign", {"assignee": outsider.pk})
    assert response.status_code == 400 and "owen may not handle" in response.json()["assignee"][0]
    assignees = client_for(operator).get(f"/api/events/{event.pk}/assignees/").json()
    assert sorted(u["username"] for u in assignees) == ["ada", "olivia"]


def test_notes_need_text_and_are_kept(operator, event):
    assert post(operator, event, "note", {"note": "  "}).status_code == 400
    assert post(operator, event, "note", {"note": "Guard on the way"}).status_code == 200
    [note] = client_for(operator).get(f"/api/events/{event.pk}/history/").json()
    assert note["action"] == "note" and note["note"] == "Guard on the way" and note["user"]["username"] == "olivia"


def test_escalate_raises_the_level_and_may_hand_it_on(operator, admin_user, event):
    body = post(operator, event, "escalate", {"note": "Looks like a break-in", "assignee": admin_user.pk}).json()
    assert body["escalation"] == 1 and body["assigned_to"]["username"] == "ada"
    assert post(operator, event, "escalate").json()["escalation"] == 2
    assert [e["id"] for e in client_for(operator).get("/api/events/", {"escalated": "true"}).json()["results"]] == [
        event.pk]


def test_resolve_dismiss_and_reopen_follow_the_transitions(operator, event):
    resolved = post(operator, event, "resolve", {"note": "Delivery driver"}).json()
    assert resolved["status"] == "resolved" and resolved["resolved_by"]["username"] == "olivia"
    assert post(operator, event, "resolve").status_code == 200  # already done: nothing changes
    assert post(operator, event, "acknowledge").status_code == 200
    conflict = post(operator, event, "dismiss")
    assert conflict.status_code == 409 and "reopen it first" in conflict.json()["detail"]
    assert post(operator, event, "escalate").status_code == 409
    reopened = post(operator, event, "reopen").json()
    assert reopened["status"] == "acknowledged" and reopened["resolved_by"] is None
    assert post(operator, event, "dismiss", {"note": "Shadow"}).json()["status"] == "dismissed"
    dismissed = client_for(operator).get("/api/events/", {"status": "dismissed"}).json()["results"]
    assert [e["id"] for e in dismissed] == [event.pk]  # what the review queue picks up
    assert history(operator, event) == [
        ("resolve", "olivia", "resolved"), ("reopen", "olivia", "acknowledged"), ("dismiss", "olivia", "dismissed")]


def test_handling_needs_a_role_and_a_visible_camera(nobody, operator):
    event = make_event(restricted_camera("Vault", "Bank"))
    assert post(nobody, event, "acknowledge").status_code == 403
    assert post(operator, event, "acknowledge").status_code == 404
    assert client_for(operator).get(f"/api/events/{event.pk}/history/").status_code == 404
    assert Event.objects.get(pk=event.pk).status == "new" and not EventAction.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_every_operator_who_may_see_the_camera_hears_about_it_at_once(operator, redis_client):
    colleague = await sync_to_async(make_user)("otto", OPERATOR)
    camera = await sync_to_async(restricted_camera)("Dock", "Harbour")
    await sync_to_async(join)(operator, "Harbour")
    await sync_to_async(join)(colleague, "Harbour")
    outsider = await sync_to_async(make_user)("owen", OPERATOR)
    event = await sync_to_async(make_event)(camera)
    sockets = [(await open_socket("/ws/events/", user))[0] for user in (operator, colleague, outsider)]
    try:
        response = await sync_to_async(post)(operator, event, "resolve", {"note": "False start"})
        assert response.status_code == 200
        for socket in sockets[:2]:
            message = await socket.receive_json_from(timeout=5)
            assert message["type"] == "event.updated"
            assert message["event"]["id"] == event.pk and message["event"]["status"] == "resolved"
            assert message["event"]["resolved_by"]["username"] == "olivia"
            assert message["action"]["action"] == "resolve" and message["action"]["note"] == "False start"
        assert await sockets[2].receive_nothing(timeout=0.5)
    finally:
        for socket in sockets:
            await socket.disconnect()
