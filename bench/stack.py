"""A real StreamHost on the bench database, for the benchmarks that need one."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from bench.common import MEDIA
from cameras.models import Camera
from cameras.services import add_camera
from vision.redis_client import get_redis
from workers.pipeline.detector import Detector
from workers.stream_host import StreamHost


def fresh_cameras(count: int, video: Path, *, detect_fps: float) -> list[int]:
    """Replace the bench database's cameras with ``count`` cameras on ``video``."""
    Camera.objects.all().delete()
    return [add_camera(name=f"bench {i}", stream_url=str(video), detect_fps=detect_fps).pk for i in range(count)]


@contextlib.contextmanager
def running_host(detector: Detector, **options: Any) -> Iterator[StreamHost]:
    from workers.runtime import inference_threads, tune_for_streams

    tune_for_streams()  # as the stream worker does
    get_redis().flushdb()  # the bench's own Redis: no leases left from an earlier run
    options.setdefault("inference_threads", inference_threads())
    options.setdefault("decode_threads", settings.VIGIL_DECODE_THREADS)
    options.setdefault("capacity", 64)
    host = StreamHost(
        detector=detector,
        redis_client=get_redis(),
        media_root=settings.MEDIA_ROOT,
        video_dir=MEDIA,
        worker_id="bench",
        config_poll_s=1.0,
        **options,
    )
    host.start()
    try:
        yield host
    finally:
        host.stop()
