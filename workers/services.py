"""Stream bookkeeping done outside the stream workers."""
from __future__ import annotations

from cameras.models import Camera, CameraStatus
from vision.redis_client import get_redis
from workers.leases import lease_key


def mark_orphaned_cameras() -> int:
    """Say so on cameras no worker holds, and on disabled ones; return how many changed."""
    changed = Camera.objects.filter(enabled=False).exclude(status=CameraStatus.DISABLED).update(
        status=CameraStatus.DISABLED, status_detail="", worker="", decoded_fps=0, processed_fps=0
    )
    client = get_redis()
    for camera in Camera.objects.filter(enabled=True).exclude(status=CameraStatus.UNASSIGNED).only("id"):
        if not client.exists(lease_key(camera.pk)):
            changed += Camera.objects.filter(pk=camera.pk).update(
                status=CameraStatus.UNASSIGNED,
                status_detail="no stream worker has claimed this camera",
                worker="",
                decoded_fps=0,
                processed_fps=0,
            )
    return changed
