"""Configuration as code: YAML export and import (cameras.config_yaml and its commands)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from cameras import config_yaml
from cameras.config_yaml import ConfigInvalid, Mode, export_config, import_config
from cameras.models import Camera, Region, Rule
from cameras.services import add_camera

pytestmark = pytest.mark.django_db

SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
BOW_TIE = [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]
NIGHTS = [{"days": [0, 1, 2, 3, 4], "start": "22:00", "end": "06:00"}]


@pytest.fixture
def site() -> dict[str, Camera]:
    """Two cameras: "Lobby" with a password, regions of every kind and several rules; "Gate" plain."""
    lobby = add_camera(
        name="Lobby", stream_url="rtsp://admin:hunter2@192.0.2.10:554/live", timezone="Europe/Paris",
        description="Main entrance\nground floor", detect_width=640,
        object_settings={"person": {"min_confidence": 0.4, "min_area": 0.0, "max_area": 0.5},
                         "car": {"min_confidence": 0.6, "min_area": 0.01, "max_area": 1.0}},
    )
    door = Region.objects.create(camera=lobby, name="Door", kind="zone", points=SQUARE)
    entry = Region.objects.create(
        camera=lobby, name="Entry", kind="line", points=[[0.1, 0.5], [0.9, 0.5]], direction="a_to_b", color="#ff0000",
    )
    Region.objects.create(camera=lobby, name="Plant", kind="object_mask", points=[[0.0, 0.0], [0.2, 0.0], [0.2, 0.2]])
    Rule.objects.create(
        camera=lobby, name="Loiter at door", trigger="loiter", region=door, object_classes=["person"],
        duration_seconds=30.0, schedule=NIGHTS, webhook_url="https://hooks.example/vigil", webhook_secret="s3cret",
        severity="critical",
    )
    Rule.objects.create(camera=lobby, name="crossing", trigger="cross", region=entry, object_classes=["person", "car"])
    gate = add_camera(name="Gate", stream_url="rtsp://192.0.2.20/s", enabled=False, detect_fps=2.0)
    return {"lobby": lobby, "gate": gate}


def _errors(source: str, **options: object) -> list[str]:
    with pytest.raises(ConfigInvalid) as caught:
        import_config(source, **options)  # type: ignore[arg-type]
    return [str(error) for error in caught.value.errors]


def _snapshot() -> tuple[int, int, int, list[tuple[str, float, str]]]:
    """Counts and a few field values, to show that a failed import changed nothing."""
    cameras = [(c.name, c.detect_fps, c.stream_url) for c in Camera.objects.order_by("name")]
    return Camera.objects.count(), Region.objects.count(), Rule.objects.count(), cameras


# --- Export ----------------------------------------------------------------------------


def test_export_sorts_everything_and_redacts_secrets(site):
    text = export_config()
    assert "hunter2" not in text and "s3cret" not in text
    document = yaml.safe_load(text)
    assert document["version"] == 1
    assert [c["name"] for c in document["cameras"]] == ["Gate", "Lobby"]
    lobby = document["cameras"][1]
    assert list(lobby) == [
        "name", "description", "enabled", "stream_url", "model_name", "detect_fps", "detect_width", "timezone",
        "object_settings", "regions", "rules",
    ]
    assert lobby["stream_url"] == "rtsp://admin:***@192.0.2.10:554/live"
    assert [r["name"] for r in lobby["regions"]] == ["Door", "Entry", "Plant"]
    assert [r["name"] for r in lobby["rules"]] == ["crossing", "Loiter at door", "Person seen"]
    assert list(lobby["object_settings"]) == ["car", "person"]
    assert list(lobby["object_settings"]["person"]) == ["min_confidence", "min_area", "max_area"]
    loiter = lobby["rules"][1]
    assert loiter["region"] == "Door" and loiter["webhook_secret"] == "***"
    assert loiter["schedule"] == NIGHTS
    assert lobby["rules"][2]["webhook_secret"] == ""  # no secret: nothing to hide
    assert "start: '22:00'" in text  # quoted: unquoted, YAML 1.1 would read 22:00 as a number


def test_export_includes_secrets_only_when_asked(site):
    document = yaml.safe_load(export_config(include_secrets=True))
    lobby = document["cameras"][1]
    assert lobby["stream_url"] == "rtsp://admin:hunter2@192.0.2.10:554/live"
    assert lobby["rules"][1]["webhook_secret"] == "s3cret"


def test_redact_password_keeps_everything_but_the_password():
    assert config_yaml.redact_password("rtsp://u:p@ss@h:554/a?b=1") == "rtsp://u:***@h:554/a?b=1"
    assert config_yaml.redact_password("rtsp://h/s") == "rtsp://h/s"
    assert config_yaml.redact_password("/videos/a.mp4") == "/videos/a.mp4"


# --- Round trips -------------------------------------------------------------------------


def test_export_import_export_is_byte_identical(site):
    first = export_config()
    summary = import_config(first)
    assert summary.as_dict()["changes"] == {
        "cameras": {"created": 0, "updated": 0, "deleted": 0, "unchanged": 2},
        "regions": {"created": 0, "updated": 0, "deleted": 0, "unchanged": 3},
        "rules": {"created": 0, "updated": 0, "deleted": 0, "unchanged": 4},
    }
    assert export_config() == first
    assert import_config(first, mode=Mode.REPLACE).cameras.unchanged == 2
    assert export_config() == first
    assert Camera.objects.get(name="Lobby").stream_url == "rtsp://admin:hunter2@192.0.2.10:554/live"
    assert Rule.objects.get(name="Loiter at door").webhook_secret == "s3cret"


def test_a_full_export_rebuilds_an_empty_system_exactly(site):
    first = export_config(include_secrets=True)
    Rule.objects.all().delete()  # Rule.region is PROTECT: rules before their cameras
    Camera.objects.all().delete()
    summary = import_config(first)
    assert (summary.cameras.created, summary.regions.created, summary.rules.created) == (2, 3, 4)
    assert export_config(include_secrets=True) == first
    assert Rule.objects.get(name="Loiter at door").region.name == "Door"


# --- Errors --------------------------------------------------------------------------------


def test_it_reports_every_error_with_its_path_and_changes_nothing(site):
    document = yaml.safe_load(export_config())
    gate, lobby = document["cameras"]
    gate["detect_fps"] = 10.0  # valid, but must not be applied: the file has errors
    gate["timezone"] = "Mars/Olympus"
    lobby["regions"][0]["points"] = BOW_TIE
    lobby["regions"][1]["colour"] = "red"
    lobby["rules"][0]["region"] = "Nope"
    lobby["rules"][1]["trigger"] = "cross"  # on the zone "Door"
    document["cameras"].append({"name": "New", "stream_url": "rtsp://u:***@192.0.2.99/s", "rules": [
        {"name": "Enter", "trigger": "enter", "object_classes": ["unicorn"]},
    ]})
    before = _snapshot()
    errors = _errors(yaml.safe_dump(document))
    assert _snapshot() == before
    paths = {error.split(": ")[0] for error in errors}
    assert paths == {
        "cameras[0].timezone",
        "cameras[1].regions[0].points",
        "cameras[1].regions[1].colour",
        "cameras[1].rules[0].region",
        "cameras[1].rules[1].region",
        "cameras[2].stream_url",
        "cameras[2].rules[0].object_classes",
        "cameras[2].rules[0].region",
    }, errors
    assert 'cameras[1].rules[0].region: No region named “Nope” on camera “Lobby”.' in errors
    assert any("crosses itself" in e for e in errors if e.startswith("cameras[1].regions[0].points"))
    assert any("Unknown timezone" in e for e in errors)


def test_rules_of_a_new_camera_are_checked_against_the_regions_in_the_file():
    source = """
