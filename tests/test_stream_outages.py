"""A running stream worker rides out real restarts of PostgreSQL and Redis.

The services are the embedded ones of the test run, stopped and started again for real
(tests/outages.py): every connection the worker had is cut, and new ones are refused
until the service is back.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from django.db import connections

from cameras.models import Camera
from cameras.services import add_camera
from events.live import load_frame, load_heartbeats, unpack_frame
from events.models import Detection, Event
from tests.outages import postgres_down, restart_redis
from tests.waiting import wait_for
from workers.runtime import build_stream_host
from workers.stream_host import StreamHost

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DETECT_FPS = 5.0


def _frames_between(camera_id: int, start: float, end: float) -> list[float]:
    """Capture times of the frames of ``camera_id`` with stored detections in [start, end]."""
    rows = (
        Detection.objects.filter(
            camera_id=camera_id,
            captured_at__gte=datetime.fromtimestamp(start, timezone.utc),
            captured_at__lte=datetime.fromtimestamp(end, timezone.utc),
        )
        .order_by()  # the model's ordering would make every row distinct
        .values_list("captured_at", flat=True)
        .distinct()
    )
    return sorted(t.timestamp() for t in rows)


def _live_frame_time(client, camera_id: int) -> float:
    blob = load_frame(client, camera_id)
    return unpack_frame(blob)[0]["captured_at"] if blob else 0.0


@pytest.fixture
def hall(settings, shared_media):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    settings.VIGIL_VIDEO_DIR = shared_media
    return add_camera(name="Hall", stream_url="vtest_480x360.avi", detect_fps=DETECT_FPS)


@dataclass
class Outage:
    """A PostgreSQL outage under a running stream host, as the test saw it."""

    host: StreamHost
    down_from: float  # time.time() when PostgreSQL went down
    down_until: float  # … and when it was started again
    written_after_s: float  # from then until the worker's next frame was stored


@contextlib.contextmanager
def postgres_outage_under_a_worker(camera: Camera, seconds: float) -> Iterator[Outage]:
    """Start a stream host, stop PostgreSQL for ``seconds`` once the camera has detections,
    and yield when the worker stores new frames again; the host stops on leaving."""
    host = build_stream_host()
    host.start()
    try:
        wait_for(lambda: Detection.objects.filter(camera=camera).exists(), 30, "the first detections")
        with postgres_down():
            down_from = time.time()
            time.sleep(seconds)
            down_until = time.time()
        back = time.monotonic()
        wait_for(lambda: _frames_between(camera.pk, down_until + 1, time.time()), 30, "detections after the restart")
        yield Outage(host, down_from, down_until, time.monotonic() - back)
    finally:
        host.stop()
        connections.close_all()


def test_what_it_saw_while_postgresql_restarted_is_written_when_it_is_back(
    hall, redis_client, media_root, caplog
):
    caplog.set_level(logging.INFO, logger="workers.sinks")
    with postgres_outage_under_a_worker(hall, 4.0) as outage:
        host, down_from, down_until, written_after_s = (
            outage.host, outage.down_from, outage.down_until, outage.written_after_s
        )
        kept = _frames_between(hall.pk, down_from + 0.5, down_until - 0.5)
        beat = wait_for(lambda: next(iter(load_heartbeats(redis_client)), None), 10, "the worker's heartbeat")
        still_held = hall.pk in host.cameras and host.leases.holder(hall.pk) == host.worker_id
    # Every frame the detector saw while the database was away reached it afterwards.
    expected = DETECT_FPS * (down_until - down_from - 1.0)
    assert len(kept) >= 0.8 * expected, f"{len(kept)} frames of the outage stored, {expected:.0f} expected"
    assert host.sink.database_failures >= 1
    assert host.sink.frames_dropped == 0 and host.sink.batches_failed == 0
    assert beat["counters"]["database_failures"] >= 1 and beat["counters"]["frames_dropped"] == 0
    assert still_held, "the camera's lease (in Redis) was kept through the database outage"
    messages = [r.getMessage() for r in caplog.records]
    assert any("database unreachable" in m for m in messages) and any("database back" in m for m in messages)
    print(f"\noutage {down_until - down_from:.1f} s: {len(kept)} frames kept and written; "
          f"writing again {written_after_s:.1f} s after PostgreSQL was back")


def test_a_long_outage_drops_the_oldest_frames_beyond_the_buffer_and_counts_them(
    hall, redis_client, media_root, settings, caplog
):
    settings.VIGIL_SINK_BUFFER_MB = 1  # two 480x360 frames
    caplog.set_level(logging.WARNING, logger="workers.sinks")
    with postgres_outage_under_a_worker(hall, 3.0) as outage:
        host, down_from, down_until = outage.host, outage.down_from, outage.down_until
        kept = _frames_between(hall.pk, down_from + 0.3, down_until)
    assert host.sink.frames_dropped >= 0.5 * DETECT_FPS * (down_until - down_from)
    assert len(kept) <= 2, "no more than the buffer's worth of the outage is kept"
    assert host.sink.batches_failed == 0
    dropped = [r for r in caplog.records if "outcomes dropped" in r.getMessage()]
    assert dropped and "buffer for database outages is full" in dropped[0].getMessage()
    assert dropped[-1].frames_dropped_total == host.sink.frames_dropped  # type: ignore[attr-defined]


def test_it_rides_out_a_redis_restart_and_loses_nothing_that_reached_postgresql(
    hall, redis_client, media_root
):
    host = build_stream_host()
    host.start()
    try:
        wait_for(lambda: Event.objects.filter(camera=hall).exists(), 30, "the first event")
        restart_at = time.time()
        away_s = restart_redis(down_s=4.0)
        wait_for(lambda: host.leases.holder(hall.pk) == host.worker_id, 10, "the lease, still this worker's")
        wait_for(lambda: load_heartbeats(redis_client), 10, "the worker's heartbeat back in Redis")
        wait_for(lambda: _frames_between(hall.pk, restart_at + away_s + 1, time.time()), 30, "detections after it")
        around = _frames_between(hall.pk, restart_at - 2, restart_at + away_s + 2)
        wait_for(lambda: _live_frame_time(redis_client, hall.pk) > restart_at + away_s, 10, "live frames again")
    finally:
        host.stop()
    gaps = [b - a for a, b in zip(around, around[1:])]
    assert around and max(gaps) < 1.5, f"frames went missing around the restart: gaps {gaps}"
    assert host.sink.batches_failed == 0 and host.sink.frames_dropped == 0
    print(f"\nRedis away {away_s:.2f} s; longest gap between stored frames around it {max(gaps):.2f} s")


def test_the_stream_host_keeps_its_database_connection_and_replaces_one_that_died(redis_client, settings):
    """Each configuration poll once opened a new connection (a new PostgreSQL backend); now
    one is kept, and a connection PostgreSQL cut (as a restart does) is replaced at the next poll."""
    from django.db import connection
    from django.db.utils import OperationalError

    settings.VIGIL_STREAM_CAPACITY = 0  # configuration, leases and status only: no camera runs
    add_camera(name="Yard", stream_url="rtsp://192.0.2.1/s")
    host = build_stream_host()
    try:
        host._sync_safely()  # on this thread, as on the host's own
        backend = connection.connection.info.backend_pid
        for _ in range(3):
            host._sync_safely()
        assert connection.connection.info.backend_pid == backend

        with pytest.raises(OperationalError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        host._sync_safely()  # fails on the dead connection, logged, dropped
        redis_client.flushdb()
        host._sync_safely()
        assert connection.connection.info.backend_pid != backend
        assert [beat["worker"] for beat in load_heartbeats(redis_client)] == [host.worker_id]  # it got through
    finally:
        host.stop()
