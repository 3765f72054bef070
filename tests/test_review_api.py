"""The review API on the real database with real embeddings: roles, corrections and undo,
similar items and bulk corrections, camera access, suppressions, precision."""
import json

import pytest
from django.contrib.auth.models import Group

from cameras.services import add_camera
from events.models import Event
from review.models import Correction, ItemStatus, ReviewItem, Suppression
from tests.conftest import client_for
from tests.review_data import car_clip, drain, items, listen, lot, store_items  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def correct(client, item, **data):
    return post(client, f"/api/review/items/{item.pk}/correct/", data)


@pytest.mark.parametrize(("role", "read", "write"), [
    ("operator", 403, 403), ("nobody", 403, 403), ("reviewer", 200, 201), ("admin_user", 200, 201),
])
def test_it_lets_only_reviewers_and_admins_review(request, items, role, read, write):
    client = client_for(request.getfixturevalue(role))
    assert client.get("/api/review/queue/").status_code == read
    assert client.get("/api/review/corrections/").status_code == read
    assert client.get("/api/review/suppressions/").status_code == read
    assert client.get("/api/review/similar/", {"item": items[0].pk}).status_code == read
    assert client.get(f"/api/review/items/{items[0].pk}/").status_code == read
    assert correct(client, items[0], action="confirm").status_code == write
    assert post(client, "/api/review/bulk/", {"items": [items[1].pk], "action": "reject"}).status_code == write
    assert client.get("/api/review/precision/").status_code == read


def test_it_confirms_an_item_and_undoes_it(reviewer, items):
    client = client_for(reviewer)
    item = items[0]
    response = correct(client, item, action="confirm", note="clearly a phone… no, fine")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["item"]["status"] == "reviewed" and body["item"]["verdict"] == "confirm"
    correction = body["correction"]
    assert correction["reviewer_name"] == "rafael" and correction["action"] == "confirm"
    assert correction["before"] == {"status": "unreviewed", "verdict": "", "class_name": item.class_name,
                                    "box": pytest.approx(list(item.box))}
    assert correction["after"]["status"] == "reviewed"
    assert Correction.objects.get(pk=correction["id"]).embedding == pytest.approx(item.embedding)
    history = client.get("/api/review/corrections/", {"item": item.pk}).json()["results"]
    assert [c["id"] for c in history] == [correction["id"]]

    undone = post(client, f"/api/review/corrections/{correction['id']}/undo/")
    assert undone.status_code == 200
    assert undone.json()["item"]["status"] == "unreviewed" and undone.json()["correction"]["undone_at"]
    assert post(client, f"/api/review/corrections/{correction['id']}/undo/").status_code == 409


def test_it_relabels_only_to_classes_the_detector_knows(reviewer, items):
    client = client_for(reviewer)
    assert correct(client, items[1], action="relabel", class_name="car").json()["item"]["label"] == "car"
    assert correct(client, items[1], action="relabel", class_name="spaceship").status_code == 400
    assert "class_name" in correct(client, items[1], action="relabel").json()
    assert "class_name" in correct(client, items[1], action="confirm", class_name="car").json()


def test_it_adjusts_a_box_and_embeds_the_new_crop(reviewer, items):
    client = client_for(reviewer)
    item = items[4]
    x1, y1, x2, y2 = item.box
    box = [x1 + 20, y1 + 20, x2 - 20, y2 - 20]
    response = correct(client, item, action="adjust_box", box=box)
    assert response.status_code == 201, response.content
    assert response.json()["item"]["box"] == pytest.approx(box)
    correction = Correction.objects.get(pk=response.json()["correction"]["id"])
    assert correction.after["box"] == pytest.approx(box)
    similarity = float(correction.embedding @ item.embedding)
    assert 0.5 < similarity < 0.999  # the same object, cropped differently
    outside = correct(client, item, action="adjust_box", box=[0, 0, 5000, 10])
    assert outside.status_code == 400 and "box" in outside.json()


def test_it_undoes_only_the_latest_correction_of_an_item(reviewer, items):
    client = client_for(reviewer)
    item = items[2]
    first = correct(client, item, action="confirm").json()["correction"]["id"]
    second = correct(client, item, action="relabel", class_name="car").json()["correction"]["id"]
    conflict = post(client, f"/api/review/corrections/{first}/undo/")
    assert conflict.status_code == 409 and conflict.json()["items"] == [item.pk]
    assert post(client, f"/api/review/corrections/{second}/undo/").json()["item"]["verdict"] == "confirm"
    assert post(client, f"/api/review/corrections/{first}/undo/").json()["item"]["status"] == "unreviewed"


