"""What reviewers do: correct items (one or many at once), add missed objects, undo, lift suppressions.

Every change runs in one transaction with the items locked, so two reviewers on the
same item are serialised and undo always restores the state its correction replaced.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, Value
from django.utils import timezone
from pgvector.django import CosineDistance

from events.actions import enqueue_actions
from events.handling import EVENT_RELATED
from events.payloads import event_payload
from events.publisher import publish_event
from review.embedding import box_embedding
from review.models import BULK_ACTIONS, ITEM_ACTIONS, Action, Correction, ItemStatus, ReviewItem, Suppression

log = logging.getLogger(__name__)

Box = list[float]


class ReviewConflict(Exception):
    """The change would overwrite a later one; the message says which."""

    def __init__(self, message: str, item_ids: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.item_ids = list(item_ids)


def _new_state(item: ReviewItem, action: str, class_name: str | None, box: Box | None) -> dict[str, Any]:
    state = item.state()
    state.update(status=str(ItemStatus.REVIEWED), verdict=action)
    if action == Action.RELABEL:
        state["class_name"] = class_name
    if box is not None and action in (Action.RELABEL, Action.ADJUST_BOX):
        state["box"] = [float(v) for v in box]
    return state


def _apply(item: ReviewItem, state: dict[str, Any]) -> None:
    item.status, item.verdict = state["status"], state["verdict"]
    item.label, item.box = state["class_name"], state["box"]
    item.reviewed_at = timezone.now() if item.status == ItemStatus.REVIEWED else None
    item.save(update_fields=["status", "verdict", "label", "box", "reviewed_at"])


def _correct_locked(
    item: ReviewItem, user: AbstractBaseUser, action: str, *,
    class_name: str | None, box: Box | None, note: str, batch: uuid.UUID | None,
) -> Correction:
    before = item.state()
    after = _new_state(item, action, class_name, box)
    vector, (model, version) = box_embedding(item, after["box"])
    correction = Correction.objects.create(
        item=item, camera_id=item.camera_id, class_name=item.class_name, reviewer=user, action=action,
        before=before, after=after, note=note, embedding=vector, embedding_model=model,
        embedding_version=version, batch=batch,
    )
    _apply(item, after)
    return correction


@transaction.atomic
def correct(
    item_id: int, user: AbstractBaseUser, action: str, *,
    class_name: str | None = None, box: Box | None = None, note: str = "",
) -> Correction:
    """Confirm, reject, relabel (``class_name``, optionally ``box``) or adjust the box of an item.

    The correction's embedding is that of the item's box after it (see :mod:`review.embedding`).
    """
    if action not in ITEM_ACTIONS:
        raise ValueError(f"{action!r} is not an item correction")
    item = ReviewItem.objects.select_for_update(of=("self",)).select_related("detection").get(pk=item_id)
    correction = _correct_locked(item, user, action, class_name=class_name, box=box, note=note, batch=None)
    log.info("item corrected", extra={"item_id": item.pk, "action": action, "correction_id": correction.pk})
    return correction


@transaction.atomic
def add_missed(item_id: int, user: AbstractBaseUser, class_name: str, box: Box, note: str = "") -> Correction:
    """An object the detector missed in the item's frame; the item itself keeps its verdict."""
    item = ReviewItem.objects.select_related("detection").get(pk=item_id)
    box = [float(v) for v in box]
    vector, (model, version) = box_embedding(item, box)
    correction = Correction.objects.create(
        item=item, camera_id=item.camera_id, class_name=class_name, reviewer=user, action=Action.ADD_MISSED,
        before=None, after={"class_name": class_name, "box": box}, note=note, embedding=vector,
        embedding_model=model, embedding_version=version,
    )
    log.info("missed object added", extra={"item_id": item.pk, "correction_id": correction.pk})
    return correction


@transaction.atomic
def bulk_correct(
    item_ids: Sequence[int], user: AbstractBaseUser, action: str, *, class_name: str | None = None, note: str = ""
) -> tuple[uuid.UUID, list[Correction]]:
    """The same correction on many items (confirm, reject, relabel), undone together by its batch id."""
    if action not in BULK_ACTIONS:
        raise ValueError(f"{action!r} cannot be applied in bulk")
    batch = uuid.uuid4()
    items = ReviewItem.objects.select_for_update(of=("self",)).select_related("detection").filter(
        pk__in=item_ids
    ).order_by("pk")
    corrections = [
        _correct_locked(item, user, action, class_name=class_name, box=None, note=note, batch=batch) for item in items
    ]
    log.info("bulk correction", extra={"batch": str(batch), "action": action, "items": len(corrections)})
    return batch, corrections


