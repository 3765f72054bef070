"""The live wall and the alert feed in Debian's Chromium, against the whole stack (`python -m vision.stack`).

Two operators, Alice and Bob, each in a browser context of their own, watch a camera on a real
sample video (people walking across a plaza) with the real stream worker and its default
"Person seen" rule. The wall must show live frames with the boxes of each frame and the
camera's zone and line, acknowledged frame by frame; alerts must reach both feeds at once;
what Alice does to an alert Bob must see live, in his feed and on the event page; the event
page must play the clip once it is recorded; and when Bob's connection drops, his feed must
fill in every alert raised meanwhile, each once.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.conftest import REPO
from tests.stack_helpers import CHROMIUM_ARGS, RunningStack, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "correct-horse-battery"
XSS = "<img src=x onerror=alert(1)>"
VIEWPORT = {"width": 1500, "height": 950}
# Spies on notifications: the page may raise them (permission granted), the test counts them.
NOTIFICATION_SPY = """
window.__notifications = [];
if (window.Notification) {
  const Native = window.Notification;
  window.Notification = class extends Native {
    constructor(title, options) { super(title, options); window.__notifications.push(title); }
  };
}
"""


class Running(RunningStack):
    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The REST API as the admin; an error status fails the test."""
        status, answer = self.call(method, path, body)
        if status >= 400:
            raise AssertionError(f"{method} {path}: {status} {str(answer)[:500]!r}")
        return answer

    def manage_shell(self, code: str) -> None:
        """Run Python in ``manage.py shell`` against the stack's own database."""
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env["VIGIL_DATA_DIR"] = str(self.data_dir)
        subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, env=env, check=True,
                       capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, shared_media: Path) -> Iterator[Running]:
    clips = {
        "VIGIL_CLIP_PRE_SECONDS": "2",  # short clips: ready a few seconds after their event
        "VIGIL_CLIP_POST_SECONDS": "4",  # ... yet long enough to see "Recording…" first
    }
    with running_stack(tmp_path_factory.mktemp("wall-stack") / "data", shared_media, clips) as stack:
        yield Running(**vars(stack))


def watch(page: Page, who: str, errors: list[str]) -> Page:
    """Collect the page's script errors and dialogs (an alert() would be injected script)."""
    page.on("pageerror", lambda err: errors.append(f"{who}: {err}"))
    page.on("dialog", lambda dialog: (errors.append(f"{who}: dialog {dialog.message}"), dialog.dismiss()))
    return page


def sign_in(context: BrowserContext, base: str, username: str, errors: list[str]) -> Page:
    page = watch(context.new_page(), username, errors)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    return page


def tile_state(page: Page, camera_id: int) -> dict[str, str]:
    return page.eval_on_selector(f'.tile[data-camera-id="{camera_id}"]', "tile => ({...tile.dataset})")


def painted_share(page: Page, camera_id: int) -> float:
    """How much of the tile's canvas is not black: the frame was drawn on it."""
    return page.eval_on_selector(f'.tile[data-camera-id="{camera_id}"] canvas', """canvas => {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let lit = 0;
        for (let i = 0; i < data.length; i += 4 * 7) if (data[i] + data[i + 1] + data[i + 2] > 60) lit += 1;
        return lit / (data.length / (4 * 7));
    }""")


def feed_ids(page: Page) -> list[int]:
    return page.eval_on_selector_all("#alerts .alert", "items => items.map(item => Number(item.dataset.eventId))")


def api_ids(page: Page, query: str, *, every_page: bool = True) -> list[int]:
    """Event ids from the API, as the signed-in user of ``page`` sees them."""
    return page.evaluate("""async ([query, everyPage]) => {
        let url = `/api/events/?${query}`, ids = [];
        while (url) {
            const page = await (await fetch(url)).json();
            ids.push(...page.results.map(event => event.id));
            url = everyPage ? page.next : null;
        }
        return ids;
    }""", [query, every_page])


