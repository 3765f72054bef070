from __future__ import annotations

import functools
import http.server
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workers.pipeline.sources import (
    FrameSource,
    SourceError,
    SourceSpec,
    SourceStats,
    grab_one_frame,
    parse_source,
    redact_url,
)

from .conftest import wait_for
from .rtsp_server import free_tcp_port

SECRET = "s3cr3t-pa55"


@pytest.fixture
def video_dir(tmp_path: Path, vtest_path: Path, ffmpeg: str) -> Path:
    """A video folder with a 1.5 s clip (15 frames at 10 fps) and a file that is no video."""
    folder = tmp_path / "videos"
    folder.mkdir()
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(vtest_path), "-frames:v", "15", "-c", "copy", str(folder / "short.avi")],
        check=True,
    )
    (folder / "notes.mp4").write_text("not a video")
    return folder


@pytest.fixture
def no_thread_crashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException | None]]:
    """Exceptions that escaped any thread during the test (there must be none)."""
    crashes: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashes.append(args.exc_value))
    yield crashes
    assert crashes == []


@pytest.fixture
def sources() -> Iterator[list[FrameSource]]:
    """Sources to stop at the end of the test, whatever happened."""
    started: list[FrameSource] = []
    yield started
    for source in started:
        source.stop()


def _stats_when(
    source: FrameSource, condition: Callable[[SourceStats], bool], timeout_s: float, what: str
) -> SourceStats:
    """The first stats snapshot of ``source`` that meets ``condition``."""
    snapshot: list[SourceStats] = []

    def met() -> bool:
        snapshot[:] = [source.stats()]
        return condition(snapshot[0])

    wait_for(met, timeout_s, what)
    return snapshot[0]


def _start(sources: list[FrameSource], spec: SourceSpec, **options: float | bool) -> FrameSource:
    source = FrameSource(spec, name="test", **options)  # type: ignore[arg-type]
    sources.append(source)
    source.start()
    return source


# --- parse_source and redact_url ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("rtsp://10.0.0.7:554/Streaming/Channels/101", "rtsp"),
        ("  rtsps://user:pw@cam.local/live  ", "rtsp"),
        ("http://cam.local/video.mjpg", "http"),
        ("https://example.com/live/index.m3u8", "http"),
        ("RTSP://[fe80::1]:8554/cam", "rtsp"),
    ],
)
def test_it_accepts_stream_urls(url: str, kind: str, tmp_path: Path) -> None:
    spec = parse_source(url, video_dir=tmp_path)
    assert spec.kind == kind and spec.url == url.strip()


def test_it_accepts_files_inside_the_video_folder(video_dir: Path) -> None:
    expected = str(video_dir / "short.avi")
    for text in ("short.avi", str(video_dir / "short.avi"), (video_dir / "short.avi").as_uri(), "./x/../short.avi"):
        assert parse_source(text, video_dir=video_dir) == SourceSpec(kind="file", url=expected), text


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ftp://cam.local/video.mp4", "unsupported scheme 'ftp': use rtsp://"),
        ("rtsp:///cam", "has no host"),
        ("http://", "has no host"),
        ("rtsp://cam.local:99999/x", "malformed URL"),
        ("../outside.avi", "outside the video folder"),
        ("/etc/passwd", "outside the video folder"),
        ("file:///etc/passwd", "outside the video folder"),
        ("file://evil.example/short.avi", "remote host"),
        ("missing.avi", "no video file missing.avi"),
    ],
)
def test_it_rejects_bad_sources_clearly(url: str, message: str, video_dir: Path) -> None:
    with pytest.raises(SourceError, match=message):
        parse_source(url, video_dir=video_dir)


def test_it_rejects_symlinks_out_of_the_video_folder(video_dir: Path, vtest_path: Path) -> None:
    (video_dir / "link.avi").symlink_to(vtest_path)
    with pytest.raises(SourceError, match="outside the video folder"):
        parse_source("link.avi", video_dir=video_dir)


