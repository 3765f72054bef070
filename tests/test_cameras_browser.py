"""The camera pages in Chromium: test connection on real sources, settings, live status, toggle, delete."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import sync_playwright

from cameras.models import Camera
from cameras.services import add_camera
from tests.pipeline.rtsp_server import free_tcp_port
from tests.test_event_page import sign_in
from tests.stack_helpers import CHROMIUM_ARGS

pytestmark = [pytest.mark.django_db, pytest.mark.browser]


def _text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_it_tests_connections_and_manages_cameras(transactional_db, live_server, admin_user, video_dir, artifacts,
                                                  monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    closed_port = free_tcp_port()
    video = str(video_dir / "vtest_480x360.avi")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            sign_in(page, live_server.url, admin_user.username)
            page.goto(f"{live_server.url}/cameras/")
            add_form = page.locator("form.camera-form")

            # Test connection, ok: a real video file gives its first picture.
            page.fill("#id_name", "Plaza")
            page.fill("#id_stream_url", video)
            page.click(".test-connection button")
            page.wait_for_selector(".test-connection[data-state=ok]", timeout=30_000)
            assert _text(page, ".test-status") == "Connected: 480×360 picture"
            assert page.evaluate("document.querySelector('img.test-frame').naturalWidth") == 480
            add_form.screenshot(path=str(artifacts / "camera-test-connection-ok.png"))

            # Test connection, error: nothing listens on that port.
            page.fill("#id_stream_url", f"rtsp://127.0.0.1:{closed_port}/x")
            page.click(".test-connection button")
            page.wait_for_selector(".test-connection[data-state=error]", timeout=30_000)
            assert _text(page, ".test-status") == (
                f"Host unreachable: connection refused by 127.0.0.1:{closed_port} (nothing is listening there)")
            assert page.locator("img.test-frame").is_hidden()
            page.locator(".test-connection").screenshot(path=str(artifacts / "camera-test-connection-error.png"))

            # Add with per-camera settings and one enabled object.
            page.fill("#id_stream_url", video)
            page.fill("#id_detect_width", "320")
            page.fill("#id_timezone", "Europe/Paris")
            page.fill("#id_description", "Front plaza")
            page.click("fieldset.objects summary")
            page.fill("[data-object-filter]", "pers")
            assert page.locator("tr[data-object]:visible").count() == 1
            page.check('tr[data-object="person"] input[type=checkbox]')
            page.fill('tr[data-object="person"] input[name$="-min_confidence"]', "0.4")
            page.fill('tr[data-object="person"] input[name$="-max_area"]', "0.5")
            page.fill("[data-object-filter]", "")
            page.locator("fieldset.objects").screenshot(path=str(artifacts / "camera-object-settings.png"))
            page.click("text=Add camera")
            page.wait_for_selector("text=Camera “Plaza” added")
            camera = Camera.objects.get(name="Plaza")
            assert (camera.detect_width, camera.timezone, camera.description) == (320, "Europe/Paris", "Front plaza")
            assert camera.object_settings == {"person": {"min_confidence": 0.4, "min_area": 0.0, "max_area": 0.5}}

            # The status refreshes without a reload.
            row = f'tr[data-camera-id="{camera.pk}"]'
            page.evaluate("window.stillTheSamePage = true")
            Camera.objects.filter(pk=camera.pk).update(
                status="unreachable", status_detail="connection refused by 192.0.2.7:554", worker="node-1")
            page.wait_for_function(
                f"document.querySelector('{row} [data-field=status]').textContent === 'Unreachable'", timeout=10_000)
            assert _text(page, f'{row} [data-field="status_detail"]') == "connection refused by 192.0.2.7:554"
            assert _text(page, f'{row} [data-field="worker"]') == "node-1"
            Camera.objects.filter(pk=camera.pk).update(
                status="online", status_detail="", decoded_fps=25.0, processed_fps=4.9,
                last_frame_at=timezone.now() - timedelta(seconds=3))
            page.wait_for_function(
                f"document.querySelector('{row} [data-field=status]').textContent === 'Online'", timeout=10_000)
            assert _text(page, f'{row} [data-field="decoded_fps"]') == "25.0"
            assert _text(page, f'{row} [data-field="detect_fps"]') == "4.9 / 5.0"
            assert _text(page, f'{row} [data-field="last_frame"]').endswith(" s ago")
            assert page.locator(f'{row} [data-field="status_detail"]').is_hidden()
            assert page.evaluate("window.stillTheSamePage") is True
            page.locator("#camera-table").screenshot(path=str(artifacts / "cameras-live-status.png"))

            # Disable, enable.
            page.click(f'{row} button:text("Disable")')
            page.wait_for_selector("text=Camera “Plaza” disabled.")
            camera.refresh_from_db()
            assert not camera.enabled
            assert page.locator(f"{row}.camera-disabled").count() == 1
            page.click(f'{row} button:text("Enable")')
            page.wait_for_selector("text=Camera “Plaza” enabled.")

            # Delete asks first; cancelling keeps the camera.
            page.once("dialog", lambda dialog: dialog.dismiss())
            page.click(f'{row} button:text("Delete")')
            page.wait_for_timeout(300)
            assert Camera.objects.filter(pk=camera.pk).exists()
            messages: list[str] = []
            page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
            page.click(f'{row} button:text("Delete")')
            page.wait_for_selector("text=Camera “Plaza” deleted.")
            assert messages == ["Delete camera “Plaza” with all its detections and events?"]
            assert not Camera.objects.filter(pk=camera.pk).exists()

            # Editing: the redacted password (***) is tested with the stored one.
            yard = add_camera(name="Yard", stream_url=f"rtsp://admin:hunter2@127.0.0.1:{closed_port}/live")
            page.goto(f"{live_server.url}/cameras/{yard.pk}/edit/")
            assert page.input_value("#id_stream_url") == f"rtsp://admin:***@127.0.0.1:{closed_port}/live"
            page.click(".test-connection button")
            page.wait_for_selector(".test-connection[data-state=error]", timeout=30_000)
            assert "connection refused" in _text(page, ".test-status")
            assert "hunter2" not in page.content()
            page.screenshot(path=str(artifacts / "camera-edit.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(artifacts / "cameras-browser-failure.png"), full_page=True)
            raise
        finally:
            # Inside Playwright's sync API the ORM sees another context, so another connection:
            # close it here, or the test database cannot be dropped at the end of the session.
            connections.close_all()
            browser.close()
    assert not errors, errors