def test_two_operators_watch_handle_and_never_miss_an_alert(running: Running, shared_media: Path, artifacts: Path):
    started = time.monotonic()
    running.manage_shell(
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.models import Group\n"
        "for username, first, last in [('alice', 'Alice', 'Archer'), ('bob', 'Bob', 'Baker')]:\n"
        f"    user = get_user_model().objects.create_user(username, password={PASSWORD!r}, first_name=first, last_name=last)\n"
        "    user.groups.add(Group.objects.get(name='operator'))\n"
    )
    plaza = running.api("POST", "/api/cameras/", {"name": "Plaza", "stream_url": str(shared_media / "vtest_480x360.avi")})
    running.api("POST", "/api/regions/", {"camera": plaza["id"], "name": "Lawn", "kind": "zone",
                                          "points": [[0.05, 0.55], [0.6, 0.5], [0.7, 0.95], [0.05, 0.95]]})
    running.api("POST", "/api/regions/", {"camera": plaza["id"], "name": "Kerb", "kind": "line",
                                          "points": [[0.1, 0.35], [0.9, 0.3]], "direction": "a_to_b", "color": "#ffd33d"})
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context_a = browser.new_context(viewport=VIEWPORT)
        context_b = browser.new_context(viewport=VIEWPORT, permissions=["notifications"])
        context_b.add_init_script(NOTIFICATION_SPY)
        pages: list[Page] = []
        try:
            alice = sign_in(context_a, running.base, "alice", errors)
            bob = sign_in(context_b, running.base, "bob", errors)
            pages += [alice, bob]
            for page in (alice, bob):
                page.wait_for_selector("#live-state[data-state=live]", timeout=30_000)

            # --- the wall: live frames with their boxes, acknowledged one by one --------------
            tile = f'.tile[data-camera-id="{plaza["id"]}"]'
            alice.wait_for_selector(f'{tile}[data-health="live"]', timeout=90_000)
            alice.wait_for_function(f"Number(document.querySelector('{tile}').dataset.frames) >= 3", timeout=30_000)
            alice.wait_for_function(f"Number(document.querySelector('{tile}').dataset.boxes) > 0", timeout=30_000)
            before = tile_state(alice, plaza["id"])
            alice.wait_for_timeout(4000)
            after = tile_state(alice, plaza["id"])
            assert int(after["frames"]) >= int(before["frames"]) + 2, (before, after)  # frames keep coming...
            assert int(after["acks"]) >= int(before["acks"]) + 2  # ... and are acknowledged once drawn
            assert float(after["capturedAt"]) > float(before["capturedAt"])  # each newer than the last
            assert int(after["acks"]) >= int(after["frames"])  # skipped frames are acknowledged too
            assert painted_share(alice, plaza["id"]) > 0.3
            assert alice.inner_text(f"{tile} .health-badge") == "live"
            alice.screenshot(path=str(artifacts / "wall-live.png"))

            # A camera added while the wall is open gets a tile, with its health and why.
            dock = running.api("POST", "/api/cameras/", {"name": "Loading dock", "stream_url": "rtsp://127.0.0.1:9/none"})
            dock_tile = f'.tile[data-camera-id="{dock["id"]}"]'
            alice.wait_for_selector(f'{dock_tile}[data-health="offline"]', timeout=30_000)
            assert alice.inner_text(f"{dock_tile} .tile-reason")

            # Enlarge one camera (Escape goes back); 1 per page pages through them.
            alice.click(f"{tile} .tile-stage")
            alice.wait_for_selector('#wall[data-layout="enlarged"]')
            assert alice.is_hidden(dock_tile)
            frames = int(tile_state(alice, plaza["id"])["frames"])
            alice.wait_for_function(f"Number(document.querySelector('{tile}').dataset.frames) > {frames + 1}")
            alice.screenshot(path=str(artifacts / "wall-enlarged.png"))
            alice.keyboard.press("Escape")
            alice.wait_for_selector('#wall[data-layout="4"]')
            assert alice.is_visible(dock_tile)
            alice.click('#wall-layouts [data-layout="1"]')
            assert alice.inner_text("#wall-page") == "Page 1 of 2"
            assert alice.locator("#wall .tile:visible").get_attribute("data-camera-id") == str(dock["id"])
            # Off screen, Plaza is unsubscribed: at most the frames already under way still come.
            frames = int(tile_state(alice, plaza["id"])["frames"])
            alice.wait_for_timeout(2000)
            assert int(tile_state(alice, plaza["id"])["frames"]) <= frames + 2
            alice.click("#wall-next")
            assert alice.inner_text("#wall-page") == "Page 2 of 2"
            assert alice.locator("#wall .tile:visible").get_attribute("data-camera-id") == str(plaza["id"])
            frames = int(tile_state(alice, plaza["id"])["frames"])
            alice.wait_for_function(f"Number(document.querySelector('{tile}').dataset.frames) > {frames + 2}")
            alice.click('#wall-layouts [data-layout="4"]')

            # --- an alert of the real worker reaches both feeds -------------------------------
            alice.wait_for_selector('#alerts .alert[data-status="new"]', timeout=120_000)
            event_id = int(alice.get_attribute('#alerts .alert[data-status="new"]', "data-event-id"))
            row = f'#alerts .alert[data-event-id="{event_id}"]'
            bob.wait_for_selector(row, timeout=10_000)
            assert "Person seen" in bob.inner_text(row) and "Plaza" in bob.inner_text(row)
            assert bob.get_attribute(f"{row} img.thumb", "src").startswith("/media/snapshots/")
            alice.screenshot(path=str(artifacts / "feed-alert.png"))

            # --- Alice acknowledges: Bob sees it at once, and who did it ----------------------
            alice.click(f'{row} [data-action="acknowledge"]')
            bob.wait_for_selector(f'{row}[data-status="acknowledged"]', timeout=10_000)
            assert bob.inner_text(f"{row} .status-badge") == "Acknowledged by Alice Archer"
            bob.screenshot(path=str(artifacts / "feed-ack-seen-by-b.png"))

            # --- Bob takes it on from his feed's "Handle…" dialog: Alice sees it at once ------
            bob.click(f'{row} [data-action="handle"]')
            bob.wait_for_selector("#handle-dialog[open] [data-action=assign-me]:enabled")
            bob.click("#handle-dialog [data-action=assign-me]")
            bob.wait_for_selector('#handle-dialog .history-item[data-kind="assign"]')
            assert "Alice Archer acknowledged" in bob.inner_text("#handle-dialog .history")
            alice.wait_for_function(f"document.querySelector('{row} .assignee').textContent === 'Assigned to Bob Baker'")
            assert bob.inner_text(f"{row} .assignee") == "Assigned to you"
            bob.screenshot(path=str(artifacts / "feed-handle-dialog.png"))
            bob.keyboard.press("Escape")
            bob.wait_for_selector("#handle-dialog", state="hidden")

            # --- opt-in sound and notifications for critical alerts ---------------------------
            bob.check("#alarm-sound")
            bob.click("#alarm-notify")
            bob.wait_for_selector('#alarm-notify[aria-pressed="true"]')
            beeps = int(bob.evaluate("Number(document.body.dataset.beeps) || 0"))  # the toggle's test beep
            rule = running.api("GET", f"/api/rules/?camera={plaza['id']}")["results"][0]
            running.api("PATCH", f"/api/rules/{rule['id']}/", {"severity": "critical"})
            bob.wait_for_selector('#alerts .alert.severity-critical', timeout=60_000)
            bob.wait_for_function(f"Number(document.body.dataset.beeps) > {beeps} && window.__notifications.length > 0")

            # The filters apply at once to what the feed holds (and ask the server for more).
            bob.select_option('#feed-filters [name="severity"]', "critical")
            shown = bob.eval_on_selector_all("#alerts .alert:not([hidden])", "rows => rows.map(row => row.className)")
            assert shown and all("severity-critical" in classes for classes in shown), shown
            assert bob.is_hidden(row)  # the acknowledged one was a warning
            bob.click('#feed-filters [type="reset"]')
            bob.wait_for_selector(row, state="visible")

            # A fresh alert's page says "Recording…" until the worker tells it the clip is ready.
            newest = max(feed_ids(bob))
            bob.wait_for_function(f"Math.max(...[...document.querySelectorAll('#alerts .alert')]"
                                  f".map(row => Number(row.dataset.eventId))) > {newest}", timeout=60_000)
            fresh = max(feed_ids(bob))
            recording = watch(context_b.new_page(), "bob (recording)", errors)
            pages.append(recording)
            recording.goto(f"{running.base}/events/{fresh}/")
            assert recording.get_attribute("#clip", "data-state") == "pending"
            assert recording.inner_text("#clip-body").startswith("Recording…")
            recording.screenshot(path=str(artifacts / "event-clip-recording.png"), full_page=True)
            recording.wait_for_selector("#clip[data-state=ready] video", timeout=60_000)
            recording.close()

            # --- the event page: handling, history (live on Bob's page too) and the clip ------
            bob_event = watch(context_b.new_page(), "bob (event page)", errors)
            pages.append(bob_event)
            bob_event.goto(f"{running.base}/events/{event_id}/")
            bob_event.wait_for_selector('#conn-banner[data-state="live"]', state="attached")  # listening
            alice.goto(f"{running.base}/events/{event_id}/")
            alice.wait_for_selector("#handling [data-action=note]")
            alice.fill("#handling textarea", f"Checked the plaza: a pedestrian, all fine. {XSS}")
            alice.click("#handling [data-action=note]")
            alice.wait_for_selector('#history [data-kind="note"]')
            alice.click("#handling [data-action=resolve]")
            alice.wait_for_selector('#history [data-kind="resolve"]')
            for page in (alice, bob_event):  # Bob's page was open all along: it heard of each step
                page.wait_for_selector('#history [data-kind="resolve"]', timeout=10_000)
                history = page.inner_text("#history")
                for line in ["Alice Archer acknowledged", "Bob Baker took it on", "Alice Archer added a note",
                             f"Checked the plaza: a pedestrian, all fine. {XSS}", "Alice Archer resolved it"]:
                    assert line in history, (line, history)
                assert page.inner_text("#event-status") == "Resolved"
                assert page.inner_text("#event-assignee") == "Bob Baker"
                assert page.locator('img[src="x"]').count() == 0  # the note is text, not markup
            bob.wait_for_selector(f'{row}[data-status="resolved"]', timeout=10_000)
            alice.wait_for_selector("#clip[data-state=ready] video", timeout=60_000)
            duration = alice.eval_on_selector("#clip video", """video => new Promise((resolve) => {
                if (video.readyState >= 1) resolve(video.duration);
                video.addEventListener('loadedmetadata', () => resolve(video.duration));
                video.addEventListener('error', () => resolve(-1));
            })""")
            assert duration > 0
            alice.screenshot(path=str(artifacts / "event-clip-history.png"), full_page=True)
            bob_event.close()

            # --- Bob's connection drops; alerts raised meanwhile are filled in, once each -----
            filled_before = int(bob.get_attribute("#operator-wall", "data-filled-in") or 0)
            context_b.set_offline(True)
            bob.wait_for_selector("#conn-banner", state="visible", timeout=30_000)
            assert bob.inner_text("#conn-banner .conn-title").startswith("Reconnecting… (")
            assert bob.get_attribute("#live-state", "data-state") == "down"
            last_seen = max(feed_ids(bob))
            deadline = time.monotonic() + 90
            while len(missed := api_ids(alice, f"after={last_seen}")) < 2:  # the worker raises them meanwhile
                assert time.monotonic() < deadline, "the worker raised no new alerts"
                time.sleep(1)
            assert not set(missed) & set(feed_ids(bob)), "Bob got alerts while offline"
            gate = running.api("POST", "/api/cameras/", {"name": "Gate", "stream_url": "rtsp://127.0.0.1:9/gate"})
            bob.screenshot(path=str(artifacts / "feed-reconnect-banner.png"))
            syncs = int(bob.get_attribute("#operator-wall", "data-syncs"))
            context_b.set_offline(False)
            bob.wait_for_selector("#conn-banner", state="hidden", timeout=30_000)
            bob.wait_for_function(f"Number(document.getElementById('operator-wall').dataset.syncs) > {syncs}")
            filled = int(bob.get_attribute("#operator-wall", "data-filled-in")) - filled_before
            assert filled >= len(missed), (filled, missed)
            assert bob.inner_text("#feed-message") == f"Filled in {filled} alerts raised while not live."
            bob.wait_for_selector(f'.tile[data-camera-id="{gate["id"]}"]')  # added while Bob was away
            ids = feed_ids(bob)
            assert len(ids) == len(set(ids)), "an alert is shown twice"
            assert set(missed) <= set(ids), f"missed while offline: {sorted(set(missed) - set(ids))}"
            assert ids == sorted(ids, reverse=True), "newest first, back-filled ones in their place"
            newest = api_ids(bob, "page_size=50", every_page=False)
            assert set(newest) <= set(ids), f"not in the feed: {sorted(set(newest) - set(ids))}"
            assert bob.evaluate("window.__notifications.length") >= 2  # the missed criticals, once more
            bob.screenshot(path=str(artifacts / "feed-backfilled.png"))
        except Exception:
            for n, page in enumerate(pages):
                if not page.is_closed():
                    page.screenshot(path=str(artifacts / f"wall-browser-failure-{n}.png"))
            raise
        finally:
            browser.close()
    assert not errors, errors
    print(f"scenario: {time.monotonic() - started:.1f}s")
