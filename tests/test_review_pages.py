"""The reviewer pages (/review/, /review/similar/, /review/suppressed/): who may open them,
what they offer, and that user text in them (camera names, class labels, notes) never runs
as script, neither in the HTML nor in what their JavaScript renders."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from cameras.models import Camera, Rule
from cameras.services import add_camera
from events.models import Detection, Event
from review.models import Correction, ReviewItem, Suppression
from review.views import class_names
from tests.conftest import client_for
from tests.test_event_page import sign_in
from tests.stack_helpers import CHROMIUM_ARGS

pytestmark = pytest.mark.django_db

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
CAPTURED = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)
FRAME = (640, 360)


def unit_vector(seed: int) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=1280)
    return (vector / np.linalg.norm(vector)).tolist()


def make_item(camera: Camera, n: int, *, class_name: str = "car", label: str | None = None,
              media_root: Path | None = None, rule: Rule | None = None) -> ReviewItem:
    """A review item with a synthetic embedding (near its neighbours: similar search has an order)."""
    detection = Detection.objects.create(
        camera=camera, captured_at=CAPTURED + timedelta(seconds=n), track_id=n, class_id=2, class_name=class_name,
        confidence=0.4 + n / 100, x1=100 + n, y1=80, x2=220 + n, y2=200, frame_width=FRAME[0],
        frame_height=FRAME[1], model_name="yolox_nano", model_version="0.1.1rc0",
    )
    frame, crop = f"review/{camera.pk}/synthetic-{n}.jpg", f"review/{camera.pk}/synthetic-{n}-crop.jpg"
    if media_root is not None:
        (media_root / "review" / str(camera.pk)).mkdir(parents=True, exist_ok=True)
        image = np.full((FRAME[1], FRAME[0], 3), 40 + 10 * n % 200, np.uint8)
        cv2.imwrite(str(media_root / frame), image)
        cv2.imwrite(str(media_root / crop), image[80:200, 100:220])
    base = np.asarray(unit_vector(0))
    vector = base + 0.05 * n * np.asarray(unit_vector(n + 1))
    return ReviewItem.objects.create(
        detection=detection, camera=camera, rule=rule, class_name=class_name, confidence=detection.confidence,
        captured_at=detection.captured_at, reason="near_threshold", threshold=0.5, uncertainty=0.8,
        random_key=n / 10, frame=frame, crop=crop, embedding=(vector / np.linalg.norm(vector)).tolist(),
        embedding_model="mobilenetv2_embed", embedding_version="12-int8-embed", label=label or class_name,
        box=[100.0 + n, 80.0, 220.0 + n, 200.0],
    )


@pytest.fixture
def lot(media_root) -> Camera:
    return add_camera(name="Parking lot", stream_url="rtsp://192.0.2.1/lot")


@pytest.fixture
def item(lot) -> ReviewItem:
    return make_item(lot, 1)


def pages(item: ReviewItem) -> list[str]:
    return ["/review/", f"/review/similar/?item={item.pk}", "/review/suppressed/"]


@pytest.mark.parametrize("path", ["/review/", "/review/similar/?item=1", "/review/suppressed/"])
def test_it_sends_anonymous_visitors_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(("role", "code"), [("reviewer", 200), ("admin_user", 200), ("operator", 403), ("nobody", 403)])
def test_it_lets_only_reviewers_and_admins_in(request, item, role, code):
    client = client_for(request.getfixturevalue(role))
    for path in pages(item):
        assert client.get(path).status_code == code, path


@pytest.mark.parametrize(("role", "shown"), [("reviewer", True), ("admin_user", True), ("operator", False)])
def test_it_links_the_review_screen_only_for_those_who_may_review(request, role, shown):
    body = client_for(request.getfixturevalue(role)).get("/dashboard/").content.decode()
    assert ('href="/review/"' in body) is shown


def test_it_offers_the_filters_and_numbered_classes_most_common_first(reviewer, lot):
    Rule.objects.create(camera=lot, name="Phones", trigger="seen", object_classes=["cell phone"])
    for n in range(3):
        make_item(lot, n, class_name="cell phone")
    make_item(lot, 5, class_name="car", label="truck")
    body = client_for(reviewer).get("/review/").content.decode()
    assert '<option value="near_threshold">' in body and "Parking lot · Phones" in body
    assert '<option value="reviewed">Reviewed</option>' in body
    numbered = re.findall(r'class="rv-class" data-class="([^"]*)" aria-keyshortcuts="(\d)"', body)
    # cell phone 3 items; car and truck 1 each (detected, relabelled), in the model's order; then the rest
    assert numbered[:4] == [("cell phone", "1"), ("car", "2"), ("truck", "3"), ("person", "4")]
    assert len(numbered) == 9
    assert 'id="review-config"' in body and 'src="/static/js/review/review.js"' in body


def test_class_list_is_every_model_class_once_most_common_first(lot):
    make_item(lot, 1, class_name="cell phone")
    make_item(lot, 2, class_name="cell phone", label="car")
    names = class_names(ReviewItem.objects.all())
    assert names[:2] == ["cell phone", "car"] and names[2] == "person"  # then the model's own order
    assert len(names) == len(set(names)) == 80


def test_it_finds_items_similar_to_a_correction_too(reviewer, lot, item):
    correction = Correction.objects.create(
        item=item, camera=lot, class_name="car", reviewer=reviewer, action="reject", after={},
        embedding=item.embedding, embedding_model=item.embedding_model, embedding_version=item.embedding_version,
    )
    response = client_for(reviewer).get(f"/review/similar/?correction={correction.pk}")
    assert response.status_code == 200
    assert f'"correction": {correction.pk}' in response.content.decode()
    assert client_for(reviewer).get(f"/review/similar/?correction={correction.pk}&item={item.pk}").status_code == 404


def test_it_answers_404_for_items_the_reviewer_may_not_see(reviewer, admin_user, lot):
    from django.contrib.auth.models import Group

    gate = add_camera(name="Back gate", stream_url="rtsp://192.0.2.1/gate")
    gate.access_groups.add(Group.objects.create(name="north site"))
    hidden = make_item(gate, 3)
    client = client_for(reviewer)
    assert client.get(f"/review/similar/?item={hidden.pk}").status_code == 404
    assert client.get("/review/similar/").status_code == 404
    assert client.get("/review/similar/?item=abc").status_code == 404
    assert "Back gate" not in client.get("/review/").content.decode()
    assert client_for(admin_user).get(f"/review/similar/?item={hidden.pk}").status_code == 200


def seed_xss(payload: str, reviewer, media_root: Path | None = None) -> tuple[ReviewItem, Suppression]:
    """Camera name, rule name, class label and note all ``payload``; a suppression too."""
    camera = add_camera(name=payload, stream_url="rtsp://192.0.2.1/x")
    rule = Rule.objects.create(camera=camera, name=payload, trigger="seen", object_classes=["car"])
    items = [make_item(camera, n, label=payload, media_root=media_root, rule=rule) for n in range(1, 4)]
    fp = Correction.objects.create(
        item=items[0], camera=camera, class_name="car", reviewer=reviewer, action="reject", note=payload,
        after={"status": "reviewed", "verdict": "reject", "class_name": payload, "box": items[0].box},
        before=items[0].state(), embedding=items[0].embedding, embedding_model="mobilenetv2_embed",
        embedding_version="12-int8-embed",
    )
    Correction.objects.create(
        item=items[1], camera=camera, class_name=payload, reviewer=reviewer, action="add_missed", note=payload,
        after={"class_name": payload, "box": [10.0, 10.0, 60.0, 50.0]}, embedding=items[1].embedding,
        embedding_model="mobilenetv2_embed", embedding_version="12-int8-embed",
    )
    ReviewItem.objects.filter(pk=items[0].pk).update(status="reviewed", verdict="reject")
    event = Event.objects.create(camera=camera, rule=rule, rule_name=payload, detection=items[2].detection,
                                 class_name="car", confidence=0.6, captured_at=CAPTURED, snapshot=items[2].frame)
    return items[1], Suppression.objects.create(event=event, false_positive=fp, distance=0.04)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_it_escapes_user_text_in_the_html(reviewer, admin_user, media_root, payload):
    item, _suppression = seed_xss(payload, reviewer)
    for user in (reviewer, admin_user):
        client = client_for(user)
        for path in pages(item):
            body = client.get(path).content.decode()
            assert payload not in body, path
            assert "<img src=x" not in body and "<script>alert" not in body, path


@pytest.mark.browser
def test_it_runs_no_script_from_user_text_in_the_browser(transactional_db, live_server, reviewer, media_root,
                                                         artifacts, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    seeded = [seed_xss(payload, reviewer, media_root) for payload in PAYLOADS]
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            sign_in(page, live_server.url, reviewer.username)
            for item, _suppression in seeded:
                page.goto(f"{live_server.url}/review/?status=unreviewed&item={item.pk}")
                page.wait_for_selector("#review[data-state=ready]")
                page.wait_for_selector("#item-history li q")  # the history (with the note) has rendered
                assert page.inner_text('[data-fact="camera"]') == item.camera.name
                assert item.camera.name in page.inner_text("#queue-list")
                assert item.camera.name in page.inner_text("#item-why")  # the rule's name
                assert page.inner_text("#item-history q") == item.camera.name  # the note
                assert f"Missed object added: {item.camera.name}" in page.inner_text("#item-history")  # a label
                classes = page.locator(".rv-class").evaluate_all("buttons => buttons.map(b => b.dataset.class)")
                assert set(PAYLOADS) <= set(classes)  # labels reviewers gave count among the classes
                page.keyboard.press("?")
                page.wait_for_selector("#help[open]")
                page.keyboard.press("Escape")
                page.goto(f"{live_server.url}/review/similar/?item={item.pk}")
                page.wait_for_selector("#similar[data-state=ready]")
                assert item.camera.name in page.inner_text("#similar-grid")
            page.goto(f"{live_server.url}/review/?status=reviewed")
            page.wait_for_selector("#review[data-state=ready]")
            queue = page.inner_text("#queue-list")
            assert all(payload in queue for payload in PAYLOADS)
            page.goto(f"{live_server.url}/review/suppressed/")
            page.wait_for_selector("#suppressed[data-state=ready]")
            texts = page.locator(".sp-what").all_inner_texts()
            assert sorted(t.split(" · ", 1)[1] for t in texts) == sorted(PAYLOADS)
            page.wait_for_timeout(300)
            assert page.locator('img[src="x"]').count() == 0
            page.screenshot(path=str(artifacts / "review-xss-suppressed.png"), full_page=True)
        finally:
            browser.close()
    assert not dialogs, dialogs
    assert not errors, errors
