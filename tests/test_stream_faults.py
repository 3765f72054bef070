"""Bad cameras never crash a stream worker: they get a clear status and are retried."""
import collections
import itertools
import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from cameras.models import Camera
from cameras.services import add_camera
from events.live import load_heartbeats
from events.models import Detection
from tests.pipeline.rtsp_server import RtspCamera, free_tcp_port
from tests.waiting import wait_for
from workers.pipeline.sources import FrameSource, SourceSpec, SourceStats, parse_source
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


# --- a camera whose resolution changes ----------------------------------------------------

SMALL, LARGE = (480, 360), (640, 360)


@pytest.fixture(scope="module")
def resolution_change(tmp_path_factory, shared_media) -> dict[str, Path]:
    """3 s of the pedestrian clip at 480x360 (``small.ts``), the next 3 s cropped to 16:9
    and enlarged to 640x360 (``large.ts``), and both back to back in one MPEG-TS stream
    (``mixed.ts``): H.264 with new parameter sets where the resolution changes, as a
    camera sends when it is switched to another resolution while streaming. The aspect
    ratio changes too, so the motion gate's work image changes size as well."""
    ffmpeg = shutil.which("ffmpeg")
    ffprobe = shutil.which("ffprobe")
    assert ffmpeg and ffprobe, "Debian's ffmpeg is required"
    folder = tmp_path_factory.mktemp("resolution")
    parts = {"small.ts": (0, "scale=480:360"), "large.ts": (3, "crop=480:270,scale=640:360")}
    for name, (start_s, size) in parts.items():
        seek = ["-ss", str(start_s)] if start_s else []  # "-ss 0" makes Debian's ffmpeg write an empty file
        subprocess.run(
            [ffmpeg, "-v", "error", "-nostdin", *seek, "-i", str(shared_media / "vtest_480x360.avi"),
             "-t", "3", "-an", "-vf", size, "-c:v", "libx264", "-preset", "veryfast",
             "-g", "10", "-pix_fmt", "yuv420p", "-output_ts_offset", str(start_s), "-f", "mpegts",
             str(folder / name)],
            check=True,
        )  # fmt: skip
    (folder / "mixed.ts").write_bytes((folder / "small.ts").read_bytes() + (folder / "large.ts").read_bytes())
    # FFmpeg itself decodes the stream at both sizes, in that order: the file is what it claims.
    sizes = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=width,height",
         "-of", "csv=p=0", str(folder / "mixed.ts")],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    frames = [tuple(int(v) for v in line.split(",")[:2]) for line in sizes]  # "W,H" or "W,H," (side data)
    runs = [(size, len(list(group))) for size, group in itertools.groupby(frames)]
    assert [size for size, _ in runs] == [SMALL, LARGE] and min(n for _, n in runs) >= 25, runs
    return {"folder": folder, "frames": len(frames), **{name: folder / name for name in (*parts, "mixed.ts")}}


def _every_frame_size(spec: SourceSpec) -> tuple[list[tuple[int, int]], SourceStats]:
    """The (width, height) of every frame a capture (OpenCV) decodes from a file, once through."""
    source = FrameSource(spec, name="check", loop_files=False, realtime_files=False)
    source.start()
    sizes: list[tuple[int, int]] = []
    seq = -1
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline:
            stopped = source.stats().state == "stopped"
            frame = source.latest(after_seq=seq)  # after the state: the last frame comes before "stopped"
            if frame is not None:
                seq = frame.seq
                sizes.append((frame.image.shape[1], frame.image.shape[0]))
            elif stopped:
                break
            else:
                time.sleep(0.001)
    finally:
        source.stop()
    return sizes, source.stats()


def _stored_boxes(camera_id: int) -> list[tuple[float, float, float, float, int, int]]:
    return list(
        Detection.objects.filter(camera_id=camera_id)
        .order_by("captured_at", "id")
        .values_list("x1", "y1", "x2", "y2", "frame_width", "frame_height")
    )


def _assert_boxes_inside_their_frames(boxes) -> None:
    outside = [b for b in boxes if not (0 <= b[0] <= b[2] <= b[4] and 0 <= b[1] <= b[3] <= b[5])]
    assert not outside, f"{len(outside)} of {len(boxes)} boxes outside their own frame, e.g. {outside[:3]}"


@pytest.fixture
def no_thread_crashes(monkeypatch):
    """Exceptions that escaped any thread (an inference thread that died) fail the test."""
    crashes: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashes.append(args.exc_value))
    yield crashes
    assert crashes == []