def test_it_never_puts_a_password_in_an_error(tmp_path: Path) -> None:
    for url in (f"rtsp://admin:{SECRET}@/cam", f"rtsp://admin:{SECRET}@cam:port/x"):
        with pytest.raises(SourceError) as raised:
            parse_source(url, video_dir=tmp_path)
        assert SECRET not in str(raised.value) and "***" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (f"rtsp://admin:{SECRET}@10.0.0.7:554/h264", "rtsp://admin:***@10.0.0.7:554/h264"),
        (f"rtsp://admin:{SECRET}@@10.0.0.7/x", "rtsp://admin:***@10.0.0.7/x"),  # '@' in the password
        (f"http://cam/cgi?user=admin&password={SECRET}&res=hd", "http://cam/cgi?user=admin&password=***&res=hd"),
        ("rtsp://admin@10.0.0.7/h264", "rtsp://admin@10.0.0.7/h264"),
        ("rtsp://10.0.0.7/h264", "rtsp://10.0.0.7/h264"),
        (f"rtsp://admin:{SECRET}@cam:notaport/x", "rtsp://admin:***@cam:notaport/x"),
    ],
)  # fmt: skip
def test_it_redacts_passwords(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_it_keeps_passwords_out_of_the_spec_repr() -> None:
    spec = SourceSpec(kind="rtsp", url=f"rtsp://admin:{SECRET}@cam/x")
    assert SECRET not in repr(spec) and "***" in repr(spec)


# --- files ------------------------------------------------------------------------------


def test_it_plays_a_file_like_a_live_camera_in_a_loop(video_dir: Path, sources, no_thread_crashes) -> None:
    source = _start(sources, parse_source("short.avi", video_dir=video_dir))
    wait_for(lambda: source.stats().frames_decoded >= 25, 5, "the 15-frame clip to loop")
    stats = source.stats()
    assert stats.state == "online" and (stats.width, stats.height) == (480, 360)
    assert 8 <= stats.decoded_fps <= 12, stats.decoded_fps  # paced to the clip's 10 fps
    assert stats.reconnects == 0 and stats.frames_corrupt == 0

    frame = source.latest()
    assert frame is not None and frame.image.shape == (360, 480, 3)
    assert frame.seq >= 24  # numbered across loops
    with pytest.raises(ValueError):
        frame.image[0, 0] = 0  # shared between consumers: read-only
    assert source.latest(after_seq=10**9) is None
    wait_for(lambda: source.latest(after_seq=frame.seq) is not None, 1, "the next frame")
    newer = source.latest()
    assert newer is not None and newer.seq > frame.seq and newer.captured_at > frame.captured_at
    # Nobody read the frames decoded before the first latest(): counted as dropped.
    assert source.stats().frames_dropped >= 20


def test_it_stops_at_the_end_of_a_file_when_not_looping(video_dir: Path, sources) -> None:
    source = _start(
        sources, parse_source("short.avi", video_dir=video_dir), loop_files=False, realtime_files=False
    )
    seqs: list[int] = []
    deadline = time.monotonic() + 5
    while source.stats().state != "stopped" and time.monotonic() < deadline:
        frame = source.latest(after_seq=seqs[-1] if seqs else -1)
        if frame is not None:
            seqs.append(frame.seq)
        time.sleep(0.001)
    if (last := source.latest(after_seq=seqs[-1] if seqs else -1)) is not None:
        seqs.append(last.seq)  # the last frame stays available after the end
    stats = source.stats()
    assert stats.state == "stopped" and stats.detail == "end of file"
    assert stats.frames_decoded == 15 and seqs == list(range(15))


def test_it_reports_a_file_that_is_not_a_video(video_dir: Path, sources, no_thread_crashes) -> None:
    source = _start(sources, parse_source("notes.mp4", video_dir=video_dir), backoff_initial_s=0.05)
    stats = _stats_when(source, lambda s: s.reconnects >= 2 and s.state == "unreachable", 5, "retries")
    assert stats.detail.startswith("notes.mp4 is not a video FFmpeg can decode; retrying in")
    with pytest.raises(SourceError, match="is not a video"):
        grab_one_frame(parse_source("notes.mp4", video_dir=video_dir), timeout_s=2)


# --- RTSP -----------------------------------------------------------------------------


def test_it_receives_an_authenticated_rtsp_stream(rtsp_camera, sources, no_thread_crashes, tmp_path) -> None:
    camera = rtsp_camera(credentials=("admin", SECRET))
    url = camera.url.replace("rtsp://", f"rtsp://admin:{SECRET}@")
    spec = parse_source(url, video_dir=tmp_path)
    assert grab_one_frame(spec, timeout_s=10).shape == (360, 480, 3)

    source = _start(sources, spec)
    wait_for(lambda: source.stats().frames_decoded >= 30, 15, "RTSP frames")
    stats = source.stats()
    assert stats.state == "online" and (stats.width, stats.height) == (480, 360)
    assert stats.decoded_fps > 10 and stats.last_frame_time is not None
    first = source.latest()
    assert first is not None
    wait_for(lambda: source.latest(after_seq=first.seq) is not None, 2, "newer frames")
    assert SECRET not in repr(stats)


def test_it_says_when_the_password_is_wrong(rtsp_camera, sources, no_thread_crashes, tmp_path) -> None:
    camera = rtsp_camera(credentials=("admin", SECRET))
    spec = parse_source(camera.url.replace("rtsp://", "rtsp://admin:wrong-one@"), video_dir=tmp_path)
    with pytest.raises(SourceError, match="authentication failed: check the user name and password"):
        grab_one_frame(spec, timeout_s=5)
    source = _start(sources, spec, backoff_initial_s=0.2)
    stats = _stats_when(source, lambda s: s.state == "unreachable", 10, "the failure")
    assert stats.detail.startswith("authentication failed: check the user name and password; retrying in")
    assert "wrong-one" not in stats.detail


def test_it_reports_an_unreachable_camera_and_keeps_retrying(sources, no_thread_crashes, tmp_path) -> None:
    spec = parse_source(f"rtsp://admin:{SECRET}@127.0.0.1:{free_tcp_port()}/cam", video_dir=tmp_path)
    source = _start(sources, spec, backoff_initial_s=0.05, backoff_max_s=0.2)
    stats = _stats_when(source, lambda s: s.reconnects >= 3 and s.state == "unreachable", 5, "retries")
    assert stats.detail.startswith(f"connection refused by 127.0.0.1:{spec.url.rsplit(':', 1)[1].split('/')[0]}")
    assert "retrying in" in stats.detail and SECRET not in stats.detail
    assert source.latest() is None and stats.frames_decoded == 0
    with pytest.raises(SourceError, match="connection refused"):
        grab_one_frame(spec, timeout_s=2)


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte:
    a camera whose firmware hangs. Yields its port and the connections it accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    accepted: list[socket.socket] = []
    stopped = threading.Event()

    def accept() -> None:
        while not stopped.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)  # held open, never answered

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    yield listener.getsockname()[1], accepted
    stopped.set()
    thread.join()
    listener.close()
    for conn in accepted:
        conn.close()


