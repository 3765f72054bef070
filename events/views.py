"""Operator pages: the live dashboard, the newest frame per camera, stored snapshots."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from cameras.models import Camera
from events.live import load_frame
from events.models import Event
from events.payloads import event_payload
from vision.redis_client import get_redis


@permission_required("events.view_event", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    recent = Event.objects.select_related("camera", "detection")[:50]
    return render(
        request,
        "events/dashboard.html",
        {"cameras": Camera.objects.filter(enabled=True), "events": [event_payload(e, e.camera.name) for e in recent]},
    )


@never_cache
@permission_required("cameras.view_camera", raise_exception=True)
def live_frame(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(Camera, pk=pk)
    jpeg = load_frame(get_redis(), camera.pk)
    if jpeg is None:
        return HttpResponse(status=204)
    return HttpResponse(jpeg, content_type="image/jpeg")


@permission_required("events.view_event", raise_exception=True)
def media(request: HttpRequest, path: str) -> FileResponse:
    """Snapshots are evidence: served only to signed-in users allowed to see events."""
    root = Path(settings.MEDIA_ROOT).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise Http404("No such media file")
    return FileResponse(target.open("rb"))
