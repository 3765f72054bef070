"""What the stream workers saw (detections) and what operators must look at (events)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.db.models import Q

from cameras.models import Camera, Rule, Severity


class Detection(models.Model):
    """One object in one processed frame. Boxes are in pixels of a frame of the stored size."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="detections")
    captured_at = models.DateTimeField()
    track_id = models.BigIntegerField(null=True, blank=True)
    class_id = models.SmallIntegerField()
    class_name = models.CharField(max_length=40)
    confidence = models.FloatField()
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    frame_width = models.PositiveIntegerField()
    frame_height = models.PositiveIntegerField()
    model_name = models.CharField(max_length=64)
    model_version = models.CharField(max_length=64)

    class Meta:
        ordering = ["-captured_at", "-id"]
        indexes = [
            models.Index(fields=["camera", "-captured_at"]),
            models.Index(fields=["camera", "track_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.class_name} {self.confidence:.2f} on {self.camera_id} at {self.captured_at:%H:%M:%S}"


class EventStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed as a false alarm"  # the review queue picks these up


OPEN_STATUSES = (EventStatus.NEW, EventStatus.ACKNOWLEDGED)


class ClipStatus(models.TextChoices):
    NONE = "none", "No clip"  # clips are off (no ffmpeg), or the event came before them
    PENDING = "pending", "Recording"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


# pg_advisory_xact_lock key ("vigilevt") taken by every transaction that inserts events.
EVENT_INSERT_LOCK = 0x76696769_6C657674


def lock_event_inserts(using: str) -> None:
    """Serialise event inserts from the id they draw to their commit.

    Ids come from a sequence, so without this two workers' transactions may commit in
    the other order than their ids: a client that saw id 101 and asks for "after 101"
    would never get 100, committed a moment later. Under this lock (held to the end of
    the transaction, and released only after the commit is visible) ids are drawn in
    commit order, so "every event with an id above the last one seen" is exact.
    """
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_INSERT_LOCK])


# Events that repeat a false positive a reviewer rejected are held back (review.Suppression
# not lifted); events of a rule that does not alert operators are stored quietly.
HELD_BACK = Q(suppression__isnull=False, suppression__lifted_at__isnull=True)
QUIET_RULE = Q(rule__isnull=False, rule__notify_operators=False)


class EventQuerySet(models.QuerySet["Event"]):
    def alerted(self) -> EventQuerySet:
        """What operators were alerted to (pushed live): the dashboard's feed, loaded or back-filled,
        shows exactly these. An event whose rule was deleted since was alerted."""
        return self.exclude(HELD_BACK).exclude(QUIET_RULE)

    def bulk_create(self, objs: Iterable[Event], *args: Any, **kwargs: Any) -> list[Event]:  # type: ignore[override]
        objs = list(objs)
        if not objs:  # nothing to order: no lock (the stream sink calls this for every batch)
            return objs
        with transaction.atomic(using=self.db, savepoint=False):
            lock_event_inserts(self.db)
            return super().bulk_create(objs, *args, **kwargs)


class Event(models.Model):
    """A rule fired on a track: what an operator is alerted about, and how it was handled.

    Ids are drawn in commit order (see :func:`lock_event_inserts`): the back-fill cursor.
    """

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="events")
    rule = models.ForeignKey(Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    rule_name = models.CharField(max_length=100)
    detection = models.ForeignKey(Detection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    track_id = models.BigIntegerField(null=True, blank=True)
    class_name = models.CharField(max_length=40)
    confidence = models.FloatField()
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.NEW)
    captured_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True, help_text="Last handling action or clip change")
    snapshot = models.CharField(max_length=300, blank=True, help_text="Annotated frame, path under MEDIA_ROOT")
    crop = models.CharField(max_length=300, blank=True, help_text="The object's crop, path under MEDIA_ROOT")
    evidence = models.JSONField(default=dict, blank=True, help_text="Why the rule fired: see docs/rules.md")
    clip = models.CharField(max_length=300, blank=True, help_text="MP4 around the event, path under MEDIA_ROOT")
    clip_status = models.CharField(max_length=8, choices=ClipStatus.choices, default=ClipStatus.NONE)
    clip_detail = models.CharField(max_length=300, blank=True, help_text="Why there is no clip, in plain words")
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_events"
    )
    escalation = models.PositiveSmallIntegerField(default=0, help_text="0: not escalated; each escalation adds one")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="Who resolved or dismissed it",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["camera", "-created_at"]), models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.rule_name} on {self.camera_id} at {self.captured_at:%H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            super().save(*args, **kwargs)
            return
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            lock_event_inserts(using)
            super().save(*args, **kwargs)


class EventAction(models.Model):
    """One handling step on an event: who did what, when. Never changed once written."""

    class Kind(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", "Acknowledged"
        ASSIGN = "assign", "Assigned"
        UNASSIGN = "unassign", "Unassigned"
        NOTE = "note", "Note"
        ESCALATE = "escalate", "Escalated"
        RESOLVE = "resolve", "Resolved"
        DISMISS = "dismiss", "Dismissed as a false alarm"
        REOPEN = "reopen", "Reopened"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=16, choices=Kind.choices)
    # The names are copied: the history keeps who it was after a user is deleted.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    user_name = models.CharField(max_length=150)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assignee_name = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=16, choices=EventStatus.choices, help_text="The event's status after it")
    escalation = models.PositiveSmallIntegerField(default=0, help_text="The event's escalation after it")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["event", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user_name} {self.action} event {self.event_id} at {self.created_at:%H:%M:%S}"


class PendingActions(models.Model):
    """The outbox of rule actions: an event whose webhook and MQTT deliveries are not in the
    task queue yet.

    Written in the transaction that stores the event, deleted once its delivery tasks are
    enqueued. When the broker (Redis) is restarting at that moment, or the worker dies right
    after the commit, the row stays, and the beat enqueues it later
    (``workers.enqueue_pending_actions``): an event that reached PostgreSQL is never left
    without its deliveries.
    """

    event = models.OneToOneField(Event, on_delete=models.CASCADE, primary_key=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"actions of event {self.event_id}, pending since {self.created_at:%H:%M:%S}"
