"""The Configure page in Debian's Chromium, against the whole stack (`python -m vision.stack`).

Shapes are drawn with the mouse, rules are made through the form, and the stream worker
must then create events of those rules on a real sample video (people crossing a plaza).
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.stack_helpers import CHROMIUM_ARGS, RunningStack, running_stack
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
EDITOR = "document.getElementById('configure').vigil.editor"
T = TypeVar("T")


def until(condition: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """``wait_for`` for conditions that return ``None`` until they hold."""
    value = wait_for(condition, timeout_s, what)
    assert value is not None
    return value


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, shared_media: Path) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("configure-stack") / "data", shared_media) as stack:
        yield stack


@pytest.fixture(scope="module")
def plaza(running: RunningStack, shared_media: Path) -> int:
    """The camera the rules run on: added first, so the worker warms up while other tests run."""
    status, camera = running.call(
        "POST", "/api/cameras/", {"name": "Plaza", "stream_url": str(shared_media / "vtest_480x360.avi")}
    )
    assert status == 201, camera
    return camera["id"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, running: RunningStack, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{running.base}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", running.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before:
        page.screenshot(path=str(artifacts / f"{request.node.name[:60]}-failure.png"), full_page=True)
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# ---- page helpers ------------------------------------------------------------------------


def open_configure(page: Page, running: RunningStack, camera_id: int) -> None:
    page.goto(f"{running.base}/cameras/{camera_id}/configure/")
    page.wait_for_selector("[data-snapshot]:not([hidden])", timeout=30_000)


def at(page: Page, x: float, y: float) -> tuple[float, float]:
    """Viewport pixel of the normalised picture point (x, y)."""
    box = page.locator("[data-overlay]").bounding_box()
    assert box is not None
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


def click_at(page: Page, x: float, y: float, **kwargs: Any) -> None:
    page.mouse.click(*at(page, x, y), **kwargs)


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*at(page, *start))
    page.mouse.down()
    page.mouse.move(*at(page, *end), steps=8)
    page.mouse.up()


def draw(page: Page, tool: str, points: list[tuple[float, float]], name: str, close: str = "first") -> None:
    """Draw a shape with the mouse; polygons are closed by clicking the first corner (or Enter / double-click)."""
    page.click(f"[data-tool={tool}]")
    for x, y in points:
        click_at(page, x, y)
    if tool != "line":
        if close == "first":
            click_at(page, *points[0])
        elif close == "enter":
            page.keyboard.press("Enter")
    page.fill("#shape-name", name)


def shapes(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(
        f"{EDITOR}.shapes.map(s => ({{name: s.name, id: s.id, kind: s.kind, points: s.points, "
        "errors: s.errors, dirty: s.dirty, direction: s.direction}))"
    )


def shape(page: Page, name: str) -> dict[str, Any]:
    return next(s for s in shapes(page) if s["name"] == name)


def save_shape(page: Page, name: str) -> dict[str, Any]:
    """Click Save and wait for the API's answer: saved (not dirty) or refused (errors shown)."""
    page.click("[data-shape-save]")

    def answered() -> dict[str, Any] | None:
        current = shape(page, name)
        return current if not current["dirty"] or current["errors"] else None

    return until(answered, 10, f"the answer to saving {name}")


def close_to(a: list[float], b: tuple[float, float], tolerance: float = 0.006) -> bool:
    return abs(a[0] - b[0]) <= tolerance and abs(a[1] - b[1]) <= tolerance


# ---- tests -------------------------------------------------------------------------------


