"""Celery tasks of the task worker and beat. Thin: they call services."""
from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings

from events.actions import DeliveryResult, deliver_mqtt, deliver_webhook, enqueue_pending_actions
from workers.services import mark_orphaned_cameras


@shared_task(name="workers.mark_orphaned_cameras", ignore_result=True)
def mark_orphaned_cameras_task() -> int:
    return mark_orphaned_cameras()


@shared_task(name="workers.enqueue_pending_actions", ignore_result=True)
def enqueue_pending_actions_task() -> int:
    return enqueue_pending_actions()


def _retry_or_return(task: Task, result: DeliveryResult) -> dict[str, Any]:
    """The service decided whether and when to try again; Celery schedules it."""
    if result.outcome == "retry" and result.retry_in_s is not None:
        raise task.retry(countdown=result.retry_in_s, max_retries=settings.VIGIL_ACTION_MAX_ATTEMPTS - 1)
    return result.as_dict()


@shared_task(name="workers.deliver_webhook", bind=True, ignore_result=True)
def deliver_webhook_task(self: Task, event_id: int) -> dict[str, Any]:
    return _retry_or_return(self, deliver_webhook(event_id, attempt=self.request.retries + 1))


@shared_task(name="workers.publish_mqtt", bind=True, ignore_result=True)
def publish_mqtt_task(self: Task, event_id: int) -> dict[str, Any]:
    return _retry_or_return(self, deliver_mqtt(event_id, attempt=self.request.retries + 1))