def test_it_adds_a_missed_object_beside_the_item(reviewer, items):
    client = client_for(reviewer)
    item = items[0]
    response = post(client, f"/api/review/items/{item.pk}/missed/", {"class_name": "car", "box": [10, 10, 200, 150]})
    assert response.status_code == 201, response.content
    correction = Correction.objects.get(pk=response.json()["correction"]["id"])
    assert correction.action == "add_missed" and correction.before is None
    assert correction.after == {"class_name": "car", "box": [10.0, 10.0, 200.0, 150.0]}
    assert len(correction.embedding) == 1280
    assert ReviewItem.objects.get(pk=item.pk).status == ItemStatus.UNREVIEWED
    detail = client_for(reviewer).get(f"/api/review/items/{item.pk}/").json()
    assert [c["action"] for c in detail["corrections"]] == ["add_missed"]


def test_it_finds_similar_items_and_corrects_them_in_one_step_with_undo(reviewer, items):
    client = client_for(reviewer)
    source = next(i for i in items if i.class_name == "cell phone")
    similar = client.get("/api/review/similar/", {"item": source.pk, "class_name": "cell phone", "limit": 6}).json()
    results = similar["results"]
    assert len(results) == 6 and source.pk not in [r["item"]["id"] for r in results]
    distances = [r["distance"] for r in results]
    assert distances == sorted(distances) and distances[0] < 0.15
    assert all(r["item"]["class_name"] == "cell phone" and r["item"]["crop_url"].startswith("/media/") for r in results)
    near = client.get("/api/review/similar/", {"item": source.pk, "max_distance": distances[2]}).json()["results"]
    assert [r["distance"] for r in near] == distances[:3]

    picked = [r["item"]["id"] for r in results]
    bulk = post(client, "/api/review/bulk/", {"items": picked, "action": "reject", "note": "cars, not phones"})
    assert bulk.status_code == 201 and bulk.json()["count"] == 6
    batch = bulk.json()["batch"]
    assert set(ReviewItem.objects.filter(pk__in=picked).values_list("verdict", flat=True)) == {"reject"}
    rejected = Correction.objects.filter(batch=batch).first()
    from_correction = client.get("/api/review/similar/", {"correction": rejected.pk, "limit": 3}).json()
    assert from_correction["results"][0]["distance"] < 0.2
    assert rejected.item_id not in [r["item"]["id"] for r in from_correction["results"]]

    undone = post(client, f"/api/review/bulk/{batch}/undo/")
    assert undone.status_code == 200 and undone.json()["undone"] == 6
    assert set(ReviewItem.objects.filter(pk__in=picked).values_list("status", flat=True)) == {"unreviewed"}
    assert post(client, "/api/review/bulk/", {"items": [picked[0], 10**9], "action": "confirm"}).status_code == 400


def test_it_shows_reviewers_only_the_cameras_of_their_groups(reviewer, admin_user, items, car_clip, media_root):
    gate = add_camera(name="Back gate", stream_url="rtsp://gate.example/1")
    gate.access_groups.add(Group.objects.create(name="north site"))
    hidden = store_items(gate, car_clip[:3], media_root)[0]
    client = client_for(reviewer)
    assert client.get(f"/api/review/items/{hidden.pk}/").status_code == 404
    queue = client.get("/api/review/queue/", {"limit": 100}).json()
    assert queue["count"] == len(items) and hidden.pk not in [i["id"] for i in queue["results"]]
    similar = client.get("/api/review/similar/", {"item": items[0].pk, "limit": 100}).json()["results"]
    assert hidden.pk not in [r["item"]["id"] for r in similar]
    assert client_for(admin_user).get(f"/api/review/items/{hidden.pk}/").status_code == 200


