"""Validation shared by the camera pages and the API, so both say the same thing."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from cameras.models import Camera
from workers.pipeline.catalogue import CATALOGUE
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
