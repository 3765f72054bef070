"""Camera pages: list with live status, add, edit, enable/disable, delete."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cameras.access import visible_cameras
from cameras.forms import CameraForm, timezone_names
from cameras.models import Camera, CameraStatus
from cameras.services import add_camera
from events.publisher import publish_camera_changed


def _form_context(form: CameraForm) -> dict[str, Any]:
    return {"form": form, "timezones": timezone_names(), "video_dir": settings.VIGIL_VIDEO_DIR}


def _list(request: HttpRequest, form: CameraForm | None, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "cameras": visible_cameras(request.user),
        "status_labels": dict(CameraStatus.choices),
        "form": form,
    }
    if form is not None:
        context.update(_form_context(form))
    return render(request, "cameras/list.html", context, status=status)


@permission_required("cameras.view_camera", raise_exception=True)
def camera_list(request: HttpRequest) -> HttpResponse:
    return _list(request, CameraForm() if request.user.has_perm("cameras.add_camera") else None)


@require_POST
@permission_required("cameras.add_camera", raise_exception=True)
def camera_add(request: HttpRequest) -> HttpResponse:
    form = CameraForm(request.POST)
    if not form.is_valid():
        return _list(request, form, status=400)
    values = form.model_values()
    camera = add_camera(name=values.pop("name"), stream_url=values.pop("stream_url"), **values)
    publish_camera_changed(camera.pk)
    messages.success(request, f"Camera “{camera.name}” added. A stream worker will connect within seconds.")
    return redirect("camera-index")


@permission_required("cameras.change_camera", raise_exception=True)
def camera_edit(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(Camera, pk=pk)
    form = CameraForm(request.POST or None, instance=camera)
    if request.method == "POST" and form.is_valid():
        form.save()
        publish_camera_changed(camera.pk)
        messages.success(request, f"Camera “{camera.name}” saved.")
        return redirect("camera-index")
    context = {"camera": camera, **_form_context(form)}
    return render(request, "cameras/edit.html", context, status=400 if form.errors else 200)


@require_POST
@permission_required("cameras.change_camera", raise_exception=True)
def camera_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable or disable a camera: a disabled camera keeps its settings but no worker runs it."""
    camera = get_object_or_404(Camera, pk=pk)
    camera.enabled = not camera.enabled
    camera.save(update_fields=["enabled", "updated_at"])
    publish_camera_changed(camera.pk)
    state = "enabled" if camera.enabled else "disabled"
    messages.success(request, f"Camera “{camera.name}” {state}.")
    return redirect("camera-index")


@require_POST
@permission_required("cameras.delete_camera", raise_exception=True)
def camera_delete(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(Camera, pk=pk)
    name = camera.name
    camera.delete()
    publish_camera_changed(pk)
    messages.success(request, f"Camera “{name}” deleted.")
    return redirect("camera-index")
