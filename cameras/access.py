"""Per-camera access: the one answer to "may this user see this camera?".

Pages, API querysets, media files and WebSocket consumers all ask here. A user sees a
camera when they may view cameras at all (a role) and either they are an admin, or the
camera has no access groups, or they are in one of its access groups. Admins are the users
who may change cameras (the admin role, superusers).
"""
from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from cameras.models import Camera

_Groups = Camera.access_groups.through


def sees_all_cameras(user: Any) -> bool:
    """Admins, and whoever may change cameras (a permission check: cached, no query)."""
    return bool(user.is_superuser or user.has_perm("cameras.change_camera"))


def visible_cameras(user: Any) -> QuerySet[Camera]:
    """The cameras ``user`` may see (none for anonymous users and users without a role)."""
    if user is None or not user.is_authenticated or not user.has_perm("cameras.view_camera"):
        return Camera.objects.none()
    if sees_all_cameras(user):
        return Camera.objects.all()
    restricted = _Groups.objects.filter(camera_id=OuterRef("pk"))
    allowed = restricted.filter(group_id__in=user.groups.values("id"))
    return Camera.objects.filter(~Exists(restricted) | Exists(allowed))


def visible_camera_ids(user: Any) -> set[int]:
    return set(visible_cameras(user).values_list("id", flat=True))


def can_see(user: Any, camera_id: int) -> bool:
    return visible_cameras(user).filter(pk=camera_id).exists()
