"""The camera's Configure page: who may open it, what it starts from, and that names are escaped."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from cameras.models import Camera, Region, Rule
from cameras.services import add_camera
from tests.conftest import REPO, client_for

pytestmark = pytest.mark.django_db

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


@pytest.fixture
def camera() -> Camera:
    return add_camera(name="Yard", stream_url="rtsp://192.0.2.1/s")


def _page(client, camera: Camera) -> str:
    response = client.get(f"/cameras/{camera.pk}/configure/")
    assert response.status_code == 200
    return response.content.decode()


def _configure_data(body: str) -> dict:
    match = re.search(r'<script id="configure-data" type="application/json">(.*?)</script>', body, re.S)
    assert match, "no configure-data JSON in the page"
    return json.loads(match.group(1))


def test_it_shows_the_editor_and_rules_to_admins(admin_user, camera):
    Region.objects.create(camera=camera, name="Gate", kind="line", points=[[0.1, 0.5], [0.9, 0.5]], direction="a_to_b")
    body = _page(client_for(admin_user), camera)
    assert "Configure “Yard”" in body
    assert "data-region-editor" in body and "data-rule-form" in body
    assert 'src="/static/js/configure/main.js"' in body
    data = _configure_data(body)
    assert data["camera"]["id"] == camera.pk
    assert data["camera"]["timezone"] == camera.timezone
    assert [r["name"] for r in data["regions"]] == ["Gate"]
    assert data["regions"][0]["direction"] == "a_to_b"
    assert [r["name"] for r in data["rules"]] == ["Person seen"]
    assert "webhook_secret" not in data["rules"][0] and data["rules"][0]["has_webhook_secret"] is False
    assert "person" in data["class_names"] and len(data["class_names"]) == 80
    assert data["trigger_areas"]["cross"] == {"kinds": ["line"], "whole_frame": False}
    assert data["trigger_areas"]["loiter"]["whole_frame"] is True
    assert data["urls"] == {
        "snapshot": f"/api/cameras/{camera.pk}/snapshot/", "regions": "/api/regions/",
        "rules": "/api/rules/", "preview": "/api/rules/preview/",
    }
    # The model's classes are checkboxes; the camera's timezone is shown for the schedule.
    assert 'name="object_classes" value="person"' in body
    assert camera.timezone in body


def test_it_never_puts_stream_credentials_or_webhook_secrets_in_the_page(admin_user):
    camera = add_camera(name="Yard", stream_url="rtsp://admin:hunter2@192.0.2.10/live")
    Rule.objects.filter(camera=camera).update(webhook_url="https://hooks.example/x", webhook_secret="s3cr3t-value")
    body = _page(client_for(admin_user), camera)
    assert "hunter2" not in body
    assert "s3cr3t-value" not in body
    assert _configure_data(body)["rules"][0]["has_webhook_secret"] is True


def test_it_refuses_operators_and_reviewers(operator, reviewer, camera):
    for user in (operator, reviewer):
        assert client_for(user).get(f"/cameras/{camera.pk}/configure/").status_code == 403


def test_it_sends_anonymous_visitors_to_the_login_page(client, camera):
    response = client.get(f"/cameras/{camera.pk}/configure/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_answers_404_for_an_unknown_camera(admin_user):
    assert client_for(admin_user).get("/cameras/999999/configure/").status_code == 404


def test_the_camera_list_links_to_configure_for_admins_only(admin_user, operator, camera):
    link = f'href="/cameras/{camera.pk}/configure/"'
    assert link in client_for(admin_user).get("/cameras/").content.decode()
    assert link not in client_for(operator).get("/cameras/").content.decode()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_it_escapes_hostile_camera_region_and_rule_names(admin_user, hostile):
    camera = add_camera(name=hostile, stream_url="rtsp://192.0.2.1/s")
    Region.objects.create(camera=camera, name=hostile, kind="zone", points=[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]])
    Rule.objects.create(camera=camera, name=hostile + " rule", description=hostile, object_classes=["person"])
    body = _page(client_for(admin_user), camera)
    assert hostile not in body
    assert "alert(1)" in body  # the names are there, only escaped
    assert "onerror=alert(1)>" not in body
    # Inside the JSON, < and > are escaped too, so nothing can close the script element.
    data_block = re.search(r'<script id="configure-data" type="application/json">(.*?)</script>', body, re.S)
    assert data_block and "<" not in data_block.group(1)
    data = _configure_data(body)
    assert data["camera"]["name"] == hostile
    assert data["regions"][0]["name"] == hostile
    assert data["rules"][-1]["description"] == hostile or any(r["description"] == hostile for r in data["rules"])


def test_the_page_has_no_inline_scripts_or_handlers(admin_user, camera):
    body = _page(client_for(admin_user), camera)
    assert not re.search(r"\son[a-z]+\s*=", body), "inline event handler"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", body, re.S)
    for attributes, content in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        assert "src=" not in attributes or "//" not in attributes.split("src=")[1].split()[0], "external script"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the page's modules")
def test_the_scripts_geometry_and_rule_words():
    """The page's plain modules (no DOM), run in Node: line arrows follow docs/rules-contract.md."""
    script = """
    import { aToBNormal } from "./static/js/configure/draw.js";
    import { crossingEdges, side, shapeProblems } from "./static/js/configure/geometry.js";
    import { describeRule } from "./static/js/configure/rules_form.js";
    const a = [100, 50], b = [300, 250];
    const n = aToBNormal(a, b);
    const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    console.log(JSON.stringify({
      arrowSide: Math.sign(side(a, b, [mid[0] + n[0], mid[1] + n[1]])),
      bowTie: crossingEdges([[0.1, 0.7], [0.3, 0.9], [0.3, 0.7], [0.1, 0.9]]),
      square: crossingEdges([[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]),
      shortLine: shapeProblems("line", [[0.5, 0.5], [0.501, 0.5]]).blocking.length,
      words: describeRule({trigger: "loiter", object_classes: ["person"], duration_seconds: 30,
        schedule: [{days: [0, 1, 2, 3, 4], start: "22:00", end: "06:00"}]}, {name: "Loading bay"}, "Europe/Paris"),
    }));
    """
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["arrowSide"] == 1  # the a_to_b arrow points where cross(B - A, P - A) > 0
    assert out["bowTie"] == [[0, 2]] and out["square"] == []
    assert out["shortLine"] == 1
    assert out["words"] == "Person stays in Loading bay longer than 30 s · only Mon–Fri 22:00–06:00 (Europe/Paris)"
