"""The three roles (operator, reviewer, admin) as Django groups with model permissions.

Pages, the API and WebSockets all check Django permissions, so a role is exactly the
set of permissions its group holds. Groups are (re)synchronised after every migrate.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

OPERATOR = "operator"
REVIEWER = "reviewer"
ADMIN = "admin"

_OPERATOR_PERMS = [
    "cameras.view_camera",
    "cameras.view_rule",
    "cameras.view_region",
    "events.view_event",
    "events.change_event",  # acknowledge / resolve
    "events.view_detection",
]
_REVIEWER_PERMS = _OPERATOR_PERMS + [
    "events.change_detection",  # correct detections
    "review.view_reviewitem",  # the review queue, items, similar detections, precision
    "review.view_correction",
    "review.add_correction",  # confirm, reject, relabel, adjust, add missed, bulk
    "review.change_correction",  # undo
    "review.view_suppression",
    "review.change_suppression",  # lift: alert a suppressed event after all
]
_ADMIN_APPS = ("cameras", "events", "review", "auth")

ROLE_PERMISSIONS: dict[str, list[str]] = {OPERATOR: _OPERATOR_PERMS, REVIEWER: _REVIEWER_PERMS}


def _permissions(codes: list[str]) -> list[Permission]:
    found = []
    for code in codes:
        app_label, codename = code.split(".")
        found.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
    return found


def ensure_role_groups(**_: Any) -> None:
    for role, codes in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions(codes))
    admin, _created = Group.objects.get_or_create(name=ADMIN)
    admin.permissions.set(Permission.objects.filter(content_type__app_label__in=_ADMIN_APPS))


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The strongest role a user holds (superusers are admins)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    for role in (ADMIN, REVIEWER, OPERATOR):
        if role in names:
            return role
    return None