def test_it_serves_the_queue_in_pages_with_filters(reviewer, items, django_assert_max_num_queries):
    client = client_for(reviewer)
    with django_assert_max_num_queries(12):
        page = client.get("/api/review/queue/", {"class_name": "cell phone", "limit": 10}).json()
    assert page["count"] == sum(i.class_name == "cell phone" for i in items)
    assert len(page["results"]) == 10 and "offset=10" in page["next"] and page["previous"] is None
    scores = [r["score"] for r in page["results"]]
    assert scores == sorted(scores, reverse=True)
    first = page["results"][0]
    assert first["frame_url"].startswith("/media/review/") and first["frame_size"] == [768, 432]
    assert client.get(first["frame_url"]).status_code == 200
    rest = client.get(page["next"]).json()
    assert not {r["id"] for r in rest["results"]} & {r["id"] for r in page["results"]}
    correct(client, items[0], action="confirm")
    reviewed = client.get("/api/review/queue/", {"status": "reviewed"}).json()
    assert [r["id"] for r in reviewed["results"]] == [items[0].pk]


def _event_for(item: ReviewItem) -> Event:
    event = Event.objects.create(
        camera=item.camera, rule=item.camera.rules.first(), rule_name="Person seen", detection=item.detection,
        class_name=item.class_name, confidence=item.confidence, captured_at=item.captured_at,
    )
    item.event = event
    item.save(update_fields=["event"])
    return event


def test_it_lists_suppressions_and_lifting_one_alerts_operators(
    reviewer, operator, items, redis_client, django_capture_on_commit_callbacks
):
    fp = Correction.objects.create(
        item=items[0], camera=items[0].camera, class_name="cell phone", reviewer=reviewer, action="reject",
        after={}, embedding=items[0].embedding, embedding_model="m", embedding_version="v",
    )
    event = _event_for(items[1])
    suppression = Suppression.objects.create(event=event, false_positive=fp, distance=0.04)
    ops = client_for(operator)
    assert [e["id"] for e in ops.get("/api/events/", {"suppressed": "true"}).json()["results"]] == [event.pk]
    assert event.pk not in [e["id"] for e in ops.get("/api/events/", {"suppressed": "false"}).json()["results"]]
    assert ops.get("/api/review/suppressions/").status_code == 403
    assert post(ops, f"/api/review/suppressions/{suppression.pk}/lift/").status_code == 403

    client = client_for(reviewer)
    listed = client.get("/api/review/suppressions/", {"active": "true"}).json()["results"]
    assert [(s["id"], s["false_positive"], s["false_positive_item"]) for s in listed] == [
        (suppression.pk, fp.pk, items[0].pk)
    ]
    assert listed[0]["event"]["id"] == event.pk and listed[0]["event"]["detection"]["id"] == event.detection_id
    detail = client.get(f"/api/review/items/{items[1].pk}/").json()
    assert detail["event"]["id"] == event.pk and detail["suppression"]["id"] == suppression.pk

    channel = listen(event.camera_id)
    with django_capture_on_commit_callbacks(execute=True):
        lifted = post(client, f"/api/review/suppressions/{suppression.pk}/lift/")
    assert lifted.status_code == 200 and lifted.json()["active"] is False
    (message,) = drain(channel)
    assert message["type"] == "event.created" and message["event"]["id"] == event.pk
    assert client.get("/api/review/suppressions/", {"active": "true"}).json()["results"] == []
    assert event.pk in [e["id"] for e in ops.get("/api/events/", {"suppressed": "false"}).json()["results"]]


def test_it_reports_precision_from_the_random_sample_only(reviewer, lot, car_clip, media_root):
    phones = [s for s in car_clip if s.class_name == "cell phone"][:6]
    sample = store_items(lot, phones, media_root, reason="random", in_random_sample=True)
    chosen = store_items(lot, phones[:2], media_root, reason="near_threshold")
    client = client_for(reviewer)
    for item in sample[:4]:
        correct(client, item, action="reject")
    correct(client, sample[4], action="confirm")
    for item in chosen:  # not in the random sample: must not count
        correct(client, item, action="confirm")
    figures = client.get("/api/review/precision/").json()
    assert figures["reviewed"] == 5 and figures["unreviewed"] == 1
    (phone,) = figures["classes"]
    assert (phone["class_name"], phone["correct"], phone["wrong"]) == ("cell phone", 1, 4)
    assert phone["precision"] == pytest.approx(0.2)
    assert phone["low"] < 0.2 < phone["high"] < 0.7