cameras:
- name: Yard
  stream_url: rtsp://192.0.2.5/s
  regions:
  - {name: Fence, kind: line, points: [[0.1, 0.5], [0.9, 0.5]]}
  rules:
  - {name: Over the fence, trigger: cross, region: fence, object_classes: [person]}
  - {name: Lingering, trigger: loiter, region: Fence, object_classes: [person]}
"""
    errors = _errors(source)
    assert [e.split(": ")[0] for e in errors] == ["cameras[0].rules[1].region", "cameras[0].rules[1].duration_seconds"]
    assert Camera.objects.count() == 0


def test_a_yaml_syntax_error_gives_its_line_and_column():
    errors = _errors("cameras:\n- name: A\n  stream_url: [unclosed\n- name: B\n")
    assert len(errors) == 1
    assert errors[0] == (
        "YAML syntax error at line 4, column 7: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 3, column 15)."
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("camras: []\n", ["camras: Unknown key; expected one of: cameras, version.", "cameras: Missing: the list of cameras."]),
        ("", ["The document is empty: expected “cameras:” with a list of cameras."]),
        ("- a\n", ["Expected “version” and “cameras” at the top (a mapping of keys to values)."]),
        ("version: 2\ncameras: []\n", ["version: Unsupported version 2; this Vigil reads version 1."]),
        ("cameras: {}\n", ["cameras: Expected a list of cameras."]),
        ("cameras:\n", ["cameras: Expected a list of cameras; write “cameras: []” for none."]),
        ("cameras: [42]\n", ["cameras[0]: Expected a camera (a mapping of keys to values)."]),
    ],
)
def test_it_explains_a_badly_shaped_document(source, expected):
    assert _errors(source) == expected


def test_unknown_keys_are_errors_at_every_level(site):
    document = yaml.safe_load(export_config())
    document["cameras"][0]["id"] = 3
    document["cameras"][1]["regions"][0]["camera"] = "Gate"
    document["cameras"][1]["rules"][0]["kind"] = "object_seen"
    errors = _errors(yaml.safe_dump(document))
    assert [e.split(":")[0] for e in errors] == [
        "cameras[0].id", "cameras[1].regions[0].camera", "cameras[1].rules[0].kind",
    ]


def test_names_must_be_unique_ignoring_case():
    source = """
