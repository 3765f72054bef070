"""Camera pages: list with live status, add, edit, delete."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cameras.forms import CameraForm
from cameras.models import Camera
from cameras.services import add_camera
from events.publisher import publish_camera_changed


@permission_required("cameras.view_camera", raise_exception=True)
def camera_list(request: HttpRequest) -> HttpResponse:
    can_change = request.user.has_perm("cameras.add_camera")
    form = CameraForm() if can_change else None
    return render(
        request,
        "cameras/list.html",
        {"cameras": Camera.objects.all(), "form": form, "video_dir": settings.VIGIL_VIDEO_DIR},
    )


@require_POST
@permission_required("cameras.add_camera", raise_exception=True)
def camera_add(request: HttpRequest) -> HttpResponse:
    form = CameraForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "cameras/list.html",
            {"cameras": Camera.objects.all(), "form": form, "video_dir": settings.VIGIL_VIDEO_DIR},
            status=400,
        )
    camera = add_camera(**form.cleaned_data)
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
    return render(request, "cameras/edit.html", {"camera": camera, "form": form}, status=400 if form.errors else 200)


@require_POST
@permission_required("cameras.delete_camera", raise_exception=True)
def camera_delete(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(Camera, pk=pk)
    name = camera.name
    camera.delete()
    publish_camera_changed(pk)
    messages.success(request, f"Camera “{name}” deleted.")
    return redirect("camera-index")
