"""Tell open sockets when who-sees-which-camera changes: a user's groups or a camera's access groups.

Sockets then re-read what their user may see (``events.consumers``), so a user taken out
of a group stops receiving that group's cameras at once, not at their next reconnect.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed

from cameras.models import Camera
from events.publisher import publish_access_changed

_CHANGES = {"post_add", "post_remove", "post_clear"}


def _camera_access_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in _CHANGES:
        transaction.on_commit(publish_access_changed, robust=True)


def _user_groups_changed(sender: Any, instance: Any, action: str, reverse: bool, **kwargs: Any) -> None:
    if action in _CHANGES:
        user_id = None if reverse else instance.pk  # reverse: users added to a group, from the group's side
        transaction.on_commit(lambda: publish_access_changed(user_id), robust=True)


def connect() -> None:
    m2m_changed.connect(_camera_access_changed, sender=Camera.access_groups.through, dispatch_uid="vigil-camera-access")
    m2m_changed.connect(_user_groups_changed, sender=get_user_model().groups.through, dispatch_uid="vigil-user-groups")