cameras:
- {name: Yard, stream_url: rtsp://192.0.2.5/s}
- {name: yard, stream_url: rtsp://192.0.2.6/s}
"""
    assert _errors(source) == ["cameras[1].name: “yard” is already at cameras[0]; names are compared ignoring case."]


def test_it_refuses_documents_over_the_size_limit():
    too_big = "#" * (config_yaml.MAX_DOCUMENT_BYTES + 1)
    assert "size limit of 2 MB" in _errors(too_big)[0]
    assert "size limit" in _errors(too_big.encode())[0]


def test_it_refuses_alias_bombs():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    assert "more than 200,000 values" in _errors(bomb)[0]


def test_a_redacted_password_keeps_the_stored_one_and_a_new_camera_needs_one(site):
    document = yaml.safe_load(export_config())
    document["cameras"][1]["stream_url"] = "rtsp://admin:***@192.0.2.10:554/other"
    import_config(yaml.safe_dump(document))
    assert Camera.objects.get(name="Lobby").stream_url == "rtsp://admin:hunter2@192.0.2.10:554/other"
    errors = _errors("cameras:\n- {name: Dock, stream_url: 'rtsp://u:***@192.0.2.7/s'}\n")
    assert errors == ["cameras[0].stream_url: Type the camera's password: “***” only keeps an existing one."]


def test_a_redacted_webhook_secret_keeps_the_stored_one(site):
    document = yaml.safe_load(export_config())
    lobby = document["cameras"][1]
    lobby["rules"][1]["webhook_url"] = "https://hooks.example/other"
    lobby["rules"][2]["webhook_secret"] = "***"  # "Person seen" has none to keep
    assert _errors(yaml.safe_dump(document)) == [
        "cameras[1].rules[2].webhook_secret: “***” only keeps a stored secret, and there is none: type the secret."
    ]
    lobby["rules"][2]["webhook_secret"] = "fresh"
    import_config(yaml.safe_dump(document))
    assert Rule.objects.get(name="Loiter at door").webhook_secret == "s3cret"
    assert Rule.objects.get(name="Loiter at door").webhook_url == "https://hooks.example/other"
    assert Rule.objects.get(name="Person seen", camera__name="Lobby").webhook_secret == "fresh"


def test_unquoted_times_get_a_hint(site):
    source = export_config().replace("start: '22:00'", "start: 22:00")
    assert _errors(source) == [
        'cameras[1].rules[1].schedule[0].start: Write times in quotes, e.g. "22:00": unquoted, YAML reads 22:00 as a number.'
    ]


# --- Merge, replace, dry run -------------------------------------------------------------

_ONLY_LOBBY = """
cameras:
- name: lobby
  detect_fps: 3
  regions:
  - {name: Door, kind: zone, points: [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]]}
  - {name: Desk, kind: zone, points: [[0.0, 0.0], [0.3, 0.0], [0.3, 0.3]]}
  rules:
  - {name: At the desk, trigger: enter, region: Desk, object_classes: [person]}
"""


def test_merge_keeps_what_the_file_leaves_out(site):
    summary = import_config(_ONLY_LOBBY)
    assert summary.as_dict()["changes"] == {
        "cameras": {"created": 0, "updated": 1, "deleted": 0, "unchanged": 0},
        "regions": {"created": 1, "updated": 1, "deleted": 0, "unchanged": 0},
        "rules": {"created": 1, "updated": 0, "deleted": 0, "unchanged": 0},
    }
    lobby = Camera.objects.get(name="lobby")  # the file's spelling of the name wins
    assert lobby.detect_fps == 3.0 and lobby.timezone == "Europe/Paris"  # keys left out keep their value
    assert lobby.stream_url == "rtsp://admin:hunter2@192.0.2.10:554/live"
    assert sorted(lobby.regions.values_list("name", flat=True)) == ["Desk", "Door", "Entry", "Plant"]
    assert lobby.rules.count() == 4
    assert Camera.objects.filter(name="Gate").exists()


def test_replace_deletes_what_the_file_leaves_out(site):
    summary = import_config(_ONLY_LOBBY, mode=Mode.REPLACE)
    assert summary.as_dict()["changes"] == {
        "cameras": {"created": 0, "updated": 1, "deleted": 1, "unchanged": 0},
        "regions": {"created": 1, "updated": 1, "deleted": 2, "unchanged": 0},
        "rules": {"created": 1, "updated": 0, "deleted": 4, "unchanged": 0},  # 3 of Lobby, 1 of Gate
    }
    assert list(Camera.objects.values_list("name", flat=True)) == ["lobby"]
    assert sorted(Region.objects.values_list("name", flat=True)) == ["Desk", "Door"]
    assert list(Rule.objects.values_list("name", flat=True)) == ["At the desk"]


def test_replace_refuses_rules_on_regions_it_would_delete(site):
    source = _ONLY_LOBBY.replace("region: Desk", "region: Entry")
    errors = _errors(source, mode=Mode.REPLACE)
    assert errors == [
        "cameras[0].rules[0].region: No region named “Entry” on camera “lobby” "
        "(replace mode deletes the regions that are not in the file)."
    ]
    assert Camera.objects.count() == 2


def test_a_dry_run_counts_the_changes_and_changes_nothing(site):
    before = _snapshot()
    summary = import_config(_ONLY_LOBBY, mode=Mode.REPLACE, dry_run=True)
    assert summary.dry_run and summary.cameras.deleted == 1 and summary.rules.deleted == 4
    assert _snapshot() == before


def test_new_cameras_get_exactly_the_rules_in_the_file():
    import_config("cameras:\n- {name: Yard, stream_url: 'rtsp://192.0.2.5/s'}\n")
    yard = Camera.objects.get(name="Yard")
    assert yard.rules.count() == 0 and yard.detect_fps == 5.0


def test_it_tells_the_workers_about_every_camera_it_touched(site, monkeypatch, django_capture_on_commit_callbacks):
    published: list[int] = []
    monkeypatch.setattr(config_yaml, "publish_camera_changed", published.append)
    with django_capture_on_commit_callbacks(execute=True):
        import_config(export_config())
    assert published == []  # nothing changed
    with django_capture_on_commit_callbacks(execute=True):
        import_config("cameras:\n- {name: Gate, detect_fps: 4.0}\n")
    assert published == [site["gate"].pk]
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        import_config(_ONLY_LOBBY, mode=Mode.REPLACE)
    assert sorted(published) == sorted([site["lobby"].pk, site["gate"].pk])


# --- Commands --------------------------------------------------------------------------------


def _command(name: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_command_writes_stdout_or_a_file(site, tmp_path: Path):
    out, _ = _command("export_config")
    assert out == export_config()
    target = tmp_path / "vigil.yaml"
    _command("export_config", "--out", str(target), "--include-secrets")
    assert target.read_text() == export_config(include_secrets=True)
    assert target.stat().st_mode & 0o077 == 0  # holds passwords: private


def test_import_command_applies_a_file_and_reports_counts(site, tmp_path: Path):
    path = tmp_path / "vigil.yaml"
    path.write_text(_ONLY_LOBBY)
    out, _ = _command("import_config", str(path), "--dry-run", "--mode", "replace")
    assert out.startswith("Dry run, nothing changed.")
    assert "cameras: 0 created, 1 updated, 1 deleted, 0 unchanged" in out
    assert Camera.objects.count() == 2
    out, _ = _command("import_config", str(path))
    assert out.startswith("Imported (merge):")
    assert Camera.objects.get(name="lobby").detect_fps == 3.0


def test_import_command_prints_every_error_and_fails(site, tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(_ONLY_LOBBY.replace("detect_fps: 3", "detect_fps: 99\n  colour: red"))
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_config", str(path), stdout=io.StringIO(), stderr=err)
    assert str(caught.value) == "2 problem(s) found; nothing was changed."
    assert caught.value.returncode == 1
    assert err.getvalue().splitlines() == [
        "cameras[0].colour: Unknown key; expected one of: description, detect_fps, detect_width, enabled, "
        "model_name, name, object_settings, regions, rules, stream_url, timezone.",
        "cameras[0].detect_fps: Detect fps must be between 0.1 and 30.",
    ]
    assert Camera.objects.get(name="Lobby").detect_fps == 5.0
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_config", str(tmp_path / "missing.yaml"))