def test_the_editor_drags_inserts_and_deletes_corners_and_shows_the_apis_errors(
    page: Page, running: RunningStack, plaza: int, shared_media: Path, artifacts: Path
) -> None:
    # A camera without a picture: the page says why, and the editor still works on a blank frame.
    status, dark = running.call(
        "POST", "/api/cameras/", {"name": "Dark", "stream_url": "rtsp://127.0.0.1:9/none", "enabled": False}
    )
    assert status == 201, dark
    page.goto(f"{running.base}/cameras/{dark['id']}/configure/")
    page.wait_for_selector("[data-picture-status][data-state=error]", timeout=30_000)
    assert "No picture: connection refused" in page.inner_text("[data-picture-status]")
    assert page.locator("[data-overlay]").bounding_box()["height"] > 100  # type: ignore[index]
    page.screenshot(path=str(artifacts / "configure-no-picture.png"))

    # A disabled camera: no worker runs it, the snapshot comes straight from the file.
    status, camera = running.call(
        "POST", "/api/cameras/",
        {"name": "Editor", "stream_url": str(shared_media / "vtest_480x360.avi"), "enabled": False},
    )
    assert status == 201, camera
    open_configure(page, running, camera["id"])

    # Escape drops a shape being drawn.
    page.click("[data-tool=zone]")
    click_at(page, 0.1, 0.1)
    click_at(page, 0.3, 0.1)
    page.keyboard.press("Escape")
    assert page.evaluate(f"{EDITOR}.draft") is None and shapes(page) == []

    page.click("[data-refresh-picture]")
    page.wait_for_selector("[data-picture-status][data-state=ok]", state="attached", timeout=30_000)

    square = [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)]
    draw(page, "zone", square, "Square")
    saved = save_shape(page, "Square")
    assert saved["id"] and not saved["errors"]
    assert all(close_to(p, q) for p, q in zip(saved["points"], square, strict=True)), saved["points"]

    # Drag a corner; dragging past the picture's edge stops at the edge.
    drag(page, (0.6, 0.6), (0.7, 0.75))
    assert close_to(shape(page, "Square")["points"][2], (0.7, 0.75))
    page.mouse.move(*at(page, 0.7, 0.75))
    page.mouse.down()
    box = page.locator("[data-overlay]").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] + 60, box["y"] + 0.8 * box["height"], steps=5)
    page.mouse.up()
    assert close_to(shape(page, "Square")["points"][2], (1.0, 0.8))
    assert shape(page, "Square")["dirty"]
    assert "unsaved changes" in page.inner_text("[data-shape-list]")

    # Insert a corner by dragging the middle of the top edge up.
    drag(page, (0.4, 0.2), (0.4, 0.1))
    points = shape(page, "Square")["points"]
    assert len(points) == 5 and close_to(points[1], (0.4, 0.1))
    page.screenshot(path=str(artifacts / "configure-editor-inserted-corner.png"))

    # Delete corners: right-click one, select another and press Delete; never below 3.
    click_at(page, 0.4, 0.1, button="right")
    assert len(shape(page, "Square")["points"]) == 4
    drag(page, (0.2, 0.6), (0.2, 0.6))  # a click on a corner makes it the active one
    page.keyboard.press("Delete")
    assert len(shape(page, "Square")["points"]) == 3
    click_at(page, 0.2, 0.2, button="right")
    assert len(shape(page, "Square")["points"]) == 3
    assert "at least 3 corners" in page.inner_text("[data-shape-errors]")
    saved = save_shape(page, "Square")
    assert not saved["errors"]
    status, region = running.call("GET", f"/api/regions/{saved['id']}/")
    assert status == 200 and len(region["points"]) == 3
    assert close_to(region["points"][2], (1.0, 0.8)), region["points"]

    # A bow tie: the API refuses it and says why, next to the shape; nothing is lost.
    bow_tie = [(0.1, 0.7), (0.3, 0.9), (0.3, 0.7), (0.1, 0.9)]
    draw(page, "zone", bow_tie, "Bow tie", close="enter")
    refused = save_shape(page, "Bow tie")
    assert refused["id"] is None and len(refused["points"]) == 4
    assert any("crosses itself" in e for e in refused["errors"]), refused["errors"]
    tag = page.locator(".shape-tag")
    assert "crosses itself" in tag.inner_text()
    assert "crosses itself" in page.inner_text("[data-shape-errors]")
    assert "see the message" in page.inner_text("[data-shape-list]")
    page.screenshot(path=str(artifacts / "configure-editor-api-error.png"))
    # Fix it by moving a corner: the same shape saves, and the old verdict goes once it changes.
    drag(page, (0.3, 0.9), (0.2, 0.65))
    assert page.locator(".shape-tag").count() == 0
    fixed = save_shape(page, "Bow tie")
    assert fixed["id"] is not None and not fixed["errors"], fixed

    # Duplicate names are refused by the API, in words.
    draw(page, "line", [(0.5, 0.1), (0.9, 0.3)], "square")
    refused = save_shape(page, "square")
    assert any("already has a region named" in e for e in refused["errors"]), refused["errors"]
    page.fill("#shape-name", "Gate")
    gate = save_shape(page, "Gate")
    assert gate["id"] and gate["kind"] == "line"
    for expected in ("a_to_b", "b_to_a", "both", "a_to_b"):
        page.click("[data-shape-direction]")
        assert shape(page, "Gate")["direction"] == expected
    assert save_shape(page, "Gate")["direction"] == "a_to_b"

    # A region that rules use cannot be deleted: the API's 409 message is shown, the shape stays.
    status, rule = running.call("POST", "/api/rules/", {
        "camera": camera["id"], "name": "Through the gate", "trigger": "cross", "region": gate["id"],
        "object_classes": ["person"],
    })
    assert status == 201, rule
    page.click("[data-shape-delete]")
    page.click("[data-delete-yes]")
    page.wait_for_selector("[data-shape-errors] li")
    assert "Rules use this region (Through the gate)" in page.inner_text("[data-shape-errors]")
    assert shape(page, "Gate")["id"] == gate["id"]

    # The canvas follows the window: at another size the same picture point maps the same way.
    page.set_viewport_size({"width": 820, "height": 700})
    page.wait_for_timeout(300)
    page.click("[data-shape-list] button:has-text('Square')")  # the list is below the picture now
    page.evaluate("window.scrollTo(0, 0)")
    drag(page, (0.2, 0.2), (0.25, 0.3))
    assert close_to(shape(page, "Square")["points"][0], (0.25, 0.3))
    page.screenshot(path=str(artifacts / "configure-editor-narrow.png"), full_page=True)
    page.click("[data-shape-save]")
    wait_for(lambda: not shape(page, "Square")["dirty"], 10, "Square saved")
    assert not page.evaluate(f"{EDITOR}.hasUnsavedChanges()")


