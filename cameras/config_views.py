"""The camera's Configure page: zones, lines and masks drawn on its picture, and its rules.

The page is rendered once; everything it changes goes through the REST API
(/api/regions/, /api/rules/), so the page and API clients obey the same validation.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from cameras.api import RegionSerializer, RuleSerializer
from cameras.models import Camera, Region, Rule, Severity
from cameras.validation import TRIGGER_AREAS, class_names_of


def _choices(choices: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"value": value, "label": str(label)} for value, label in choices]


def configure_data(camera: Camera) -> dict[str, Any]:
    """What the page's scripts start from (sent as JSON through ``json_script``)."""
    return {
        "camera": {
            "id": camera.pk,
            "name": camera.name,
            "timezone": camera.timezone,
            "model_name": camera.model_name,
            "frame_width": camera.frame_width,
            "frame_height": camera.frame_height,
        },
        "regions": RegionSerializer(camera.regions.all(), many=True).data,
        "rules": RuleSerializer(camera.rules.all().order_by("name"), many=True).data,
        "class_names": list(class_names_of(camera.model_name)),
        "trigger_areas": {
            trigger: {"kinds": sorted(kinds), "whole_frame": whole_frame}
            for trigger, (kinds, whole_frame) in TRIGGER_AREAS.items()
        },
        "urls": {
            "snapshot": reverse("camera-snapshot", args=[camera.pk]),
            "regions": reverse("region-list"),
            "rules": reverse("rule-list"),
            "preview": reverse("rule-preview"),
        },
    }


@permission_required("cameras.change_camera", raise_exception=True)
def camera_configure(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(Camera, pk=pk)
    context = {
        "camera": camera,
        "config": configure_data(camera),
        "class_names": class_names_of(camera.model_name),
        "triggers": Rule.Trigger.choices,
        "anchors": Rule.Anchor.choices,
        "severities": Severity.choices,
        "region_kinds": Region.Kind.choices,
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    }
    return render(request, "cameras/configure.html", context)
