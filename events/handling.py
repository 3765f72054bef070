"""Operators handling events: acknowledge, assign, note, escalate, resolve, dismiss, reopen.

Each action locks the event row, checks the transition, writes one :class:`EventAction`
(the history) and, after commit, tells every socket allowed to see the camera
(``event.updated`` with the new event and the action). Repeating an action that is
already done (acknowledging an acknowledged event, resolving a resolved one) changes
nothing, writes no history and returns ``None`` as the action: two operators who click
at the same moment both succeed, and the history says who was first.

Status transitions::

    new ──acknowledge──► acknowledged
    new | acknowledged ──resolve──► resolved
    new | acknowledged ──dismiss──► dismissed  (false alarm: review picks these up)
    resolved | dismissed ──reopen──► acknowledged

Assign, unassign and escalate need an open event (new or acknowledged); notes are always
allowed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cameras.access import can_see, sees_all_cameras
from cameras.models import Camera
from events.models import OPEN_STATUSES, Event, EventAction, EventStatus
from events.payloads import action_payload, event_payload
from events.publisher import publish_event_updated

log = logging.getLogger(__name__)

Kind = EventAction.Kind
HANDLE_PERMISSION = "events.change_event"
EVENT_RELATED = ("camera", "detection", "acknowledged_by", "assigned_to", "resolved_by")


class HandlingError(Exception):
    """An action that does not apply to the event as it is now; the message is for people."""


class AssigneeError(HandlingError):
    """The event cannot be assigned to that user (they may not handle its camera)."""


@dataclass(frozen=True)
class Handled:
    event: Event
    action: EventAction | None  # None: nothing to do, the event already was that way


def may_handle(user: Any, camera_id: int) -> bool:
    return bool(user.is_active and user.has_perm(HANDLE_PERMISSION) and can_see(user, camera_id))


def handlers_of(camera: Camera) -> list[Any]:
    """Active users who may handle the camera's events: whom an event can be assigned to."""
    users = get_user_model().objects.filter(is_active=True).prefetch_related("groups").order_by("username")
    restricted = set(camera.access_groups.values_list("id", flat=True))
    found = []
    for user in users:
        if not user.has_perm(HANDLE_PERMISSION):
            continue
        if not restricted or sees_all_cameras(user) or restricted & {g.pk for g in user.groups.all()}:
            found.append(user)
    return found


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


# Actions that are done already when the event has one of these statuses.
_ALREADY: dict[Any, tuple[Any, ...]] = {Kind.ACKNOWLEDGE: (EventStatus.ACKNOWLEDGED,), Kind.RESOLVE: (EventStatus.RESOLVED,),
            Kind.DISMISS: (EventStatus.DISMISSED,)}
_HANDLING_FIELDS = ["status", "acknowledged_by", "acknowledged_at", "assigned_to", "escalation",
                    "resolved_by", "resolved_at", "updated_at"]


def _apply(event: Event, user: Any, kind: str, assignee: Any) -> bool:
    """Change ``event`` in memory for ``kind``; False when there is nothing to change."""
    now = timezone.now()
    is_open = event.status in OPEN_STATUSES
    if kind == Kind.NOTE:
        return True
    if kind == Kind.REOPEN:
        if is_open:
            return False
        event.status = EventStatus.ACKNOWLEDGED
        event.resolved_by, event.resolved_at = None, None
        if event.acknowledged_by_id is None:
            event.acknowledged_by, event.acknowledged_at = user, now
        return True
    if event.status in _ALREADY.get(kind, ()) or (kind == Kind.ACKNOWLEDGE and not is_open):
        return False
    if not is_open:
        raise HandlingError(f"event {event.pk} is {event.get_status_display().lower()}: reopen it first")
    if kind == Kind.ACKNOWLEDGE:
        event.status, event.acknowledged_by, event.acknowledged_at = EventStatus.ACKNOWLEDGED, user, now
    elif kind in (Kind.ASSIGN, Kind.UNASSIGN):
        if (assignee.pk if assignee else None) == event.assigned_to_id:
            return False
        event.assigned_to = assignee
    elif kind == Kind.ESCALATE:
        event.escalation += 1
        if assignee is not None:
            event.assigned_to = assignee
    elif kind in (Kind.RESOLVE, Kind.DISMISS):
        event.status = EventStatus.RESOLVED if kind == Kind.RESOLVE else EventStatus.DISMISSED
        event.resolved_by, event.resolved_at = user, now
    else:
        raise ValueError(f"unknown action {kind!r}")
    return True


def handle(event_id: int, user: Any, kind: str, *, note: str = "", assignee: Any = None) -> Handled:
    """Apply one action by ``user`` (who must be allowed to handle the event's camera).

    ``assignee`` is for assign (``None``: unassign) and, optionally, escalate (escalate to
    someone). Raises :class:`HandlingError` for a transition that does not apply, or an
    assignee who may not handle the camera; ``Event.DoesNotExist`` for an unknown event.
    """
    if kind == Kind.ASSIGN and assignee is None:
        kind = str(Kind.UNASSIGN)
    if kind == Kind.NOTE and not note.strip():
        raise HandlingError("a note needs some text")
    with transaction.atomic():
        event = Event.objects.select_for_update(of=("self",)).select_related(*EVENT_RELATED).get(pk=event_id)
        if assignee is not None and not may_handle(assignee, event.camera_id):
            raise AssigneeError(f"{assignee.get_username()} may not handle events of {event.camera.name}")
        if not _apply(event, user, kind, assignee):
            return Handled(event, None)
        event.save(update_fields=_HANDLING_FIELDS)  # not the clip's: the worker writes those
        action = EventAction.objects.create(
            event=event, action=kind, user=user, user_name=_name(user), assignee=assignee,
            assignee_name=_name(assignee) if assignee is not None else "", note=note.strip(),
            status=event.status, escalation=event.escalation,
        )
        payload, change = event_payload(event, event.camera.name), action_payload(action)
        transaction.on_commit(lambda: publish_event_updated(payload, change), robust=True)
    log.info("event handled", extra={
        "event_id": event.pk, "camera_id": event.camera_id, "action": kind, "user": user.get_username(),
        "status": event.status,
    })
    return Handled(event, action)
