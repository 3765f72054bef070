"""`make run`'s stack, started as a user starts it, driven in Debian's Chromium.

Starts ``python -m vision.stack`` on a fresh data folder (its own embedded PostgreSQL
and Redis), signs in with the printed admin password, adds a camera on a real sample
video, waits for a person alert on the dashboard, then stops the stack with Ctrl-C
and checks that nothing is left running.
"""
from __future__ import annotations

import time

import psutil
import pytest
from playwright.sync_api import sync_playwright

from tests.pipeline.rtsp_server import free_tcp_port
from tests.stack_helpers import CHROMIUM_ARGS, Stack, wait_http

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_it_shows_a_person_alert_live_after_adding_a_camera_in_the_browser(tmp_path, shared_media, artifacts):
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    stack = Stack(tmp_path / "data", shared_media, port)
    descendants: list[psutil.Process] = []
    try:
        password = stack.wait_for_line(r"password: (\S+)", timeout=300).group(1)
        wait_http(f"{base}/healthz?component=web", timeout=120)
        descendants = psutil.Process(stack.proc.pid).children(recursive=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            try:
                page.goto(f"{base}/dashboard/")
                assert "/login/" in page.url
                page.fill("#id_username", "admin")
                page.fill("#id_password", password)
                page.click("button[type=submit]")
                page.goto(f"{base}/cameras/")
                page.fill("#id_name", "Plaza")
                page.fill("#id_stream_url", str(shared_media / "vtest_480x360.avi"))
                page.click("text=Add camera")
                page.wait_for_selector("text=Camera “Plaza” added")
                added_at = time.monotonic()
                page.goto(f"{base}/dashboard/")
                page.wait_for_selector("#live-state[data-state=live]", timeout=30_000)
                alert = page.wait_for_selector(".alert", timeout=120_000)
                first_alert = time.monotonic()
                assert "Person seen" in alert.inner_text()
                assert "Plaza" in alert.inner_text()
                page.wait_for_selector(".tile[data-frames]", timeout=30_000)  # a live frame drawn on the wall
                page.wait_for_timeout(1500)
                page.screenshot(path=str(artifacts / "dashboard-live-alert.png"))
                page.goto(f"{base}/cameras/")
                page.screenshot(path=str(artifacts / "cameras-list.png"))
            except Exception:
                page.screenshot(path=str(artifacts / "stack-browser-failure.png"))
                raise
            browser.close()
        print(
            f"stack start → first alert: {first_alert - stack.started:.1f}s "
            f"(camera added → alert on screen: {first_alert - added_at:.1f}s)"
        )
    finally:
        code = stack.stop()
    assert code == 0, "".join(stack.lines)[-3000:]
    time.sleep(1)
    left = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"still running after Ctrl-C: {[p.cmdline() for p in left]}"
    assert not (tmp_path / "data" / "postgres" / "postmaster.pid").exists(), "embedded PostgreSQL still running"
    assert not (tmp_path / "data" / "redis" / "redis.pid").exists() or not psutil.pid_exists(
        int((tmp_path / "data" / "redis" / "redis.pid").read_text())
    ), "embedded Redis still running"
