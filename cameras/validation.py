"""Validation shared by the camera pages and the API, so both say the same thing."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError

from cameras.models import Camera
from workers.pipeline.catalogue import CATALOGUE
from workers.pipeline.geometry import line_problems, polygon_problems
from workers.pipeline.schedule import Schedule
from workers.pipeline.sources import SourceError, parse_source

REDACTED = "***"


def clean_camera_name(name: str, *, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the camera a name.")
    clash = Camera.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError(f"A camera named “{name}” already exists.")
    return name


def _restore_password(url: str, previous: str | None) -> str:
    """An edit that sends back the redacted URL keeps the stored password."""
    if not previous:
        return url
    new, old = urlsplit(url), urlsplit(previous)
    if new.password != REDACTED or old.password is None:
        return url
    if (new.scheme, new.username, new.hostname, new.port) != (old.scheme, old.username, old.hostname, old.port):
        return url
    netloc = old.netloc  # user:password@host:port of the stored URL
    return urlunsplit((new.scheme, netloc, new.path, new.query, new.fragment))


def clean_stream_url(url: str, *, previous: str | None = None) -> str:
    url = _restore_password((url or "").strip(), previous)
    if urlsplit(url).password == REDACTED:
        raise ValidationError("Type the camera's password: “***” only keeps an existing one.")
    try:
        parse_source(url, video_dir=settings.VIGIL_VIDEO_DIR)
    except SourceError as err:
        raise ValidationError(str(err)) from err
    return url


def clean_model_name(name: str) -> str:
    spec = CATALOGUE.get(name)
    if spec is None or spec.task != "detection":
        choices = ", ".join(sorted(n for n, s in CATALOGUE.items() if s.task == "detection"))
        raise ValidationError(f"Unknown detection model “{name}”; choose one of: {choices}.")
    return name


def clean_detect_fps(fps: float) -> float:
    if not 0.1 <= fps <= 30:
        raise ValidationError("Detect fps must be between 0.1 and 30.")
    return fps


def clean_detect_width(width: int | None) -> int | None:
    if width is not None and not 160 <= width <= 3840:
        raise ValidationError("Detect width must be between 160 and 3840 pixels, or empty for the decoded size.")
    return width


def clean_timezone(name: str) -> str:
    name = (name or "").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValidationError(f"Unknown timezone “{name}”: use an IANA name such as Europe/Paris or UTC.") from err
    return name


def class_names_of(model_name: str) -> tuple[str, ...]:
    spec = CATALOGUE.get(model_name)
    return spec.class_names if spec is not None else ()


def clean_object_classes(classes: list[str], model_name: str, *, allow_empty: bool = False) -> list[str]:
    known = class_names_of(model_name)
    unknown = [c for c in classes if c not in known]
    if unknown:
        raise ValidationError(f"{model_name} does not detect: {', '.join(unknown)}.")
    if not classes and not allow_empty:
        raise ValidationError("Choose at least one object class.")
    return list(dict.fromkeys(classes))


_OBJECT_SETTING_KEYS = {"min_confidence", "min_area", "max_area"}


def clean_object_settings(value: Any, model_name: str) -> dict[str, dict[str, float]]:
    """Per-object filters: ``{"person": {"min_confidence": 0.5, "min_area": 0.0, "max_area": 1.0}}``."""
    if not isinstance(value, dict):
        raise ValidationError("Object settings must map class names to their settings.")
    clean_object_classes(list(value), model_name, allow_empty=True)
    cleaned: dict[str, dict[str, float]] = {}
    for name, settings_ in value.items():
        if not isinstance(settings_, dict) or set(settings_) - _OBJECT_SETTING_KEYS:
            raise ValidationError(f"{name}: settings are min_confidence, min_area and max_area (numbers from 0 to 1).")
        numbers = {"min_confidence": 0.0, "min_area": 0.0, "max_area": 1.0}
        for key, number in settings_.items():
            if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number <= 1:
                raise ValidationError(f"{name}: {key} must be a number from 0 to 1.")
            numbers[key] = float(number)
        if numbers["min_area"] > numbers["max_area"]:
            raise ValidationError(f"{name}: min_area is larger than max_area.")
        cleaned[name] = numbers
    return cleaned


def clean_points(points: Any, kind: str) -> list[list[float]]:
    """Normalised points of a zone, mask (polygon) or line, checked for shape problems."""
    if not isinstance(points, list) or not all(
        isinstance(p, list | tuple) and len(p) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
        for p in points
    ):
        raise ValidationError("Points must be a list of [x, y] pairs of numbers.")
    cleaned = [[float(x), float(y)] for x, y in points]
    problems = line_problems(cleaned) if kind == "line" else polygon_problems(cleaned)
    if problems:
        raise ValidationError(problems)
    return cleaned


def clean_schedule(windows: Any, timezone: str) -> list[dict[str, Any]]:
    if windows in (None, []):
        return []
    if not isinstance(windows, list):
        raise ValidationError("A schedule is a list of {days, start, end} windows.")
    try:
        Schedule.from_json(windows, timezone)
    except (ValueError, TypeError, KeyError) as err:
        raise ValidationError(f"Schedule: {err}") from err
    return windows


def clean_mqtt_topic(topic: str) -> str:
    topic = (topic or "").strip()
    if topic and ("+" in topic or "#" in topic or "" in topic.split("/") or len(topic) > 200):
        raise ValidationError("An MQTT topic to publish to has no wildcards (+, #) and no empty levels.")
    return topic


# Which kind of region each trigger works on; None: the whole frame is allowed.
TRIGGER_AREAS: dict[str, tuple[set[str], bool]] = {
    "seen": ({"zone"}, True),
    "enter": ({"zone"}, False),
    "leave": ({"zone"}, False),
    "loiter": ({"zone"}, True),
    "cross": ({"line"}, False),
    "count": ({"zone"}, True),
    "absence": ({"zone"}, True),
}


def rule_problems(data: dict[str, Any], camera: Camera) -> dict[str, str]:
    """Cross-field checks of a rule; field name → message. Per-field checks run before."""
    problems: dict[str, str] = {}
    trigger = data.get("trigger", "seen")
    region = data.get("region")
    kinds, whole_frame = TRIGGER_AREAS[trigger]
    if region is None and not whole_frame:
        problems["region"] = f"A “{trigger}” rule needs a {' or '.join(sorted(kinds))}."
    elif region is not None and region.camera_id != camera.pk:
        problems["region"] = f"“{region.name}” belongs to another camera."
    elif region is not None and region.kind not in kinds:
        problems["region"] = f"A “{trigger}” rule works on a {' or '.join(sorted(kinds))}, not a {region.kind}."
    if trigger in ("loiter", "absence") and not data.get("duration_seconds"):
        problems["duration_seconds"] = f"Say how many seconds a “{trigger}” rule waits (more than 0)."
    if data.get("webhook_url") and not data["webhook_url"].startswith(("http://", "https://")):
        problems["webhook_url"] = "A webhook URL starts with http:// or https://."
    return problems
