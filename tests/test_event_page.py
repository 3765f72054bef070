"""/events/<id>/: the snapshot with the evidence drawn on it, why the rule fired, the track."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import pytest
from playwright.sync_api import sync_playwright

from cameras.models import Camera, Region, Rule
from cameras.services import add_camera
from events.models import Detection, Event
from events.payloads import event_payload
from events.views import duration_text, explain, plural
from tests.conftest import client_for
from tests.stack_helpers import CHROMIUM_ARGS

pytestmark = pytest.mark.django_db

CAPTURED = datetime(2024, 5, 1, 12, 3, 7, tzinfo=timezone.utc)  # 14:03:07 in Paris (CEST)
T = CAPTURED.timestamp()
DOOR = {"id": 1, "name": "Door", "kind": "line", "points": [[0.62, 0.30], [0.74, 0.62]], "direction": "a_to_b"}
PERSON_BOX = [0.66, 0.37, 0.705, 0.515]  # a walker in frame 120 of vtest_480x360.avi
TRACK_PATH = [[T - 2 + i * 0.25, 0.78 - i * 0.012, 0.45 + i * 0.0075] for i in range(9)]
CROSS_EVIDENCE: dict[str, Any] = {
    "trigger": "cross",
    "area": DOOR,
    "anchor": "bottom_center",
    "box": PERSON_BOX,
    "track_path": TRACK_PATH,
    "crossing": {"point": [0.695, 0.50], "direction": "a_to_b", "at": T},
}

COUNT_EVIDENCE: dict[str, Any] = {
    "trigger": "count",
    "area": {"id": 2, "name": "Queue", "kind": "zone", "points": [[0.70, 0.22], [0.95, 0.22], [0.95, 0.40], [0.70, 0.40]]},
    "anchor": "bottom_center",
    "count": 3,
    "counted": [{"track_id": 4, "point": [0.745, 0.33]}, {"track_id": 5, "point": [0.775, 0.32]},
                {"track_id": 6, "point": [0.86, 0.345]}],
    "since": T - 12,
}


def make_camera(name: str = "Plaza", tz: str = "Europe/Paris") -> Camera:
    return add_camera(name=name, stream_url="rtsp://192.0.2.1/s", timezone=tz)


def make_event(camera: Camera, evidence: dict[str, Any], *, trigger: str = "cross", snapshot: str = "",
               track_id: int | None = 7, class_name: str = "person", rule_name: str = "Door crossing") -> Event:
    region = None
    if evidence.get("area"):
        area = evidence["area"]
        region = Region.objects.create(camera=camera, name=area["name"], kind=area["kind"], points=area["points"],
                                       direction=area.get("direction", "both"))
    rule = Rule.objects.create(camera=camera, name=rule_name, trigger=trigger, region=region,
                               object_classes=["person"], severity="critical", description="Night entrance")
    detection = None
    if track_id is not None:
        for i in range(5):  # the track before the event, and the event's own detection last
            detection = Detection.objects.create(
                camera=camera, captured_at=CAPTURED - timedelta(seconds=4 - i), track_id=track_id, class_id=0,
                class_name="person", confidence=0.80 + i / 100, x1=317 + i, y1=133, x2=338 + i, y2=185,
                frame_width=480, frame_height=360, model_name="yolox_nano", model_version="1")
        Detection.objects.create(  # another track, same camera: not shown
            camera=camera, captured_at=CAPTURED, track_id=track_id + 1, class_id=0, class_name="person",
            confidence=0.5, x1=1, y1=1, x2=9, y2=9, frame_width=480, frame_height=360, model_name="yolox_nano",
            model_version="1")
        Detection.objects.create(  # long before: outside the window
            camera=camera, captured_at=CAPTURED - timedelta(hours=2), track_id=track_id, class_id=0,
            class_name="person", confidence=0.5, x1=2, y1=2, x2=9, y2=9, frame_width=480, frame_height=360,
            model_name="yolox_nano", model_version="1")
    return Event.objects.create(
        camera=camera, rule=rule, rule_name=rule.name, detection=detection, track_id=track_id, class_name=class_name,
        confidence=0.84 if class_name else 0.0, severity="critical", captured_at=CAPTURED, snapshot=snapshot,
        evidence=evidence)


# --- why this fired -------------------------------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("trigger", "evidence", "class_name", "expected"), [
    ("cross", CROSS_EVIDENCE, "person", "Person crossed “Door” A→B at 14:03:07"),
    ("loiter", {"trigger": "loiter", "area": {"name": "Loading bay", "kind": "zone"}, "entered_at": T - 42,
                "dwell_s": 42.0}, "person", "Person stayed in “Loading bay” 42 s (from 14:02:25)"),
    ("count", {"trigger": "count", "area": {"name": "Queue", "kind": "zone"}, "count": 3, "since": T - 10,
               "counted": []}, "", "3 people in “Queue” for 10 s"),
    ("absence", {"trigger": "absence", "area": {"name": "Vault", "kind": "zone"}, "empty_since": T - 60}, "",
     "“Vault” empty for 60 s (since 14:02:07)"),
    ("enter", {"trigger": "enter", "area": {"name": "Lobby", "kind": "zone"}, "entered_at": T - 1}, "car",
     "Car entered “Lobby” at 14:03:06"),
    ("leave", {"trigger": "leave", "area": {"name": "Lobby", "kind": "zone"}, "left_at": T}, "person",
     "Person left “Lobby” at 14:03:07"),
    ("seen", {}, "person", "Person seen at 14:03:07 (84% sure)"),
    ("seen", {"trigger": "seen", "area": {"name": "Yard", "kind": "zone"}}, "dog",
     "Dog seen in “Yard” at 14:03:07 (84% sure)"),
])
def test_it_explains_why_the_rule_fired(trigger, evidence, class_name, expected):
    event = make_event(make_camera(), {}, trigger=trigger, track_id=None, class_name=class_name)
    event.evidence = evidence
    assert explain(event, PARIS) == expected


def test_it_survives_malformed_evidence():
    event = make_event(make_camera(), {}, track_id=None)
    for evidence in [{"trigger": "cross", "crossing": "nonsense"}, {"trigger": "loiter", "dwell_s": "x"},
                     {"trigger": "count", "count": None}, {"trigger": "absence", "area": [1, 2]}, []]:
        event.evidence = evidence
        assert explain(event, PARIS)


def test_it_words_numbers_and_plurals():
    assert [duration_text(s) for s in (0.4, 42, 60, 125, 3600, 3725)] == ["0 s", "42 s", "60 s", "2 min 5 s",
                                                                           "1 h", "1 h 2 min"]
    assert [plural(n, 2) for n in ("person", "bus", "car", "knife")] == ["people", "buses", "cars", "knives"]
    assert plural("person", 1) == "person"


# --- the page ---------------------------------------------------------------------------------------


def test_it_shows_the_event_to_operators_and_reviewers(operator, reviewer):
    event = make_event(make_camera(), CROSS_EVIDENCE)
    for user in (operator, reviewer):
        response = client_for(user).get(f"/events/{event.pk}/")
        assert response.status_code == 200
        body = response.content.decode()
        assert "Person crossed “Door” A→B at 14:03:07" in body
        for expected in ["Door crossing", "Critical", "Plaza", "Night entrance", "2024-05-01 14:03:07", "Europe/Paris",
                         "New", "Track #7"]:
            assert expected in body, expected


def test_it_refuses_users_without_a_role(nobody):
    event = make_event(make_camera(), CROSS_EVIDENCE)
    assert client_for(nobody).get(f"/events/{event.pk}/").status_code == 403


def test_it_answers_404_for_a_missing_event(operator):
    assert client_for(operator).get("/events/999999/").status_code == 404


def test_it_lists_the_detections_of_the_same_track_only(operator):
    camera = make_camera()
    event = make_event(camera, CROSS_EVIDENCE)
    make_event(make_camera("Other"), {}, trigger="seen", rule_name="Elsewhere")  # track 7 on another camera
    response = client_for(operator).get(f"/events/{event.pk}/")
    rows = response.context["detections"]
    assert len(rows) == 5
    assert {d.camera_id for d in rows} == {camera.pk} and {d.track_id for d in rows} == {7}
    assert [d.captured_at for d in rows] == sorted(d.captured_at for d in rows)
    body = response.content.decode()
    assert body.count('class="this-event"') == 1
    assert "14:03:03.000" in body and "14:03:07.000" in body  # camera time, oldest first


def test_it_passes_the_evidence_and_box_to_the_drawing(operator):
    evidence = {k: v for k, v in CROSS_EVIDENCE.items() if k != "box"}
    event = make_event(make_camera(), evidence, snapshot="snapshots/x.jpg")
    drawing = client_for(operator).get(f"/events/{event.pk}/").context["drawing"]
    assert drawing["evidence"] == evidence
    assert drawing["snapshot_url"] == "/media/snapshots/x.jpg"
    assert drawing["box"] == pytest.approx([321 / 480, 133 / 360, 342 / 480, 185 / 360])  # from the detection
    assert drawing["frame_size"] == [480, 360]


def test_it_explains_zone_events_without_a_track(operator):
    event = make_event(make_camera(), {"trigger": "absence", "area": {"name": "Vault", "kind": "zone",
                                                                      "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]},
                                       "empty_since": T - 60}, trigger="absence", track_id=None, class_name="")
    body = client_for(operator).get(f"/events/{event.pk}/").content.decode()
    assert "“Vault” empty for 60 s (since 14:02:07)" in body
    assert "not one track" in body


def test_it_links_alerts_to_their_event_page(operator):
    event = make_event(make_camera(), CROSS_EVIDENCE)
    assert event_payload(event, "Plaza")["event_url"] == f"/events/{event.pk}/"
    dashboard = client_for(operator).get("/dashboard/").content.decode()
    assert f'"event_url": "/events/{event.pk}/"' in dashboard
    script = (Path(__file__).resolve().parent.parent / "static/js/wall/format.js").read_text()  # eventHref
    assert "event.event_url" in script


# --- in a browser, with a real snapshot ------------------------------------------------------------


def cut_snapshot(video: Path, media_root: Path, frame: int = 120) -> str:
    """A real JPEG from the sample video, where the sink would have stored it."""
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
    ok, image = capture.read()
    capture.release()
    assert ok
    relative = "snapshots/1/2024-05-01/cross.jpg"
    (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(media_root / relative), image)
    return relative


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/")


def _pixel(page, x: float, y: float) -> list[int]:
    return page.evaluate(
        "([x, y]) => Array.from(document.getElementById('evidence-canvas').getContext('2d')"
        ".getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3))", [x, y])


def _close(rgb: list[int], hex_color: str, tolerance: int = 40) -> bool:
    want = [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, want, strict=True))


@pytest.mark.browser
def test_it_draws_the_evidence_over_the_snapshot(transactional_db, live_server, operator, media_root, shared_media,
                                                 artifacts, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    snapshot = cut_snapshot(shared_media / "vtest_480x360.avi", media_root)
    camera = make_camera()
    event = make_event(camera, CROSS_EVIDENCE, snapshot=snapshot)
    count_event = make_event(camera, COUNT_EVIDENCE, trigger="count", snapshot=snapshot, track_id=None,
                             class_name="", rule_name="Queue count")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            sign_in(page, live_server.url, operator.username)
            page.goto(f"{live_server.url}/events/{event.pk}/")
            page.wait_for_selector("#evidence-canvas[data-drawn]")
            assert page.inner_text("#why") == "Person crossed “Door” A→B at 14:03:07"
            size = page.evaluate("(() => { const c = document.getElementById('evidence-canvas');"
                                 " return [c.width, c.height]; })()")
            assert size == [480, 360]  # the snapshot's own size
            legend = page.inner_text("#evidence-legend")
            for expected in ["Line “Door”, counts A→B", "The object that fired the rule", "Track path (9 points",
                             "Where it crossed A→B"]:
                assert expected in legend, legend
            # The box's top edge is red.
            assert _close(_pixel(page, (0.66 + 0.705) / 2 * 480, 0.37 * 360), "#f85149"), "box"
            # The direction arrow of a_to_b points to the side where cross(B - A, P - A) > 0, and only there.
            ax, ay, bx, by = 0.62 * 480, 0.30 * 360, 0.74 * 480, 0.62 * 360
            mx, my = (ax + bx) / 2, (ay + by) / 2
            length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
            nx, ny = -(by - ay) / length, (bx - ax) / length
            assert (bx - ax) * ny - (by - ay) * nx > 0
            assert _close(_pixel(page, mx + 20 * nx, my + 20 * ny), "#4aa3ff"), "arrow on the a_to_b side"
            assert not _close(_pixel(page, mx - 20 * nx, my - 20 * ny), "#4aa3ff"), "no arrow on the other side"
            # The newest track point carries the arrowhead, the older ones dots.
            _t, x0, y0 = TRACK_PATH[0]
            assert _close(_pixel(page, x0 * 480, y0 * 360), "#3fb950"), "track dot"
            page.screenshot(path=str(artifacts / "event-page-cross.png"), full_page=True)
            page.locator("#evidence-canvas").screenshot(path=str(artifacts / "event-evidence-canvas.png"))

            page.goto(f"{live_server.url}/events/{count_event.pk}/")
            page.wait_for_selector("#evidence-canvas[data-drawn]")
            assert page.inner_text("#why") == "3 people in “Queue” for 12 s"
            legend = page.inner_text("#evidence-legend")
            assert "Zone “Queue”" in legend and "3 counted objects" in legend
            for counted in COUNT_EVIDENCE["counted"]:
                x, y = counted["point"]
                assert _close(_pixel(page, x * 480 - 6, y * 360), "#d2a8ff"), counted  # beside the number
            assert "not one track" in page.inner_text("section.track")
            page.locator("#evidence-canvas").screenshot(path=str(artifacts / "event-evidence-count.png"))
        finally:
            browser.close()
    assert not errors, errors
