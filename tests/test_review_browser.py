"""The review pages in Debian's Chromium on real data, driven with the keyboard and mouse.

Review items come from the real detector and embedder run on car-detection.mp4 (a parking
lot where YOLOX-Nano calls cars "cell phone"), with their frames and crops on disk. The
reviewer confirms, rejects, relabels and undoes with keys, adjusts a box and adds a missed
one with the mouse, finds similar detections, rejects several at once and undoes the batch,
then lifts a suppressed event; the database is checked after every step.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import connections
from playwright.sync_api import Dialog, FloatRect, Page, sync_playwright

from cameras.services import add_camera
from events.models import Event
from review import services
from review.memory import match_false_positive
from review.models import Correction, ItemStatus, ReviewItem, Suppression
from tests.review_data import car_clip, store_items  # noqa: F401 (fixture)
from tests.test_event_page import sign_in
from tests.stack_helpers import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

RANDOM_SAMPLE = 8
"""Items of the clip stored as the uniform random sample (the precision panel's data)."""


@pytest.fixture
def lot(transactional_db, media_root):
    camera = add_camera(name="Parking lot", stream_url="rtsp://192.0.2.1/lot")
    camera.rules.all().delete()
    return camera


@pytest.fixture
def items(lot, car_clip, media_root) -> list[ReviewItem]:
    ranked = store_items(lot, car_clip[:-RANDOM_SAMPLE], media_root, reason="near_threshold")
    return ranked + store_items(lot, car_clip[-RANDOM_SAMPLE:], media_root, reason="random", in_random_sample=True)


@pytest.fixture
def page(transactional_db, live_server, reviewer, artifacts, monkeypatch, request) -> Iterator[Page]:
    # transactional_db before live_server: the test database must outlive the live server's connections.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.on("pageerror", lambda err: errors.append(str(err)))

        def dismiss(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", dismiss)
        failed_before = request.session.testsfailed
        try:
            sign_in(page, live_server.url, reviewer.username)
            yield page
            if request.session.testsfailed > failed_before:
                page.screenshot(path=str(artifacts / "review-browser-failure.png"), full_page=True)
        finally:
            browser.close()
            # Queries inside sync_playwright() run in its greenlet's context, where Django opens
            # a connection of its own: close it, or the test database cannot be dropped.
            connections.close_all()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not dialogs, dialogs


def settled(page: Page) -> None:
    """Every correction sent and its answer handled."""
    page.wait_for_selector("#review[data-pending='0'], #similar[data-pending='0']", state="attached")


def current(page: Page) -> int:
    return int(page.get_attribute("#review", "data-item") or 0)


def press_on_item(page: Page, key: str) -> int:
    """Press ``key`` on the current item; the item it applied to (the screen moves on at once)."""
    item = current(page)
    page.keyboard.press(key)
    settled(page)
    return item


def latest(item_id: int) -> Correction:
    return Correction.objects.filter(item_id=item_id).latest("pk")


def overlay_geometry(page: Page, item: ReviewItem) -> tuple[FloatRect, float, float]:
    """The overlay's box on the page and frame pixels → CSS pixels per axis."""
    rect = page.locator("#overlay").bounding_box()
    assert rect is not None
    width, height = item.detection.frame_width, item.detection.frame_height
    return rect, rect["width"] / width, rect["height"] / height


def test_a_reviewer_works_the_queue_with_keys_and_mouse(lot, items, live_server, page, reviewer, artifacts):
    started = time.monotonic()
    base = live_server.url
    page.goto(f"{base}/review/")
    page.wait_for_selector("#review[data-state=ready]")
    page.wait_for_selector("#frame-status", state="hidden")  # the frame has loaded
    first = ReviewItem.objects.select_related("detection").get(pk=current(page))

    # The box is drawn at the frame's scale: the canvas is blue on its left edge.
    rect, sx, sy = overlay_geometry(page, first)
    assert page.get_attribute("#overlay", "data-scale") == f"{sx:.4f},{sy:.4f}"
    x1, y1, x2, y2 = first.box
    edge = page.evaluate(
        "([x, y]) => { const c = document.getElementById('overlay'); const r = devicePixelRatio;"
        " return Array.from(c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data); }",
        [x1 * sx, (y1 + y2) / 2 * sy])
    assert edge[:3] == pytest.approx([0x4a, 0xa3, 0xff], abs=40) and edge[3] > 200, edge
    numbered = page.locator("#class-keys .rv-class").evaluate_all("buttons => buttons.map(b => b.dataset.class)")
    assert numbered[0] == "cell phone" and len(numbered) == 9
    page.screenshot(path=str(artifacts / "review-screen.png"))

    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    assert "Undo your last correction" in page.inner_text("#help")
    page.screenshot(path=str(artifacts / "review-help.png"))
    page.keyboard.press("Escape")
    page.wait_for_selector("#help:not([open])", state="attached")

    # J and K move through the queue.
    page.keyboard.press("j")
    assert current(page) != first.pk
    page.keyboard.press("k")
    assert current(page) == first.pk

    # N writes a note that goes with the next correction; C confirms, X rejects, a number
    # relabels; each moves on to the next item.
    page.keyboard.press("n")
    page.keyboard.type("clearly a phone")
    page.keyboard.press("Escape")
    confirmed = press_on_item(page, "c")
    assert (latest(confirmed).action, ReviewItem.objects.get(pk=confirmed).status) == ("confirm", ItemStatus.REVIEWED)
    assert latest(confirmed).note == "clearly a phone" and page.input_value("#note") == ""
    assert current(page) != confirmed
    rejected = press_on_item(page, "x")
    assert latest(rejected).action == "reject" and ReviewItem.objects.get(pk=rejected).verdict == "reject"
    relabelled = press_on_item(page, "2")
    relabel = latest(relabelled)
    assert (relabel.action, relabel.after["class_name"]) == ("relabel", numbered[1])
    assert ReviewItem.objects.get(pk=relabelled).label == numbered[1]

    # Z undoes the relabel and brings its item back.
    page.keyboard.press("z")
    settled(page)
    relabel.refresh_from_db()
    assert relabel.undone_at is not None and current(page) == relabelled
    assert ReviewItem.objects.get(pk=relabelled).status == ItemStatus.UNREVIEWED
    assert Correction.objects.filter(item_id=confirmed, undone_at__isnull=True).count() == 1  # untouched

    # Drag the box's bottom-right corner inwards, Enter saves it (adjust_box).
    item = ReviewItem.objects.select_related("detection").get(pk=relabelled)
    rect, sx, sy = overlay_geometry(page, item)
    x1, y1, x2, y2 = item.box
    dx, dy = -min(20.0, (x2 - x1) * sx / 4), -min(15.0, (y2 - y1) * sy / 4)
    corner = (rect["x"] + x2 * sx, rect["y"] + y2 * sy)
    page.mouse.move(*corner)
    page.mouse.down()
    page.mouse.move(corner[0] + dx, corner[1] + dy, steps=4)
    page.mouse.up()
    assert page.is_visible("#act-save-box")
    press_on_item(page, "Enter")
    adjusted = latest(item.pk)
    expected = [x1, y1, x2 + dx / sx, y2 + dy / sy]
    assert adjusted.action == "adjust_box" and adjusted.after["box"] == pytest.approx(expected, abs=1.5)
    assert ReviewItem.objects.get(pk=item.pk).box == pytest.approx(expected, abs=1.5)

    # B, drag a box around a missed object, 1 names it: the item itself keeps waiting.
    target = ReviewItem.objects.select_related("detection").get(pk=current(page))
    rect, sx, sy = overlay_geometry(page, target)
    page.keyboard.press("b")
    page.mouse.move(rect["x"] + 12, rect["y"] + 14)
    page.mouse.down()
    page.mouse.move(rect["x"] + 90, rect["y"] + 70, steps=4)
    page.mouse.up()
    page.wait_for_selector("#review[data-mode=name-missed]")
    page.keyboard.press("1")
    settled(page)
    missed = latest(target.pk)
    assert (missed.action, missed.after["class_name"]) == ("add_missed", numbered[0])
    assert missed.after["box"] == pytest.approx([12 / sx, 14 / sy, 90 / sx, 70 / sy], abs=1.0)
    assert ReviewItem.objects.get(pk=target.pk).status == ItemStatus.UNREVIEWED and current(page) == target.pk
    page.wait_for_selector("#item-history li:has-text('Missed object added')")
    page.screenshot(path=str(artifacts / "review-missed-box.png"))

    # A correction the server refuses: the item comes back as it was, with the error shown.
    page.route("**/correct/", lambda route: route.fulfill(status=503, json={"detail": "Database is resting."}))
    press_on_item(page, "x")
    page.unroute("**/correct/")
    assert current(page) == target.pk and "Database is resting." in page.inner_text("#review-error")
    assert page.get_attribute(f".rv-item[data-id='{target.pk}']", "data-status") == "unreviewed"
    assert latest(target.pk).action == "add_missed"

    # L searches all classes; Enter relabels to the match. Ctrl+Z undoes it.
    page.keyboard.press("l")
    page.keyboard.type("toothb")
    press_on_item(page, "Enter")
    assert (latest(target.pk).action, ReviewItem.objects.get(pk=target.pk).label) == ("relabel", "toothbrush")
    page.keyboard.press("Control+z")
    settled(page)
    assert latest(target.pk).undone_at is not None and current(page) == target.pk
    assert ReviewItem.objects.get(pk=target.pk).status == ItemStatus.UNREVIEWED

    # S: find similar, only unreviewed ones; click, Shift+click a range, click one more, X rejects them all.
    page.keyboard.press("s")
    page.wait_for_url(f"**/review/similar/?item={target.pk}")
    page.wait_for_selector("#similar[data-state=ready]")
    page.select_option("#s-status", "unreviewed")
    page.wait_for_selector("#similar[data-loading=false]")
    tiles = page.locator(".sm-tile")
    assert tiles.count() >= 6
    distances = [float(t.split()[1]) for t in page.locator(".sm-distance").all_inner_texts()]
    assert distances == sorted(distances)
    tiles.nth(0).click()
    tiles.nth(3).click(modifiers=["Shift"])
    tiles.nth(5).click()
    picked = [int(tiles.nth(i).get_attribute("data-id") or 0) for i in (0, 1, 2, 3, 5)]
    assert page.inner_text("#selected-count").startswith("5 of ")
    page.keyboard.press("x")
    settled(page)
    page.wait_for_selector("#batch-undo:not([hidden])")
    batch = Correction.objects.filter(item_id__in=picked, action="reject", batch__isnull=False)
    assert batch.count() == 5 and len(set(batch.values_list("batch", flat=True))) == 1
    assert set(ReviewItem.objects.filter(pk__in=picked).values_list("verdict", flat=True)) == {"reject"}
    page.screenshot(path=str(artifacts / "review-similar.png"), full_page=True)

    page.keyboard.press("z")  # undo the batch
    settled(page)
    page.wait_for_selector("#batch-undo", state="hidden")
    assert not Correction.objects.filter(item_id__in=picked, undone_at__isnull=True).exists()
    assert set(ReviewItem.objects.filter(pk__in=picked).values_list("status", flat=True)) == {ItemStatus.UNREVIEWED}

    # A later repeat of the rejected detection, suppressed by the false-positive memory; the
    # random sample reviewed, for the precision panel. Then lift the suppression in the page.
    fp = latest(rejected)
    repeat = next(
        (other, match) for other in ReviewItem.objects.filter(class_name=fp.class_name).exclude(pk=rejected)
        if (match := match_false_positive(lot.pk, fp.class_name, list(other.embedding),
                                          threshold=lot.fp_similarity_threshold,
                                          model=(other.embedding_model, other.embedding_version))) is not None)
    other, match = repeat
    event = Event.objects.create(camera=lot, rule_name="Phone seen", detection=other.detection,
                                 class_name=other.class_name, confidence=other.confidence,
                                 captured_at=other.captured_at, snapshot=other.frame)
    suppression = Suppression.objects.create(event=event, false_positive_id=match.correction_id,
                                             distance=match.distance)
    sample = list(ReviewItem.objects.filter(in_random_sample=True).order_by("pk"))
    for n, sampled in enumerate(sample[:5]):
        services.correct(sampled.pk, reviewer, "confirm" if n < 2 else "reject")

    page.goto(f"{base}/review/suppressed/")
    page.wait_for_selector("#suppressed[data-state=ready]")
    row = page.locator(f".sp-row[data-id='{suppression.pk}']")
    assert f"Suppressed, similar to FP #{fp.pk}" in row.inner_text()
    assert f"distance {match.distance:.3f}" in row.inner_text()
    page.wait_for_function("() => { const img = document.querySelector('.sp-thumb');"
                           " return img.complete && img.naturalWidth > 0; }")  # the event's snapshot
    precision = page.locator("#precision-rows tr").all_inner_texts()
    assert len(precision) >= 1 and "From 5 reviewed random-sample detections" in page.inner_text("#precision-summary")
    page.screenshot(path=str(artifacts / "review-suppressed.png"), full_page=True)
    row.locator("button[data-lift]").click()
    page.wait_for_selector(f".sp-row[data-id='{suppression.pk}'][data-active=false]")
    suppression.refresh_from_db()
    assert suppression.lifted_at is not None and suppression.lifted_by == reviewer
    print(f"browser flow took {time.monotonic() - started:.1f} s")
