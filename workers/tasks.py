"""Celery tasks of the task worker and beat. Thin: they call services."""
from __future__ import annotations

from celery import shared_task

from workers.services import mark_orphaned_cameras


@shared_task(name="workers.mark_orphaned_cameras", ignore_result=True)
def mark_orphaned_cameras_task() -> int:
    return mark_orphaned_cameras()