def _closed_by_peer(conn: socket.socket) -> bool:
    """Whether the client end of an accepted connection was closed (nothing is ever sent to it)."""
    conn.settimeout(0)
    try:
        return conn.recv(4096) == b""
    except BlockingIOError:
        return False  # still open
    except OSError:
        return True  # reset by the client


@pytest.mark.parametrize(
    ("scheme", "reason"),
    [
        ("rtsp", "the camera accepted the connection but did not answer (timed out)"),
        ("http", "HTTP request failed (timed out)"),
    ],
)
def test_it_times_out_on_a_camera_that_hangs_after_connecting(
    scheme: str, reason: str, silent_server, sources, no_thread_crashes, tmp_path: Path
) -> None:
    port, accepted = silent_server
    timeout_s = 2.0
    # FFmpeg's open is cut at open_timeout_s; the diagnosis after it waits as long again
    # (at most 5 s) for the camera's answer to its own request.
    attempt_s = timeout_s + min(timeout_s, 5.0)
    spec = parse_source(f"{scheme}://127.0.0.1:{port}/cam", video_dir=tmp_path)
    started = time.monotonic()
    source = _start(
        sources, spec, open_timeout_s=timeout_s, read_timeout_s=timeout_s, backoff_initial_s=0.05, backoff_max_s=0.2
    )
    first = _stats_when(source, lambda s: s.state == "unreachable", attempt_s + 10, "the open to time out")
    timed_out_after = time.monotonic() - started
    assert first.detail.startswith(f"{reason}; retrying in"), first.detail
    assert timeout_s <= timed_out_after <= attempt_s + 3, timed_out_after
    assert accepted, "the source never connected to the server"

    # It keeps retrying, and every retry times out the same way.
    again = _stats_when(
        source, lambda s: s.reconnects >= 1 and s.state == "unreachable", attempt_s + 10, "a retry to time out"
    )
    assert again.detail.startswith(f"{reason}; retrying in"), again.detail
    retry_s = time.monotonic() - started - timed_out_after
    _stats_when(source, lambda s: s.reconnects >= 2 and s.state == "connecting", 5, "the next retry")
    assert source.latest() is None and source.stats().frames_decoded == 0

    # Stopped while FFmpeg is blocked on the silent server: no capture thread left behind.
    time.sleep(0.5)
    stopping = time.monotonic()
    source.stop()
    stop_s = time.monotonic() - stopping
    thread = source._thread
    assert thread is not None and not thread.is_alive(), "the capture thread is stuck"
    assert stop_s <= attempt_s + 2, stop_s
    assert source.stats().state == "stopped"
    wait_for(lambda: all(_closed_by_peer(conn) for conn in accepted), 2, "every connection closed by the client")
    print(
        f"{scheme}: unreachable after {timed_out_after:.2f} s, next timeout {retry_s:.2f} s later "
        f"(open_timeout_s={timeout_s:g}); stop() took {stop_s:.2f} s; {len(accepted)} connections, all closed"
    )