def _later_active(corrections: Sequence[Correction]) -> list[int]:
    """Items of ``corrections`` with an active item correction made after theirs (and not among them)."""
    undoing = [c for c in corrections if c.action != Action.ADD_MISSED]
    newest_other: dict[int, int] = {}
    for item_id, pk in (
        Correction.objects.filter(item_id__in={c.item_id for c in undoing}, undone_at__isnull=True,
                                  action__in=ITEM_ACTIONS)
        .exclude(pk__in=[c.pk for c in corrections])
        .values_list("item_id", "pk")
    ):
        newest_other[item_id] = max(pk, newest_other.get(item_id, 0))
    return sorted({c.item_id for c in undoing if newest_other.get(c.item_id, 0) > c.pk})


def _undo_locked(corrections: list[Correction], user: AbstractBaseUser) -> None:
    now = timezone.now()
    left_review: list[ReviewItem] = []
    for correction in sorted(corrections, key=lambda c: c.pk, reverse=True):
        correction.undone_at, correction.undone_by = now, user
        correction.save(update_fields=["undone_at", "undone_by"])
        if correction.action == Action.ADD_MISSED or correction.before is None:
            continue
        item = correction.item
        was_reviewed = item.status == ItemStatus.REVIEWED
        _apply(item, correction.before)
        if was_reviewed and item.status != ItemStatus.REVIEWED:
            left_review.append(item)
    for item in left_review:
        forget_novelty_near(item)


@transaction.atomic
def undo(correction_id: int, user: AbstractBaseUser) -> Correction:
    """Undo one correction: its item gets back the state the correction replaced.

    Raises:
        ReviewConflict: it is undone already, or a later correction of the same item is
            active (undo that one first).
    """
    correction = Correction.objects.select_for_update(of=("self", "item")).select_related("item").get(pk=correction_id)
    if correction.undone_at is not None:
        raise ReviewConflict(f"correction {correction.pk} is undone already")
    if conflicts := _later_active([correction]):
        raise ReviewConflict("a later correction of this item is active: undo it first", conflicts)
    _undo_locked([correction], user)
    log.info("correction undone", extra={"correction_id": correction.pk, "item_id": correction.item_id})
    return correction


@transaction.atomic
def undo_batch(batch: uuid.UUID, user: AbstractBaseUser) -> int:
    """Undo every active correction of a bulk correction; how many were undone.

    Raises:
        ReviewConflict: an item of the batch was corrected again since (nothing is undone).
    """
    corrections = list(
        Correction.objects.select_for_update(of=("self", "item")).select_related("item")
        .filter(batch=batch, undone_at__isnull=True).order_by("item_id")
    )
    if conflicts := _later_active(corrections):
        raise ReviewConflict("some items were corrected again since: undo those corrections first", conflicts)
    _undo_locked(corrections, user)
    log.info("bulk correction undone", extra={"batch": str(batch), "corrections": len(corrections)})
    return len(corrections)


def forget_novelty_near(item: ReviewItem) -> None:
    """``item`` left the reviewed set: unreviewed items it was the nearest reviewed item of
    (and the item itself) get their novelty recomputed when the queue next reaches them.

    An exact scan of the unreviewed items of the same model; undo is rare enough for it.
    """
    was_nearest = Q(novelty__isnull=False, novelty__gte=CosineDistance("embedding", item.embedding) - Value(1e-6))
    ReviewItem.objects.filter(
        status=ItemStatus.UNREVIEWED, embedding_model=item.embedding_model, embedding_version=item.embedding_version
    ).filter(Q(pk=item.pk) | was_nearest).update(novelty=None)


@transaction.atomic
def lift(suppression_id: int, user: AbstractBaseUser) -> Suppression:
    """Alert a suppressed event after all: operators get it live, its rule's actions run.

    Lifting a lifted suppression changes nothing.
    """
    suppression = Suppression.objects.select_for_update(of=("self",)).select_related(
        *(f"event__{name}" for name in EVENT_RELATED), "event__rule"
    ).get(pk=suppression_id)
    if suppression.lifted_at is not None:
        return suppression
    suppression.lifted_at, suppression.lifted_by = timezone.now(), user
    suppression.save(update_fields=["lifted_at", "lifted_by"])
    event = suppression.event
    notify = event.rule is None or event.rule.notify_operators

    def alert() -> None:
        if notify:
            publish_event(event_payload(event, event.camera.name))
        enqueue_actions([event])

    transaction.on_commit(alert)
    log.info("suppression lifted", extra={"suppression_id": suppression.pk, "event_id": event.pk})
    return suppression
