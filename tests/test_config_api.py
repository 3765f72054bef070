"""The configuration API: who may call each endpoint, what bad input gets, config export/import."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cameras.config_yaml import MAX_DOCUMENT_BYTES
from cameras.models import Camera, Region, Rule
from cameras.services import add_camera
from events.live import store_snapshot
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
JPEG = b"\xff\xd8\xff\xe0fake jpeg\xff\xd9"
ROLES = ("anonymous", "nobody", "operator", "reviewer", "admin")
READERS = {"operator", "reviewer", "admin"}


@dataclass
class World:
    camera: Camera
    spare_camera: Camera
    door: Region
    spare_region: Region
    rule: Rule


@pytest.fixture
def world(redis_client, video_dir) -> World:
    camera = add_camera(name="Lobby", stream_url="rtsp://u:hunter2@192.0.2.10/s")
    spare_camera = add_camera(name="Spare", stream_url="rtsp://192.0.2.11/s")
    door = Region.objects.create(camera=camera, name="Door", kind="zone", points=SQUARE)
    spare_region = Region.objects.create(camera=camera, name="Corner", kind="zone", points=[[0, 0], [0.2, 0], [0.2, 0.2]])
    rule = Rule.objects.create(camera=camera, name="Door watch", trigger="enter", region=door, object_classes=["person"])
    store_snapshot(redis_client, camera.pk, JPEG)
    return World(camera, spare_camera, door, spare_region, rule)


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """Users are created for every one of the many cases here: skip the slow password hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class _Clients(dict):
    """A signed-in client per role, each user created on first use."""

    def __missing__(self, role: str) -> Client:
        if role == "anonymous":
            client = Client()
        else:
            client = client_for(make_user(f"user-{role}", None if role == "nobody" else role))
        self[role] = client
        return client


@pytest.fixture
def clients(db) -> dict[str, Client]:
    return _Clients()


def _call(client: Client, method: str, url: str, body: Any = None, content_type: str = "application/json") -> Any:
    if body is not None and content_type == "application/json":
        body = json.dumps(body)
    return getattr(client, method.lower())(url, data=body, content_type=content_type)


# (method, url, body, content type, status for an admin); reads are open to every role.
_READS = [
    ("GET", "/api/cameras/"),
    ("GET", "/api/cameras/{camera}/"),
    ("GET", "/api/cameras/{camera}/snapshot/"),
    ("GET", "/api/regions/"),
    ("GET", "/api/regions/{door}/"),
    ("GET", "/api/rules/"),
    ("GET", "/api/rules/{rule}/"),
]
_CHANGES: list[tuple[str, str, Any, str, int]] = [
    ("POST", "/api/cameras/", {"name": "New", "stream_url": "rtsp://192.0.2.50/s"}, "application/json", 201),
    ("PATCH", "/api/cameras/{camera}/", {"description": "By the door"}, "application/json", 200),
    ("PUT", "/api/cameras/{spare_camera}/", {"name": "Spare", "stream_url": "rtsp://192.0.2.12/s"}, "application/json", 200),
    ("DELETE", "/api/cameras/{spare_camera}/", None, "application/json", 204),
    ("POST", "/api/cameras/test-connection/", {"stream_url": "missing-video.mp4"}, "application/json", 200),
    ("POST", "/api/regions/", {"camera": "{camera}", "name": "Desk", "kind": "line", "points": [[0.1, 0.5], [0.9, 0.5]]},
     "application/json", 201),
    ("PATCH", "/api/regions/{door}/", {"color": "#00ff00"}, "application/json", 200),
    ("DELETE", "/api/regions/{spare_region}/", None, "application/json", 204),
    ("POST", "/api/rules/", {"camera": "{camera}", "name": "Anyone", "object_classes": ["person"]}, "application/json", 201),
    ("PATCH", "/api/rules/{rule}/", {"enabled": False}, "application/json", 200),
    ("DELETE", "/api/rules/{rule}/", None, "application/json", 204),
    ("POST", "/api/rules/preview/", {"camera": "{camera}", "name": "Door watch", "trigger": "enter", "region": "{door}",
                                     "object_classes": ["person"], "hours": 1}, "application/json", 200),
    ("GET", "/api/config/export/", None, "application/json", 200),
    ("POST", "/api/config/import/", "cameras:\n- {name: Lobby, detect_fps: 2.0}\n", "application/yaml", 200),
]


