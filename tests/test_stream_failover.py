"""Scale-out: a killed stream worker's camera is taken over within the lease TTL, and a
worker that lost its lease (frozen past the TTL) writes nothing more for that camera.

Worker A is a real ``celery -A vision worker -Q streams`` process; worker B is a
StreamHost in this process. Both use the test database and the real Redis.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from cameras.models import Camera
from cameras.services import add_camera
from events.models import Detection
from tests.conftest import REPO
from tests.waiting import wait_for
from workers.leases import LeaseManager
from workers.runtime import build_stream_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TTL = 3.0


def _start_worker(name: str, log_path) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgresql://{db['USER']}:@/{db['NAME']}?host={db['HOST']}",
        REDIS_URL=settings.REDIS_URL,
        VIGIL_WORKER_NAME=name,
        VIGIL_LEASE_TTL=str(TTL),
        VIGIL_CONFIG_POLL_SECONDS="0.5",
        VIGIL_VIDEO_DIR=str(settings.VIGIL_VIDEO_DIR),
        VIGIL_MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "vision", "worker", "-Q", "streams", "--pool", "solo",
         "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=REPO, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
    )


@pytest.fixture
def camera(video_dir, media_root, redis_client, settings):
    settings.VIGIL_LEASE_TTL = TTL
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    settings.VIGIL_WORKER_NAME = "worker-b"  # the in-process host; worker A is a subprocess
    return add_camera(name="Plaza", stream_url=str(video_dir / "vtest_480x360.avi"))


def _holder(camera_id: int, redis_client) -> str | None:
    return LeaseManager(redis_client, "observer", TTL).holder(camera_id)


def test_it_hands_a_killed_workers_camera_to_another_within_the_lease_ttl(camera, redis_client, tmp_path):
    worker_a = _start_worker("worker-a", tmp_path / "a.log")
    host_b = None
    try:
        wait_for(lambda: _holder(camera.pk, redis_client) == "worker-a", 90, "worker A to claim the camera")
        wait_for(lambda: Detection.objects.filter(camera=camera).exists(), 30, "worker A's detections")
        host_b = build_stream_host()
        host_b.start()
        time.sleep(2)
        assert camera.pk not in host_b.cameras, "B must not take a camera A still holds"
        worker_a.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(lambda: camera.pk in host_b.cameras, TTL + 3, "worker B to take over")
        took = time.monotonic() - killed_at
        connection.close()
        wait_for(lambda: Camera.objects.get(pk=camera.pk).worker == "worker-b", 5, "status by worker B")
        print(f"camera taken over {took:.1f}s after worker A was killed (lease TTL {TTL}s)")
        assert took <= TTL + 1.5
    finally:
        if host_b is not None:
            host_b.stop()
        worker_a.kill()
        worker_a.wait()


def test_it_stops_a_frozen_worker_from_writing_after_its_lease_is_taken(camera, redis_client, tmp_path):
    worker_a = _start_worker("worker-a", tmp_path / "a.log")
    host_b = None
    try:
        wait_for(lambda: _holder(camera.pk, redis_client) == "worker-a", 90, "worker A to claim the camera")
        wait_for(lambda: Detection.objects.filter(camera=camera).exists(), 30, "worker A's detections")
        worker_a.send_signal(signal.SIGSTOP)  # frozen: no renewals, no writes
        host_b = build_stream_host()
        host_b.start()
        wait_for(lambda: camera.pk in host_b.cameras, TTL + 3, "worker B to take over")
        host_b.stop()  # B releases; from now on nobody may write for the camera ...
        host_b = None
        redis_client.set(f"vigil:lease:camera:{camera.pk}", "worker-c", px=60_000)  # ... held by a third
        before = Detection.objects.filter(camera=camera).count()
        worker_a.send_signal(signal.SIGCONT)
        time.sleep(4)  # A wakes up, finds its lease gone
        after = Detection.objects.filter(camera=camera).count()
        assert after == before, f"worker A wrote {after - before} detections without a lease"
        assert _holder(camera.pk, redis_client) == "worker-c"
        assert "lease lost" in (tmp_path / "a.log").read_text()
    finally:
        if host_b is not None:
            host_b.stop()
        worker_a.send_signal(signal.SIGCONT)
        worker_a.kill()
        worker_a.wait()


def test_it_shares_cameras_between_workers_up_to_their_capacity(video_dir, media_root, redis_client, settings):
    from workers.runtime import shared_detector
    from workers.stream_host import StreamHost

    cameras = [add_camera(name=f"cam {i}", stream_url=str(video_dir / "vtest_480x360.avi")).pk for i in range(3)]
    hosts = [
        StreamHost(detector=shared_detector(), redis_client=redis_client, media_root=media_root,
                   video_dir=video_dir, worker_id=f"w{i}", capacity=1, config_poll_s=0.3)
        for i in range(2)
    ]
    for host in hosts:
        host.start()
    try:
        wait_for(lambda: all(len(h.cameras) == 1 for h in hosts), 10, "each worker to fill its capacity")
        time.sleep(1)  # a few more sync rounds: nobody takes more
        claimed = [set(h.cameras) for h in hosts]
        assert all(len(c) == 1 for c in claimed) and not claimed[0] & claimed[1]
        holders = {pk: _holder(pk, redis_client) for pk in cameras}
        assert sorted(h for h in holders.values() if h) == ["w0", "w1"]
    finally:
        for host in hosts:
            host.stop()