def test_it_reconnects_when_the_camera_comes_back(rtsp_camera, sources, no_thread_crashes, tmp_path) -> None:
    camera = rtsp_camera()
    source = _start(sources, parse_source(camera.url, video_dir=tmp_path), backoff_initial_s=0.2, backoff_max_s=1)
    wait_for(lambda: source.stats().frames_decoded >= 10, 15, "the first frames")

    camera.stop()  # power cut
    stats = _stats_when(source, lambda s: "connection refused" in s.detail, 15, "the loss to be noticed")
    assert stats.state == "unreachable" and stats.reconnects >= 1
    last = source.latest()
    assert last is not None
    seq_before = last.seq

    rtsp_camera(port=camera.port)  # back on the same address
    wait_for(lambda: source.latest(after_seq=seq_before + 10) is not None, 20, "frames after the reconnect")
    stats = source.stats()
    assert stats.state == "online" and stats.reconnects >= 1


# --- HTTP -----------------------------------------------------------------------------


@pytest.fixture
def web_server(video_dir: Path) -> Iterator[str]:
    """A plain web server over the video folder: not a camera."""
    (video_dir / "index.html").write_text("<html>login</html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(video_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_it_explains_http_sources_that_are_no_stream(web_server: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"not a video stream \(the server sends text/html\)"):
        grab_one_frame(parse_source(f"{web_server}/index.html", video_dir=tmp_path), timeout_s=3)
    with pytest.raises(SourceError, match="stream not found"):
        grab_one_frame(parse_source(f"{web_server}/nothing.mjpg", video_dir=tmp_path), timeout_s=3)


def _listening(port: int) -> bool:
    """Whether a TCP socket listens on ``port`` (from /proc, so without connecting to it)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(f":{port:04X} " in line.split()[1] + " " and line.split()[3] == "0A" for line in lines)


def test_it_reads_an_mjpeg_stream_over_http(vtest_path: Path, ffmpeg: str, tmp_path: Path) -> None:
    port = free_tcp_port()
    server = subprocess.Popen(
        [ffmpeg, "-v", "error", "-nostdin", "-re", "-i", str(vtest_path), "-t", "10", "-c:v", "mjpeg",
         "-q:v", "5", "-f", "mpjpeg", "-listen", "1", f"http://127.0.0.1:{port}/cam.mjpg"],
    )  # fmt: skip
    try:
        # Wait without connecting: ffmpeg's HTTP server serves exactly one client.
        wait_for(lambda: _listening(port), 10, "ffmpeg to listen")
        frame = grab_one_frame(parse_source(f"http://127.0.0.1:{port}/cam.mjpg", video_dir=tmp_path), timeout_s=10)
        assert frame.shape == (360, 480, 3)
    finally:
        server.kill()
        server.wait()


def test_it_reads_an_hls_stream_over_http(vtest_path: Path, ffmpeg: str, tmp_path: Path, sources) -> None:
    hls = tmp_path / "hls"
    hls.mkdir()
    subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", "-i", str(vtest_path), "-t", "6", "-c:v", "libx264", "-g", "10",
         "-an", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", str(hls / "live.m3u8")],
        check=True,
    )  # fmt: skip
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(hls))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/live.m3u8"
        source = _start(sources, parse_source(url, video_dir=tmp_path))
        stats = _stats_when(source, lambda s: s.frames_decoded >= 10, 15, "HLS frames")
        # The 6 s recording may be read to its end before this looks: no state check.
        assert (stats.width, stats.height) == (480, 360) and stats.frames_corrupt == 0
    finally:
        server.shutdown()
        server.server_close()


def test_it_replays_a_file_frame_by_frame_when_not_realtime(tmp_path: Path, vtest_path: Path) -> None:
    from workers.pipeline.sources import FrameSource, parse_source

    source = FrameSource(parse_source(str(vtest_path), video_dir=vtest_path.parent), name="replay",
                         realtime_files=False)
    source.start()
    try:
        seqs: list[int] = []
        deadline = time.monotonic() + 20
        while len(seqs) < 30 and time.monotonic() < deadline:
            frame = source.latest(after_seq=seqs[-1] if seqs else -1)
            if frame is None:
                time.sleep(0.001)
                continue
            seqs.append(frame.seq)
            time.sleep(0.01)  # a slow consumer: the file must wait for it, not skip
    finally:
        source.stop()
    assert seqs == list(range(30))
    assert source.stats().frames_dropped == 0
