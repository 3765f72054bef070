"""Bad cameras never crash a stream worker: they get a clear status and are retried."""
import time

import pytest

from cameras.models import Camera
from cameras.services import add_camera
from events.live import load_heartbeats
from tests.pipeline.rtsp_server import RtspCamera, free_tcp_port
from workers.runtime import build_stream_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_it_marks_an_unreachable_camera_and_keeps_serving_the_others(
    redis_client, media_root, settings, shared_media
):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    dead = add_camera(name="Dead", stream_url=f"rtsp://127.0.0.1:{free_tcp_port()}/cam")
    rtsp = RtspCamera(shared_media / "vtest_480x360.avi", free_tcp_port())
    live = add_camera(name="Live", stream_url=rtsp.url)
    host = build_stream_host()
    host.start()
    try:
        dead_row = _wait_for(
            lambda: Camera.objects.filter(pk=dead.pk, status="unreachable").first(), timeout=30
        )
        _wait_for(lambda: Camera.objects.filter(pk=live.pk, status="online").exists(), timeout=30)
        _wait_for(lambda: live.events.exists(), timeout=30)
        beat = _wait_for(
            lambda: next((c for b in load_heartbeats(redis_client) for c in b["cameras"]
                          if c["id"] == dead.pk and c["reconnects"] >= 1), None),
            timeout=30,
        )
    finally:
        host.stop()
        rtsp.stop()
    assert "refused" in dead_row.status_detail
    assert beat["status"] == "unreachable" and "refused" in beat["detail"]
    assert host._thread is not None and not host._thread.is_alive()


def test_it_reports_an_invalid_stored_url_instead_of_crashing(redis_client, media_root, settings, tmp_path):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    settings.VIGIL_VIDEO_DIR = tmp_path
    # Stored before the video folder moved: the file is no longer allowed.
    camera = add_camera(name="Moved", stream_url="/etc/hostname")
    host = build_stream_host()
    host.start()
    try:
        row = _wait_for(lambda: Camera.objects.filter(pk=camera.pk, status="unreachable").first(), timeout=15)
    finally:
        host.stop()
    assert row.status_detail.startswith("invalid stream:")


def test_it_follows_config_edits_without_restart(redis_client, media_root, settings, shared_media):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    settings.VIGIL_VIDEO_DIR = shared_media
    camera = add_camera(name="Edit", stream_url=str(shared_media / "vtest_480x360.avi"))
    host = build_stream_host()
    host.start()
    try:
        _wait_for(lambda: camera.pk in host.cameras, timeout=10)
        Camera.objects.filter(pk=camera.pk).update(enabled=False)
        _wait_for(lambda: camera.pk not in host.cameras, timeout=5)
        assert host.leases.holder(camera.pk) is None
        Camera.objects.filter(pk=camera.pk).update(enabled=True)
        _wait_for(lambda: camera.pk in host.cameras, timeout=5)
    finally:
        host.stop()