def test_rules_drawn_and_made_in_the_browser_create_events_with_their_evidence(
    page: Page, running: RunningStack, plaza: int, artifacts: Path
) -> None:
    started = time.monotonic()
    open_configure(page, running, plaza)

    # A zone over the road people walk along, and a line across it.
    walkway = [(0.03, 0.33), (0.97, 0.16), (0.97, 0.8), (0.03, 0.56)]
    draw(page, "zone", walkway, "Walkway")
    zone = save_shape(page, "Walkway")
    assert zone["id"] and not zone["errors"], zone
    draw(page, "line", [(0.55, 0.22), (0.55, 0.72)], "Crossing")
    line = save_shape(page, "Crossing")
    assert line["id"] and not line["errors"] and line["direction"] == "both", line
    page.click("[data-tool=select]")
    page.screenshot(path=str(artifacts / "configure-shapes.png"), full_page=True)

    # A loitering rule on the zone, through the form.
    page.click("[data-rule-add]")
    page.fill("#rule-name", "Lingering on the walkway")
    page.select_option("#rule-trigger", "loiter")
    page.select_option("#rule-region", str(zone["id"]))
    page.fill("#rule-duration", "3")
    page.fill("#rule-cooldown", "5")
    assert page.is_checked("input[name=object_classes][value=person]")
    assert page.is_hidden("#rule-min-count")
    page.screenshot(path=str(artifacts / "configure-rule-form.png"), full_page=True)
    page.click("[data-rule-save]")
    page.wait_for_selector("[data-rule-form]", state="hidden")
    assert "Person stays in Walkway longer than 3 s" in page.inner_text("[data-rule-list]")

    # A line-crossing rule: "Where" offers only lines, and no "whole frame".
    page.click("[data-rule-add]")
    page.fill("#rule-name", "Crossing the walkway")
    page.select_option("#rule-trigger", "cross")
    options = page.eval_on_selector_all("#rule-region option", "os => os.map(o => o.textContent)")
    assert options == ["Crossing (line)"], options
    # The API's field errors appear next to the fields: no object class chosen.
    page.uncheck("input[name=object_classes][value=person]")
    page.click("[data-rule-save]")
    page.wait_for_selector("[data-error-for=object_classes]:not(:empty)")
    assert re.search(r"Choose at least one object class", page.inner_text("[data-error-for=object_classes]"))
    page.check("input[name=object_classes][value=person]")
    page.fill("#rule-cooldown", "5")
    page.click("[data-rule-save]")
    page.wait_for_selector("[data-rule-form]", state="hidden")
    assert "Person crosses Crossing either way" in page.inner_text("[data-rule-list]")

    status, camera = running.call("GET", f"/api/cameras/{plaza}/")
    rules = {rule["name"]: rule for rule in camera["rules"]}
    loiter, cross = rules["Lingering on the walkway"], rules["Crossing the walkway"]
    assert (loiter["trigger"], loiter["region"], loiter["duration_seconds"]) == ("loiter", zone["id"], 3.0)
    assert (cross["trigger"], cross["region"], cross["object_classes"]) == ("cross", line["id"], ["person"])

    def first_event(rule_id: int) -> dict[str, Any] | None:
        status, events = running.call("GET", f"/api/events/?rule={rule_id}")
        return events["results"][0] if status == 200 and events["results"] else None

    loiter_event = until(lambda: first_event(loiter["id"]), 90, "a loitering event")
    cross_event = until(lambda: first_event(cross["id"]), 90, "a line-crossing event")
    print(f"configure page opened → both events: {time.monotonic() - started:.1f}s")

    evidence = loiter_event["evidence"]
    assert evidence["trigger"] == "loiter" and evidence["area"]["id"] == zone["id"]
    assert evidence["dwell_s"] >= 3.0, evidence
    assert len(evidence["track_path"]) >= 2
    evidence = cross_event["evidence"]
    assert evidence["trigger"] == "cross" and evidence["area"]["kind"] == "line"
    assert evidence["crossing"]["direction"] in ("a_to_b", "b_to_a")
    x, y = evidence["crossing"]["point"]
    assert abs(x - 0.55) < 0.02 and 0.2 <= y <= 0.74, evidence["crossing"]

    # The preview replays the stored detections with the very same rule: it finds them too.
    page.click(f"[data-rule-list] tr[data-rule-id='{loiter['id']}'] button:has-text('Edit')")
    page.fill("#preview-hours", "1")
    page.click("[data-preview-run]")
    page.wait_for_selector("[data-preview-events] .preview-event", timeout=30_000)
    assert re.match(r"[1-9]\d* events? in the last 1 h", page.inner_text("[data-preview-status]"))
    assert "stayed in Walkway" in page.inner_text("[data-preview-events]")
    page.locator("[data-preview-figure]").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "configure-rule-preview.png"), full_page=True)
    page.click("[data-rule-cancel]")

    # The event page draws the evidence (when that page exists on this build).
    for name, event in (("loiter", loiter_event), ("cross", cross_event)):
        response = page.goto(f"{running.base}/events/{event['id']}/")
        assert response is not None
        if response.status == 404:
            continue
        assert response.status == 200
        page.wait_for_timeout(1500)
        page.screenshot(path=str(artifacts / f"configure-event-{name}.png"), full_page=True)
