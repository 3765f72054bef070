"""Reviewer pages: the review screen, find similar, suppressed events with precision.

The pages are shells: the data comes from the review API (/api/review/) in the browser.
What the server renders here is only what the filters offer (cameras, rules, classes),
escaped by the template engine, and a JSON config read by the page's ES module.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render

from cameras.access import visible_cameras
from cameras.models import Camera, Rule
from review.models import Correction, ItemStatus, Reason, ReviewItem
from workers.pipeline.catalogue import CATALOGUE

NUMBERED_CLASSES = 9
"""Classes reachable with the keys 1–9; the rest through the searchable picker."""


def class_names(items: QuerySet[ReviewItem]) -> list[str]:
    """The detectors' classes, most common among ``items`` (detected or as relabelled) first.

    Classes no item has yet follow in the model's own order, so the list always holds every
    class a relabel may choose (the API accepts only the item's model's classes).
    """
    counts: Counter[str] = Counter()
    for row in items.values("class_name").annotate(n=Count("pk")):
        counts[row["class_name"]] += row["n"]
    for row in items.exclude(label="").values("label").annotate(n=Count("pk")):
        counts[row["label"]] += row["n"]
    vocabulary: list[str] = []
    for spec in CATALOGUE.values():
        vocabulary.extend(name for name in spec.class_names if name not in vocabulary)
    position = {name: n for n, name in enumerate(vocabulary)}
    return sorted(set(counts) | set(vocabulary), key=lambda name: (-counts[name], position.get(name, len(position)), name))


def _cameras(request: HttpRequest) -> QuerySet[Camera]:
    return visible_cameras(request.user).order_by("name", "pk")


def _config(request: HttpRequest, cameras: QuerySet[Camera], **extra: Any) -> dict[str, Any]:
    """What the page's module needs, passed with ``json_script`` (never inlined as code)."""
    return {
        "api": "/api/review/",
        "csrf": get_token(request),
        "cameras": {str(c.pk): {"name": c.name, "timezone": c.timezone} for c in cameras},
        "reasons": dict(Reason.choices),
        **extra,
    }


def _filters(cameras: QuerySet[Camera], classes: list[str]) -> dict[str, Any]:
    """Options of the filter forms, rendered (and escaped) by the templates."""
    rules = Rule.objects.filter(camera__in=cameras).select_related("camera").order_by("camera__name", "name")
    return {
        "cameras": cameras,
        "rules": rules,
        "classes": classes,
        "reasons": Reason.choices,
        "statuses": ItemStatus.choices,
    }


@permission_required("review.view_reviewitem", raise_exception=True)
def review_screen(request: HttpRequest) -> HttpResponse:
    cameras = _cameras(request)
    items = ReviewItem.objects.filter(camera__in=cameras.values("pk"))
    classes = class_names(items)
    context = _filters(cameras, classes)
    context["numbered"] = classes[:NUMBERED_CLASSES]
    context["config"] = _config(
        request, cameras, classes=classes, numbered=NUMBERED_CLASSES,
        rules={str(rule.pk): rule.name for rule in context["rules"]},
        can_correct=request.user.has_perm("review.add_correction"),
        can_undo=request.user.has_perm("review.change_correction"),
    )
    return render(request, "review/review.html", context)


@permission_required("review.view_reviewitem", raise_exception=True)
def similar_page(request: HttpRequest) -> HttpResponse:
    """Items like ``?item=`` (or like ``?correction=``'s crop); 404 when the user may not see it."""
    cameras = _cameras(request)
    source: dict[str, int] = {}
    for key, model in (("item", ReviewItem), ("correction", Correction)):
        value = request.GET.get(key, "")
        if value:
            if not value.isdigit() or not model.objects.filter(pk=int(value), camera__in=cameras.values("pk")).exists():
                raise Http404(f"No such {key}.")
            source[key] = int(value)
    if len(source) != 1:
        raise Http404("Find similar needs ?item=<id> or ?correction=<id>.")
    items = ReviewItem.objects.filter(camera__in=cameras.values("pk"))
    classes = class_names(items)
    context = _filters(cameras, classes)
    context["source"] = source
    context["config"] = _config(
        request, cameras, classes=classes, source=source, can_correct=request.user.has_perm("review.add_correction")
    )
    return render(request, "review/similar.html", context)


@permission_required("review.view_suppression", raise_exception=True)
def suppressed_page(request: HttpRequest) -> HttpResponse:
    cameras = _cameras(request)
    context: dict[str, Any] = {"cameras": cameras}
    context["config"] = _config(request, cameras, can_lift=request.user.has_perm("review.change_suppression"))
    return render(request, "review/suppressed.html", context)
