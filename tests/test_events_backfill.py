"""Never miss an event: ``GET /api/events/?after=<id>`` fills exactly the gap of a client that was
away, and event ids are drawn in commit order so concurrent inserts cannot be skipped."""
from __future__ import annotations

import threading

import pytest
from channels.db import database_sync_to_async as sync_to_async
from django.db import connection, transaction

from cameras.services import add_camera
from events.models import Event
from events.payloads import event_payload
from events.publisher import publish_event
from tests.conftest import client_for
from tests.event_data import join, make_event, restricted_camera
from tests.sockets import open_socket


def after(user, last_id, **params):
    """Every event above ``last_id``, page by page, as a reconnecting client reads them."""
    client, ids = client_for(user), []
    url, query = "/api/events/", {"after": last_id, **params}
    while url:
        page = client.get(url, query).json()
        ids += [e["id"] for e in page["results"]]
        assert page["last_id"] == (ids[-1] if ids else last_id)
        url, query = page["next"], None
    return ids


@pytest.mark.django_db
def test_after_returns_the_newer_events_oldest_first_page_by_page(operator):
    camera = add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    events = [make_event(camera) for _ in range(7)]
    ids = [e.pk for e in events]
    assert after(operator, 0, page_size=3) == ids
    assert after(operator, ids[3], page_size=3) == ids[4:]
    assert after(operator, ids[-1]) == []
    assert client_for(operator).get("/api/events/", {"after": "x"}).status_code == 400


@pytest.mark.django_db
def test_after_keeps_to_the_filters_and_the_cameras_the_user_may_see(operator):
    mine = add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    hidden = restricted_camera("Vault", "Bank")
    kept = [make_event(mine, severity="critical"), make_event(hidden, severity="critical"), make_event(mine)]
    assert after(operator, 0) == [kept[0].pk, kept[2].pk]
    assert after(operator, 0, severity="critical") == [kept[0].pk]
    join(operator, "Bank")
    assert after(operator, 0, severity="critical,warning", camera=f"{mine.pk},{hidden.pk}") == [e.pk for e in kept]


def _insert_in_thread(camera, inserted: list[int], hold: threading.Event | None, started: threading.Event) -> None:
    try:
        with transaction.atomic():
            started.set()
            inserted.append(make_event(camera).pk)
            if hold is not None:
                hold.wait(10)  # a slow transaction: its id is drawn, it has not committed
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_ids_are_drawn_in_commit_order_so_a_late_commit_is_never_skipped(operator):
    camera = add_camera(name="Lobby", stream_url="rtsp://192.0.2.1/s")
    seen = make_event(camera).pk
    slow_ids: list[int] = []
    fast_ids: list[int] = []
    hold, slow_started, fast_started = threading.Event(), threading.Event(), threading.Event()
    slow = threading.Thread(target=_insert_in_thread, args=(camera, slow_ids, hold, slow_started))
    slow.start()
    assert slow_started.wait(5)
    while not slow_ids:  # the slow one has its id and holds the insert lock
        slow.join(0.01)
    fast = threading.Thread(target=_insert_in_thread, args=(camera, fast_ids, None, fast_started))
    fast.start()
    assert fast_started.wait(5)
    fast.join(0.5)
    assert fast.is_alive(), "a second insert waits for the first transaction to commit"
    assert after(operator, seen) == []  # a client asking now sees neither: nothing to skip later
    hold.set()
    slow.join(5)
    fast.join(5)
    assert fast_ids[0] > slow_ids[0]
    assert after(operator, seen) == [slow_ids[0], fast_ids[0]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_client_that_was_away_backfills_exactly_what_it_missed(operator, redis_client):
    camera = await sync_to_async(add_camera)(name="Lobby", stream_url="rtsp://192.0.2.1/s")

    def create_and_publish() -> int:  # what the sink does: insert, commit, then publish
        event = make_event(camera)
        publish_event(event_payload(Event.objects.select_related("detection").get(pk=event.pk), camera.name))
        return event.pk

    socket, connected, _ = await open_socket("/ws/events/", operator)
    assert connected
    received = []
    for _ in range(3):
        created = await sync_to_async(create_and_publish)()
        message = await socket.receive_json_from(timeout=5)
        assert message["event"]["id"] == created
        received.append(created)
    await socket.disconnect()  # the network drops

    missed = [await sync_to_async(create_and_publish)() for _ in range(4)]  # nobody is connected

    socket, connected, _ = await open_socket("/ws/events/", operator)
    assert connected
    live = await sync_to_async(create_and_publish)()  # arrives while the client back-fills
    backfilled = await sync_to_async(after)(operator, received[-1])
    pushed = (await socket.receive_json_from(timeout=5))["event"]["id"]
    await socket.disconnect()
    assert backfilled == [*missed, live] and pushed == live
    merged = list(dict.fromkeys([*received, *backfilled, pushed]))  # the client dedups by id
    assert merged == [*received, *missed, live]
