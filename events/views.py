"""Operator pages: the live dashboard, one event and its evidence, live frames, stored snapshots."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from cameras.access import can_see, visible_cameras
from cameras.models import Camera, Rule
from events.handling import EVENT_RELATED, HANDLE_PERMISSION
from events.live import annotated_jpeg, load_frame
from events.models import Detection, Event
from events.payloads import action_payload, event_payload, snapshot_url, user_ref
from events.ranges import file_response
from vision.redis_client import get_redis


FEED_INITIAL = 50


def operator_config(request: HttpRequest) -> dict[str, Any]:
    """What the operator pages' scripts need about the signed-in user (json_script, never HTML)."""
    return {"user": user_ref(request.user), "can_handle": request.user.has_perm(HANDLE_PERMISSION)}


@permission_required("events.view_event", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The live wall and the alert feed (static/js/dashboard.js, static/js/wall/)."""
    cameras = list(visible_cameras(request.user).order_by("name", "pk"))
    visible = Event.objects.filter(camera__in=cameras)
    # The back-fill cursor, read before the newest events: an event committed in between is
    # then above the cursor (the feed asks the API for it) rather than lost below it.
    last_id = visible.aggregate(last=Max("pk"))["last"] or 0
    alerted = visible.alerted().select_related(*EVENT_RELATED)  # as the feed loads and back-fills them
    recent = [event_payload(e, e.camera.name) for e in alerted[:FEED_INITIAL]]
    rules = list(Rule.objects.filter(camera__in=cameras).select_related("camera").order_by("camera__name", "name", "pk"))
    config = {
        **operator_config(request),
        "cameras": [{"id": c.pk, "name": c.name, "enabled": c.enabled} for c in cameras],
        "rules": [{"id": r.pk, "name": r.name, "camera_id": r.camera_id, "camera_name": r.camera.name} for r in rules],
        "last_id": last_id,
    }
    return render(request, "events/dashboard.html", {
        "cameras": [c for c in cameras if c.enabled],
        "all_cameras": cameras,
        "rules": rules,
        "events": recent,
        "wall_config": config,
    })


@never_cache
@permission_required("cameras.view_camera", raise_exception=True)
def live_frame(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(visible_cameras(request.user), pk=pk)
    blob = load_frame(get_redis(), camera.pk)
    if blob is None:
        return HttpResponse(status=204)
    return HttpResponse(annotated_jpeg(blob), content_type="image/jpeg")


@permission_required("events.view_event", raise_exception=True)
def media(request: HttpRequest, path: str) -> HttpResponse:
    """Snapshots are evidence: served only to signed-in users allowed to see events, and
    only of the cameras they may see (the workers write ``<kind>/<camera id>/...``)."""
    root = Path(settings.MEDIA_ROOT).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise Http404("No such media file")
    parts = target.relative_to(root).parts
    if len(parts) > 2 and parts[1].isdigit() and not can_see(request.user, int(parts[1])):
        raise Http404("No such media file")
    return file_response(request, target)  # ranges: the clip player seeks


# --- The event page ------------------------------------------------------------------------

# Irregular plurals among the COCO classes; the rest take "s" or "es".
_PLURALS = {"person": "people", "mouse": "mice", "knife": "knives", "sheep": "sheep", "skis": "skis"}
TRACK_WINDOW = timedelta(minutes=10)
TRACK_ROWS_BEFORE = 40
TRACK_ROWS_AFTER = 10


def plural(name: str, count: int) -> str:
    if count == 1 or not name:
        return name or ("object" if count == 1 else "objects")
    if name in _PLURALS:
        return _PLURALS[name]
    if name.endswith(("s", "sh", "ch", "x")):
        return name + "es"
    return name + "s"


def duration_text(seconds: float) -> str:
    """42 s, 90 s, 2 min 5 s, 1 h 3 min: seconds up to two minutes, as rule durations are typed."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def explain(event: Event, tz: ZoneInfo) -> str:
    """“Why this fired”, in plain words, from the event's evidence (docs/rules-contract.md).

    Tolerant of missing keys: evidence is whatever the engine stored, and events from
    before the rule engine have none at all.
    """
    evidence: dict[str, Any] = event.evidence if isinstance(event.evidence, dict) else {}
    trigger = str(evidence.get("trigger") or (event.rule.trigger if event.rule else "seen"))
    area = evidence.get("area") if isinstance(evidence.get("area"), dict) else None
    where = f"“{area.get('name', '')}”" if area else ""
    at_captured = event.captured_at.timestamp()

    def clock(key: str | None = None, value: Any = None) -> str:
        t = _number(value if key is None else evidence.get(key))
        return datetime.fromtimestamp(t if t is not None else at_captured, tz).strftime("%H:%M:%S")

    classes = list(event.rule.object_classes) if event.rule else []
    what = event.class_name or (classes[0] if len(classes) == 1 else "")
    subject = (what or "object").capitalize()

    if trigger == "cross":
        found = evidence.get("crossing")
        crossing: dict[str, Any] = found if isinstance(found, dict) else {}
        arrow = {"a_to_b": " A→B", "b_to_a": " B→A"}.get(str(crossing.get("direction")), "")
        return f"{subject} crossed {where or 'the line'}{arrow} at {clock(None, crossing.get('at'))}"
    if trigger == "loiter":
        dwell = _number(evidence.get("dwell_s"))
        entered = evidence.get("entered_at")
        stayed = f" {duration_text(dwell)}" if dwell is not None else " too long"
        started = f" (from {clock('entered_at')})" if _number(entered) is not None else ""
        return f"{subject} stayed in {where or 'the picture'}{stayed}{started}"
    if trigger == "enter":
        return f"{subject} entered {where or 'the picture'} at {clock('entered_at')}"
    if trigger == "leave":
        return f"{subject} left {where or 'the picture'} at {clock('left_at')}"
    if trigger == "count":
        count = int(_number(evidence.get("count")) or len(evidence.get("counted") or []) or 0)
        since = _number(evidence.get("since"))
        held = f" for {duration_text(at_captured - since)}" if since is not None else ""
        noun = plural(what, count) if what else ("object" if count == 1 else "objects")
        return f"{count} {noun} in {where or 'the picture'}{held}"
    if trigger == "absence":
        empty_since = _number(evidence.get("empty_since"))
        if empty_since is not None:
            return (f"{where or 'The picture'} empty for {duration_text(at_captured - empty_since)}"
                    f" (since {clock('empty_since')})")
        return f"{where or 'The picture'} empty"
    place = f" in {where}" if where else ""
    return f"{subject} seen{place} at {clock()} ({event.confidence:.0%} sure)"


def _normalised_box(event: Event) -> list[float] | None:
    """The event's box as fractions of the frame: the evidence's, else its detection's."""
    box = event.evidence.get("box") if isinstance(event.evidence, dict) else None
    if isinstance(box, list) and len(box) == 4 and all(_number(v) is not None for v in box):
        return [float(v) for v in box]
    d = event.detection
    if d is not None and d.frame_width and d.frame_height:
        w, h = d.frame_width, d.frame_height
        return [d.x1 / w, d.y1 / h, d.x2 / w, d.y2 / h]
    return None


def track_detections(event: Event) -> list[Detection]:
    """Detections of the event's track around the event time, oldest first."""
    if event.track_id is None:
        return []
    same_track = Detection.objects.filter(camera_id=event.camera_id, track_id=event.track_id)
    t = event.captured_at
    before = same_track.filter(captured_at__lte=t, captured_at__gte=t - TRACK_WINDOW).order_by("-captured_at", "-id")
    after = same_track.filter(captured_at__gt=t, captured_at__lte=t + TRACK_WINDOW).order_by("captured_at", "id")
    return [*reversed(before[:TRACK_ROWS_BEFORE]), *after[:TRACK_ROWS_AFTER]]


def _camera_tz(camera: Camera) -> ZoneInfo:
    try:
        return ZoneInfo(camera.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@permission_required("events.view_event", raise_exception=True)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visible = Event.objects.filter(camera__in=visible_cameras(request.user))
    event = get_object_or_404(visible.select_related(*EVENT_RELATED, "rule"), pk=pk)
    tz = _camera_tz(event.camera)
    evidence = event.evidence if isinstance(event.evidence, dict) else {}
    detections = track_detections(event)
    frame = [event.detection.frame_width, event.detection.frame_height] if event.detection else None
    context = {
        "event": event,
        "camera": event.camera,
        "rule": event.rule,
        "why": explain(event, tz),
        "tz_name": str(tz),  # the template shows every time in the camera's timezone
        "schedule": evidence.get("schedule") if isinstance(evidence.get("schedule"), str) else "",
        "detections": detections,
        "drawing": {
            "snapshot_url": snapshot_url(event.snapshot),
            "evidence": evidence,
            "box": _normalised_box(event),
            "frame_size": frame,
        },
        # Handling, history and the clip: rendered by event.js and kept live over /ws/events/.
        "live": {
            **operator_config(request),
            "event": event_payload(event, event.camera.name),
            "history": [action_payload(a) for a in event.actions.select_related("user", "assignee")],
        },
    }
    return render(request, "events/event.html", context)