def _ids(world: World) -> dict[str, int]:
    return {name: getattr(world, name).pk for name in ("camera", "spare_camera", "door", "spare_region", "rule")}


def _fill(value: Any, ids: dict[str, int]) -> Any:
    """Put the fixture's ids into "{camera}"-style placeholders of a URL or body."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str) and value.startswith("/api/"):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _state() -> tuple[Any, ...]:
    return (
        list(Camera.objects.order_by("pk").values_list("name", "description", "detect_fps", "stream_url")),
        list(Region.objects.order_by("pk").values_list("name", "color")),
        list(Rule.objects.order_by("pk").values_list("name", "enabled")),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url"), _READS, ids=[f"{m} {u}" for m, u in _READS])
def test_operators_reviewers_and_admins_read_the_configuration(world, clients, role, method, url):
    response = _call(clients[role], method, _fill(url, _ids(world)))
    assert response.status_code == (200 if role in READERS else 403), response.content


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "url", "body", "content_type", "admin_status"), _CHANGES, ids=[f"{c[0]} {c[1]}" for c in _CHANGES]
)
def test_only_admins_change_the_configuration(world, clients, role, method, url, body, content_type, admin_status):
    ids = _ids(world)
    before = _state()
    response = _call(clients[role], method, _fill(url, ids), _fill(body, ids), content_type)
    if role == "admin":
        assert response.status_code == admin_status, response.content
    else:
        assert response.status_code == 403, response.content
        assert _state() == before


def test_a_snapshot_is_the_stored_picture(world, clients):
    response = clients["operator"].get(f"/api/cameras/{world.camera.pk}/snapshot/")
    assert response["Content-Type"] == "image/jpeg" and response.content == JPEG


def test_test_connection_says_what_is_wrong_with_a_missing_file(world, clients):
    response = _call(clients["admin"], "POST", "/api/cameras/test-connection/", {"stream_url": "missing-video.mp4"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["error"]


def test_an_admin_deletes_a_camera_whose_rules_use_its_regions(world, clients):
    assert clients["admin"].delete(f"/api/cameras/{world.camera.pk}/").status_code == 204


# --- Bad input through the API -----------------------------------------------------------


def _errors(response: Any) -> dict[str, str]:
    """Field → all its messages in one string."""
    return {field: " ".join(map(str, messages)) for field, messages in response.json().items()}


def _region(world: World, **fields: Any) -> dict[str, Any]:
    return {"camera": world.camera.pk, "name": "New", "kind": "zone", "points": SQUARE, **fields}


def _rule(world: World, **fields: Any) -> dict[str, Any]:
    return {"camera": world.camera.pk, "name": "New", "object_classes": ["person"], **fields}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"points": [[0.1, 0.1], [0.5, 0.5]]}, "at least 3 points"),
        ({"points": [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]}, "crosses itself"),
        ({"points": [[0.1, 0.1], [1.2, 0.1], [0.5, 0.9]]}, "outside the frame"),
        ({"kind": "line", "points": [[0.5, 0.5], [0.5, 0.5]]}, "too short"),
        ({"points": "0.1,0.1"}, "list of [x, y] pairs"),
    ],
    ids=["two points", "self-intersecting", "outside the frame", "zero-length line", "not a list"],
)
def test_it_refuses_bad_region_shapes(world, clients, fields, message):
    response = _call(clients["admin"], "POST", "/api/regions/", _region(world, **fields))
    assert response.status_code == 400
    assert message in json.dumps(response.json(), ensure_ascii=False)
    assert Region.objects.count() == 2


def test_region_shape_errors_are_reported_under_points(world, clients):
    response = _call(clients["admin"], "POST", "/api/regions/", _region(world, points=[[0.1, 0.1], [0.5, 0.5]]))
    assert "points" in response.json()


def test_region_names_are_unique_per_camera_ignoring_case(world, clients):
    response = _call(clients["admin"], "POST", "/api/regions/", _region(world, name="door"))
    assert response.status_code == 400
    assert "already has a region named" in _errors(response)["name"]
    other = _call(clients["admin"], "POST", "/api/regions/", _region(world, name="door", camera=world.spare_camera.pk))
    assert other.status_code == 201


def test_deleting_a_region_that_rules_use_is_a_conflict_naming_them(world, clients):
    Rule.objects.create(camera=world.camera, name="Another", trigger="loiter", region=world.door,
                        object_classes=["person"], duration_seconds=5)
    response = clients["admin"].delete(f"/api/regions/{world.door.pk}/")
    assert response.status_code == 409
    assert "(Another, Door watch)" in response.json()["detail"]
    assert Region.objects.filter(pk=world.door.pk).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"trigger": "cross", "region": "{door}"}, "region", "works on a line, not a zone"),
        ({"trigger": "enter"}, "region", "needs a zone"),
        ({"trigger": "loiter", "region": "{door}"}, "duration_seconds", "how many seconds"),
        ({"schedule": [{"days": [0], "start": "25:00", "end": "06:00"}]}, "schedule", "HH:MM"),
        ({"schedule": [{"days": [7], "start": "22:00", "end": "06:00"}]}, "schedule", "0 (Monday) to 6 (Sunday)"),
        ({"region": "{other_region}"}, "region", "belongs to another camera"),
        ({"object_classes": ["unicorn"]}, "object_classes", "does not detect: unicorn"),
        ({"object_classes": []}, "object_classes", "Choose at least one object class"),
        ({"webhook_url": "ftp://hooks.example/x"}, "webhook_url", ""),
        ({"mqtt_topic": "vigil/#"}, "mqtt_topic", "no wildcards"),
    ],
    ids=["cross on a zone", "enter without region", "loiter without duration", "bad time", "bad day",
         "region of another camera", "unknown class", "no class", "bad webhook", "mqtt wildcard"],
)
def test_it_refuses_bad_rules(world, clients, fields, field, message):
    other = Region.objects.create(camera=world.spare_camera, name="Elsewhere", kind="zone", points=SQUARE)
    ids = {**_ids(world), "other_region": other.pk}
    response = _call(clients["admin"], "POST", "/api/rules/", _fill(_rule(world, **fields), ids))
    assert response.status_code == 400, response.content
    assert message in _errors(response)[field]
    assert not Rule.objects.filter(name="New").exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown timezone"),
        ({"object_settings": {"person": {"min_area": 0.5, "max_area": 0.1}}}, "object_settings", "larger than max_area"),
        ({"object_settings": {"unicorn": {}}}, "object_settings", "does not detect"),
        ({"detect_width": 100}, "detect_width", "between 160 and 3840"),
    ],
)
def test_it_refuses_bad_camera_settings(world, clients, fields, field, message):
    response = _call(clients["admin"], "PATCH", f"/api/cameras/{world.camera.pk}/", fields)
    assert response.status_code == 400
    assert message in _errors(response)[field]


# --- The schema and its docs -----------------------------------------------------------------


def test_the_schema_describes_regions_rules_and_config(clients):
    assert clients["anonymous"].get("/api/schema/").status_code == 403
    response = clients["operator"].get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path in ("/api/regions/", "/api/regions/{id}/", "/api/rules/", "/api/rules/preview/", "/api/cameras/{id}/snapshot/",
                 "/api/cameras/test-connection/", "/api/config/export/", "/api/config/import/"):
        assert path in paths, path
    assert "application/yaml" in paths["/api/config/export/"]["get"]["responses"]["200"]["content"]
    import_op = paths["/api/config/import/"]["post"]
    assert set(import_op["requestBody"]["content"]) == {"application/yaml", "multipart/form-data"}
    assert {"200", "400", "413"} <= set(import_op["responses"])


def test_the_api_docs_page_renders(clients):
    response = clients["reviewer"].get("/docs/api/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert clients["anonymous"].get("/docs/api/").status_code == 302


# --- Config export and import ---------------------------------------------------------------


def test_export_is_yaml_with_secrets_redacted_unless_asked(world, clients):
    response = clients["admin"].get("/api/config/export/")
    assert response["Content-Type"].startswith("application/yaml")
    assert "attachment" in response["Content-Disposition"]
    assert b"hunter2" not in response.content and b"u:***@192.0.2.10" in response.content
    with_secrets = clients["admin"].get("/api/config/export/?secrets=1")
    assert b"rtsp://u:hunter2@192.0.2.10/s" in with_secrets.content


def test_an_exported_document_imports_back_unchanged(world, clients):
    exported = clients["admin"].get("/api/config/export/").content
    response = _call(clients["admin"], "POST", "/api/config/import/", exported, "application/yaml")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "mode": "merge", "dry_run": False, "changes": {
            "cameras": {"created": 0, "updated": 0, "deleted": 0, "unchanged": 2},
            "regions": {"created": 0, "updated": 0, "deleted": 0, "unchanged": 2},
            "rules": {"created": 0, "updated": 0, "deleted": 0, "unchanged": 3},
        },
    }
    assert clients["admin"].get("/api/config/export/").content == exported


def test_import_takes_a_file_upload(world, clients):
    upload = SimpleUploadedFile("vigil.yaml", b"cameras:\n- {name: Lobby, detect_fps: 2.5}\n", "application/yaml")
    response = clients["admin"].post("/api/config/import/", {"file": upload})
    assert response.status_code == 200, response.content
    assert response.json()["changes"]["cameras"]["updated"] == 1
    assert Camera.objects.get(name="Lobby").detect_fps == 2.5


def test_import_dry_run_and_replace_mode(world, clients):
    document = "cameras:\n- {name: Lobby}\n"
    before = _state()
    response = _call(clients["admin"], "POST", "/api/config/import/?dry_run=1&mode=replace", document, "application/yaml")
    assert response.status_code == 200
    assert response.json()["dry_run"] is True
    assert response.json()["changes"]["cameras"]["deleted"] == 1
    assert response.json()["changes"]["regions"]["deleted"] == 2
    assert _state() == before
    response = _call(clients["admin"], "POST", "/api/config/import/?mode=replace", document, "application/yaml")
    assert response.status_code == 200
    assert list(Camera.objects.values_list("name", flat=True)) == ["Lobby"]
    assert Region.objects.count() == 0 and Rule.objects.count() == 0


def test_import_reports_every_error_with_its_path(world, clients):
    document = yaml.safe_dump({"cameras": [
        {"name": "Lobby", "detect_fps": 99, "regions": [{"name": "Door", "kind": "zone", "points": [[0, 0], [1, 1]]}]},
        {"name": "Yard", "stream_url": "rtsp://192.0.2.30/s", "rules": [{"name": "In", "trigger": "enter", "region": "Gate",
                                                                         "object_classes": ["person"]}]},
    ]})
    before = _state()
    response = _call(clients["admin"], "POST", "/api/config/import/", document, "application/yaml")
    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"path": "cameras[0].detect_fps", "message": "Detect fps must be between 0.1 and 30."},
        {"path": "cameras[0].regions[0].points", "message": "A zone needs at least 3 points; this one has 2."},
        {"path": "cameras[1].rules[0].region", "message": "No region named “Gate” on camera “Yard”."},
    ]}
    assert _state() == before


@pytest.mark.parametrize(
    ("url", "body", "content_type", "status", "message"),
    [
        ("/api/config/import/?mode=overwrite", "cameras: []\n", "application/yaml", 400, "“merge” or “replace”"),
        ("/api/config/import/", "", "application/yaml", 400, "Send the YAML"),
        ("/api/config/import/", "cameras: [\n", "text/yaml", 400, "YAML syntax error at line 2"),
        ("/api/config/import/", "#" * (MAX_DOCUMENT_BYTES + 10), "application/yaml", 413, "size limit"),
    ],
    ids=["bad mode", "empty body", "syntax error", "too large"],
)
def test_import_explains_unusable_requests(world, clients, url, body, content_type, status, message):
    response = _call(clients["admin"], "POST", url, body, content_type)
    assert response.status_code == status
    assert message in response.json()["errors"][0]["message"]


def test_import_refuses_other_content_types(clients):
    response = _call(clients["admin"], "POST", "/api/config/import/", {"cameras": []})
    assert response.status_code == 415
