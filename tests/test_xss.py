"""Names and descriptions typed by users never run as script: in the HTML and in what JS renders."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from playwright.sync_api import sync_playwright

from cameras.models import Camera, Region, Rule
from cameras.services import add_camera
from events.models import Detection, Event
from tests.conftest import client_for
from tests.test_event_page import sign_in
from tests.stack_helpers import CHROMIUM_ARGS

pytestmark = pytest.mark.django_db

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
CAPTURED = datetime(2024, 5, 1, 12, 3, 7, tzinfo=timezone.utc)


def seed(payload: str) -> tuple[Camera, Event]:
    """A camera, region, rule and event whose every free-text field is ``payload``."""
    camera = add_camera(name=payload, stream_url="rtsp://192.0.2.1/s", description=payload)
    # What a worker writes: the JS refresh of the camera list renders these.
    Camera.objects.filter(pk=camera.pk).update(status="unreachable", status_detail=payload, worker=payload)
    line = [[0.1, 0.5], [0.9, 0.5]]
    region = Region.objects.create(camera=camera, name=payload, kind="line", points=line, direction="a_to_b")
    rule = Rule.objects.create(camera=camera, name=payload, description=payload, trigger="cross", region=region,
                               object_classes=["person"])
    detection = Detection.objects.create(
        camera=camera, captured_at=CAPTURED, track_id=3, class_id=0, class_name="person", confidence=0.9,
        x1=10, y1=10, x2=50, y2=90, frame_width=480, frame_height=360, model_name="yolox_nano", model_version="1")
    event = Event.objects.create(
        camera=camera, rule=rule, rule_name=payload, detection=detection, track_id=3, class_name="person",
        confidence=0.9, captured_at=CAPTURED,
        evidence={
            "trigger": "cross",
            "area": {"id": region.pk, "name": payload, "kind": "line", "points": line, "direction": "a_to_b"},
            "box": [0.02, 0.03, 0.1, 0.25],
            "track_path": [[CAPTURED.timestamp() - 1, 0.3, 0.4], [CAPTURED.timestamp(), 0.3, 0.6]],
            "crossing": {"point": [0.3, 0.5], "direction": "a_to_b", "at": CAPTURED.timestamp()},
            "schedule": payload,
        })
    return camera, event


def pages(camera: Camera, event: Event) -> list[str]:
    return ["/cameras/", f"/cameras/{camera.pk}/edit/", "/dashboard/", f"/events/{event.pk}/"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_it_escapes_user_text_in_every_page(admin_user, operator, payload):
    camera, event = seed(payload)
    for user in (admin_user, operator):
        client = client_for(user)
        for path in pages(camera, event):
            response = client.get(path)
            if response.status_code == 403:  # operators may not edit cameras
                continue
            assert response.status_code == 200, path
            body = response.content.decode()
            assert payload not in body, (user, path)
            assert "<img src=x" not in body and "<script>alert" not in body, (user, path)
            assert "&lt;" in body or "\\u003C" in body, (user, path)  # the text is there, escaped


@pytest.mark.browser
def test_it_runs_no_script_from_user_text_in_the_browser(transactional_db, live_server, admin_user, artifacts,
                                                         monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    seeded = [seed(payload) for payload in PAYLOADS]
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            sign_in(page, live_server.url, admin_user.username)
            page.goto(f"{live_server.url}/cameras/")
            page.wait_for_selector("#status-refresh[data-state=ok]")  # the JS refresh has rendered the rows
            details = page.locator('[data-field="status_detail"]').all_inner_texts()
            assert sorted(details) == sorted(PAYLOADS)  # shown as text
            assert sorted(page.locator('[data-field="worker"]').all_inner_texts()) == sorted(PAYLOADS)
            page.screenshot(path=str(artifacts / "xss-cameras-list.png"), full_page=True)
            for camera, event in seeded:
                page.goto(f"{live_server.url}/cameras/{camera.pk}/edit/")
                # The "Test connection" error echoes the typed URL: rendered as text too.
                page.fill("#id_stream_url", PAYLOADS[1])
                page.click(".test-connection button")
                page.wait_for_selector(".test-connection[data-state=error]")
                page.goto(f"{live_server.url}/events/{event.pk}/")
                page.wait_for_selector("#evidence-canvas[data-drawn]")
                assert event.rule_name in page.inner_text("#evidence-legend")
            page.goto(f"{live_server.url}/dashboard/")
            page.wait_for_selector(".alert")
            assert sorted(page.locator(".alert a.rule").all_inner_texts()) == sorted(PAYLOADS)
            page.wait_for_timeout(500)
            assert page.locator('img[src="x"]').count() == 0
            page.screenshot(path=str(artifacts / "xss-dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert not dialogs, dialogs
    assert not errors, errors
