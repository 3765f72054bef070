"""Bad cameras never crash a stream worker: they get a clear status and are retried."""
import pytest

from cameras.models import Camera
from cameras.services import add_camera
from events.live import load_heartbeats
from tests.pipeline.rtsp_server import RtspCamera, free_tcp_port
from tests.waiting import wait_for
from workers.runtime import build_stream_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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
        dead_row = wait_for(
            lambda: Camera.objects.filter(pk=dead.pk, status="unreachable").first(), 30, "the dead camera's status"
        )
        wait_for(lambda: Camera.objects.filter(pk=live.pk, status="online").exists(), 30, "the live camera online")
        wait_for(lambda: live.events.exists(), 30, "an event on the live camera")
        beat = wait_for(
            lambda: next((c for b in load_heartbeats(redis_client) for c in b["cameras"]
                          if c["id"] == dead.pk and c["reconnects"] >= 1), None),
            30,
            "reconnects in the worker's heartbeat",
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
        row = wait_for(lambda: Camera.objects.filter(pk=camera.pk, status="unreachable").first(), 15, "the status")
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
        wait_for(lambda: camera.pk in host.cameras, 10, "the camera claimed")
        Camera.objects.filter(pk=camera.pk).update(enabled=False)
        wait_for(lambda: camera.pk not in host.cameras, 5, "the disabled camera dropped")
        assert host.leases.holder(camera.pk) is None
        Camera.objects.filter(pk=camera.pk).update(enabled=True)
        wait_for(lambda: camera.pk in host.cameras, 5, "the re-enabled camera claimed")
    finally:
        host.stop()
