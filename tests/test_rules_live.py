"""Zones, lines and rules edited through the API reach a running stream worker within
5 seconds, fire on a real video with their evidence, and the preview replays them."""
from __future__ import annotations

import json
import time

import pytest

from cameras.models import Camera
from cameras.services import add_camera
from events.models import Event
from tests.conftest import client_for
from tests.waiting import wait_for
from workers.runtime import build_stream_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# vtest_480x360.avi: people walk across a plaza, mostly along the picture's long axis.
WALKWAY_LINE = [[0.5, 0.3], [0.5, 1.0]]
PLAZA_ZONE = [[0.05, 0.3], [0.95, 0.3], [0.95, 0.98], [0.05, 0.98]]
CONFIG_DEADLINE_S = 5.0


def _post(client, path: str, data: dict) -> dict:
    response = client.post(path, data=json.dumps(data), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def _rule_ids(host, camera_id: int) -> set[int]:
    runtime = host.cameras.get(camera_id)
    return {rule.rule_id for rule in runtime.config.rules} if runtime else set()


def test_config_edits_reach_a_running_worker_and_fire_with_evidence(
    admin_user, redis_client, media_root, settings, shared_media
):
    settings.VIGIL_VIDEO_DIR = shared_media  # the default config poll (2 s) is what users get
    camera = add_camera(name="Plaza", stream_url=str(shared_media / "vtest_480x360.avi"))
    camera.rules.all().delete()
    client = client_for(admin_user)
    host = build_stream_host()
    host.start()
    try:
        wait_for(lambda: camera.pk in host.cameras, 15, "the camera claimed")

        line = _post(client, "/api/regions/", {"camera": camera.pk, "name": "Walkway", "kind": "line",
                                              "points": WALKWAY_LINE, "direction": "both"})
        zone = _post(client, "/api/regions/", {"camera": camera.pk, "name": "Plaza", "kind": "zone",
                                              "points": PLAZA_ZONE})
        saved = time.monotonic()
        cross = _post(client, "/api/rules/", {"camera": camera.pk, "name": "Crossing", "trigger": "cross",
                                             "region": line["id"], "object_classes": ["person"],
                                             "cooldown_seconds": 0})
        loiter = _post(client, "/api/rules/", {"camera": camera.pk, "name": "Lingering", "trigger": "loiter",
                                              "region": zone["id"], "object_classes": ["person"],
                                              "duration_seconds": 3})
        wait_for(lambda: {cross["id"], loiter["id"]} <= _rule_ids(host, camera.pk), CONFIG_DEADLINE_S,
                 "the new rules running")
        print(f"rules live {time.monotonic() - saved:.1f}s after saving")

        wait_for(lambda: Event.objects.filter(rule_id=cross["id"]).exists(), 60, "a line-crossing event")
        wait_for(lambda: Event.objects.filter(rule_id=loiter["id"]).exists(), 60, "a loitering event")
        _check_preview(client, camera, line["id"], cross["id"])

        moved = [[0.4, 0.3], [0.4, 1.0]]
        response = client.patch(f"/api/regions/{line['id']}/", data=json.dumps({"points": moved}),
                                content_type="application/json")
        assert response.status_code == 200, response.content
        wait_for(
            lambda: any(r.area and list(map(list, r.area.points)) == moved
                        for r in host.cameras[camera.pk].config.rules),
            CONFIG_DEADLINE_S, "the moved line running",
        )
        assert client.delete(f"/api/rules/{loiter['id']}/").status_code == 204
        wait_for(lambda: loiter["id"] not in _rule_ids(host, camera.pk), CONFIG_DEADLINE_S, "the deleted rule gone")
    finally:
        host.stop()

    crossing = Event.objects.filter(rule_id=cross["id"]).order_by("created_at").first()  # before the line moved
    evidence = crossing.evidence
    assert evidence["trigger"] == "cross" and evidence["area"]["name"] == "Walkway"
    assert evidence["crossing"]["direction"] in ("a_to_b", "b_to_a")
    x, y = evidence["crossing"]["point"]
    assert abs(x - 0.5) < 0.02 and 0.3 - 0.02 <= y <= 1.0, "the crossing point lies on the line"
    assert len(evidence["track_path"]) >= 2 and crossing.track_id is not None
    assert crossing.detection is not None and crossing.detection.track_id == crossing.track_id

    lingering = Event.objects.filter(rule_name="Lingering").order_by("created_at").first()  # its rule is deleted
    assert lingering.evidence["trigger"] == "loiter" and lingering.evidence["dwell_s"] >= 3.0
    assert lingering.evidence["area"]["name"] == "Plaza"


def _check_preview(client, camera: Camera, line_id: int, rule_id: int) -> None:
    """The preview replays the stored detections through the same engine: the crossing
    rule, which has run live all along, would have fired on the same tracks."""
    preview = _post(client, "/api/rules/preview/", {"camera": camera.pk, "name": "Crossing", "trigger": "cross",
                                                   "region": line_id, "object_classes": ["person"],
                                                   "cooldown_seconds": 0, "hours": 1})
    live = set(Event.objects.filter(rule_id=rule_id).values_list("track_id", flat=True))
    assert preview["detections"] > 0 and preview["frames_evaluated"] > 0
    previewed = {e["track_id"] for e in preview["events"]}
    assert previewed, "the preview finds crossings"
    assert len(previewed & live) >= 0.5 * len(live), (previewed, live)
    assert all(e["evidence"]["trigger"] == "cross" for e in preview["events"])
    assert Camera.objects.get(pk=camera.pk).rules.count() == 2, "a preview saves nothing"