def _failures(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_it_reads_on_through_a_resolution_change_inside_the_stream(
    resolution_change, redis_client, media_root, settings, caplog, no_thread_crashes
):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    settings.VIGIL_VIDEO_DIR = resolution_change["folder"]
    # Every frame of both parts comes through the capture, without a corrupt frame or a reconnect.
    frames = resolution_change["frames"]
    captured, once = _every_frame_size(parse_source("mixed.ts", video_dir=resolution_change["folder"]))
    assert len(captured) == frames, (len(captured), frames)
    assert once.detail == "end of file" and once.frames_corrupt == 0 and once.reconnects == 0, once
    assert set(captured) <= {SMALL, LARGE}
    print(f"capture: {len(captured)} frames, sizes in order "
          f"{[(size, len(list(run))) for size, run in itertools.groupby(captured)]}")

    camera = add_camera(name="Switched", stream_url="mixed.ts")
    host = build_stream_host()
    started = time.monotonic()
    host.start()
    try:
        runtime = wait_for(lambda: host.cameras.get(camera.pk), 10, "the camera claimed")
        # Into the second pass at 10 fps: past the change, and past the change back at the loop.
        stats = wait_for(
            lambda: (s := runtime.source.stats()).frames_decoded >= frames + 12 and s, 20,
            "the file read past the change",
        )
        wait_for(lambda: Detection.objects.filter(camera=camera).count() >= 20, 10, "stored detections")
        assert all(thread.is_alive() for thread in host._inference), "an inference thread died"
    finally:
        host.stop()
    elapsed = time.monotonic() - started
    boxes = _stored_boxes(camera.pk)
    sizes = collections.Counter((b[4], b[5]) for b in boxes)
    print(
        f"{stats.frames_decoded} frames decoded in {elapsed:.1f} s, {len(boxes)} detections stored, "
        f"frame sizes {dict(sizes)}, source reports {stats.width}x{stats.height}"
    )
    # The change is neither a lost stream nor corrupt frames: no reconnect, nothing skipped.
    assert stats.state == "online" and stats.reconnects == 0 and stats.frames_corrupt == 0, stats
    assert set(sizes) <= {SMALL, LARGE}, sizes
    _assert_boxes_inside_their_frames(boxes)
    assert host.sink.batches_failed == 0
    assert _failures(caplog) == []


def test_it_follows_a_camera_that_comes_back_at_another_resolution(
    resolution_change, redis_client, media_root, settings, caplog, no_thread_crashes
):
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    port = free_tcp_port()
    rtsp = RtspCamera(resolution_change["small.ts"], port)
    camera = add_camera(name="Reconfigured", stream_url=rtsp.url)
    host = build_stream_host()
    started = time.monotonic()
    host.start()
    try:
        wait_for(
            lambda: Detection.objects.filter(camera=camera, frame_width=SMALL[0]).count() >= 10, 30,
            "detections at 480x360",
        )
        rtsp.stop()  # the camera restarts its stream at another resolution
        switched = time.monotonic()
        rtsp = RtspCamera(resolution_change["large.ts"], port)
        wait_for(
            lambda: Detection.objects.filter(camera=camera, frame_width=LARGE[0]).count() >= 10, 30,
            "detections at 640x360",
        )
        resumed_after = time.monotonic() - switched
        row = wait_for(
            lambda: Camera.objects.filter(pk=camera.pk, frame_width=LARGE[0], frame_height=LARGE[1]).first(), 5,
            "the camera's new size reported",
        )
        assert all(thread.is_alive() for thread in host._inference), "an inference thread died"
    finally:
        host.stop()
        rtsp.stop()
    boxes = _stored_boxes(camera.pk)
    sizes = collections.Counter((b[4], b[5]) for b in boxes)
    print(
        f"{len(boxes)} detections stored in {time.monotonic() - started:.1f} s, frame sizes {dict(sizes)}; "
        f"detections at 640x360 {resumed_after:.1f} s after the camera switched"
    )
    assert set(sizes) == {SMALL, LARGE}, sizes
    _assert_boxes_inside_their_frames(boxes)
    # The boxes of the larger frames are in its own pixels, not clipped to the old size.
    assert any(b[2] > SMALL[0] or b[3] > SMALL[1] for b in boxes if (b[4], b[5]) == LARGE)
    assert row.status == "online"
    assert host.sink.batches_failed == 0
    assert _failures(caplog) == []
