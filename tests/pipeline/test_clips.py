"""Event clips cut from real footage and checked with ffprobe as a browser would need them.

Most tests push decoded frames with made-up capture times (10 fps from ``T0``) as fast as they
can, so clips of several seconds take well under one; one test feeds a live FrameSource.
Frames that carry their index as a bar code (``_stamped``) show which frame plays when.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from workers.pipeline.clips import ClipBuffer, ClipError, ClipRecorder, ClipResult
from workers.pipeline.sources import Frame, FrameSource, parse_source

from .conftest import wait_for

T0 = 1_700_000_000.0
"""Made-up capture times start here; 10 ms into each 1/10 s slot, so float rounding never moves a frame."""
_BIT = 32  # side of one bar-code square, in pixels


@pytest.fixture(scope="session")
def person_frames(media_dir: Path) -> list[np.ndarray]:
    """10 s of a 768x432, 10 fps street scene (wider than the buffer keeps)."""
    capture = cv2.VideoCapture(str(media_dir / "one-by-one-person-detection.mp4"))
    frames: list[np.ndarray] = []
    while len(frames) < 100:
        ok, image = capture.read()
        assert ok
        frames.append(image)
    capture.release()
    return frames


@pytest.fixture(scope="session")
def ffprobe() -> str:
    path = shutil.which("ffprobe")
    assert path, "ffprobe (Debian's ffmpeg package) is required by the clip tests"
    return path


@pytest.fixture
def recorder(ffmpeg: str) -> Iterator[ClipRecorder]:
    recorder = ClipRecorder(ffmpeg=ffmpeg, stall_timeout_s=0.5)
    yield recorder
    recorder.close()


class Results:
    """An ``on_finished`` callback that keeps what it is given."""

    def __init__(self) -> None:
        self.items: list[ClipResult] = []

    def __call__(self, result: ClipResult) -> None:
        self.items.append(result)

    def wait(self, count: int = 1, timeout_s: float = 15) -> list[ClipResult]:
        wait_for(lambda: len(self.items) >= count, timeout_s, f"{count} clip(s)")
        return self.items


def push(buffer: ClipBuffer, images: list[np.ndarray], first: int, stop: int, *, fps: float = 10) -> None:
    """Push ``images[first:stop]``, image ``i`` captured at ``T0 + i / fps``."""
    for i in range(first, stop):
        buffer.push(Frame(seq=i, image=images[i], captured_at=T0 + i / fps + 0.01))


def _stamped(image: np.ndarray, index: int) -> np.ndarray:
    out = image.copy()
    for bit in range(8):
        out[:_BIT, bit * _BIT : (bit + 1) * _BIT] = 255 if index >> bit & 1 else 0
    return out


@pytest.fixture(scope="session")
def stamped(vtest_frames: list[np.ndarray]) -> list[np.ndarray]:
    return [_stamped(image, i) for i, image in enumerate(vtest_frames)]


def shown_indices(path: Path) -> list[int]:
    """The stamp of each frame of the clip at ``path``, in playing order."""
    capture = cv2.VideoCapture(str(path))
    indices = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        inset = _BIT // 4  # away from the edges, where compression blurs the squares
        centres = [image[inset : _BIT - inset, b * _BIT + inset : (b + 1) * _BIT - inset] for b in range(8)]
        indices.append(sum(1 << b for b, square in enumerate(centres) if square.mean() > 128))
    capture.release()
    return indices


def probe(ffprobe: str, path: Path) -> dict:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-of", "json",
         "-show_entries", "stream=codec_name,profile,pix_fmt,width,height,nb_read_frames:format=duration",
         str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    info = json.loads(out)
    return {**info["streams"][0], "duration": float(info["format"]["duration"])}


def top_level_boxes(path: Path) -> list[str]:
    data = path.read_bytes()
    boxes, at = [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        boxes.append(data[at + 4 : at + 8].decode("latin-1"))
        if size == 1:  # 64-bit size
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        assert size >= 8, f"bad MP4 box size at {at}"
        at += size
    return boxes


def test_a_clip_is_browser_ready_h264_covering_the_window(
    recorder: ClipRecorder, person_frames: list[np.ndarray], ffprobe: str, tmp_path: Path
) -> None:
    buffer = ClipBuffer("street")
    results = Results()
    push(buffer, person_frames, 0, 50)
    recorder.request_clip(buffer, T0 + 4, 4, 4, tmp_path / "clips" / "event.mp4", results)
    push(buffer, person_frames, 50, 100)

    [result] = results.wait()
    assert result.ok and not result.cut_short
    assert (result.frames, result.duration_s, result.started_at) == (80, 8.0, T0)
    info = probe(ffprobe, result.path)
    assert (info["codec_name"], info["profile"], info["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (info["width"], info["height"]) == (640, 360)
    assert int(info["nb_read_frames"]) == 80
    assert info["duration"] == pytest.approx(8.0, abs=0.15)
    boxes = top_level_boxes(result.path)
    assert boxes.index("moov") < boxes.index("mdat"), f"not faststart: {boxes}"
    assert [p.name for p in result.path.parent.iterdir()] == ["event.mp4"]  # no temporary file left


def test_irregular_frame_times_play_at_real_speed(
    recorder: ClipRecorder, stamped: list[np.ndarray], tmp_path: Path
) -> None:
    buffer = ClipBuffer("cam")
    results = Results()
    recorder.request_clip(buffer, T0 + 2, 2, 2, tmp_path / "clip.mp4", results)
    # 20 fps for 1 s (every other frame kept), the stream pauses for 1 s, then 5 fps.
    for i in range(20):
        buffer.push(Frame(seq=i, image=stamped[i], captured_at=T0 + 0.01 + i * 0.05))
    for j in range(11):
        buffer.push(Frame(seq=20 + j, image=stamped[20 + j], captured_at=T0 + 2.01 + j * 0.2))

    [result] = results.wait()
    assert result.ok and result.duration_s == 4.0
    paused = [18] * 10
    slow = [20 + j // 2 for j in range(20)]
    assert shown_indices(result.path) == list(range(0, 20, 2)) + paused + slow


def test_overlapping_requests_share_one_stream(
    recorder: ClipRecorder, stamped: list[np.ndarray], tmp_path: Path
) -> None:
    buffer = ClipBuffer("cam")
    results = Results()
    push(buffer, stamped, 0, 30)
    recorder.request_clip(buffer, T0 + 3, 2, 2, tmp_path / "a.mp4", results)
    recorder.request_clip(buffer, T0 + 4, 2, 2, tmp_path / "b.mp4", results)
    push(buffer, stamped, 30, 61)
    recorder.request_clip(buffer, T0 + 1.5, 1, 1, tmp_path / "past.mp4", results)  # all buffered already

    by_name = {r.path.name: r for r in results.wait(3)}
    assert all(r.ok for r in by_name.values())
    assert shown_indices(tmp_path / "a.mp4") == list(range(10, 50))
    assert shown_indices(tmp_path / "b.mp4") == list(range(20, 60))
    assert shown_indices(tmp_path / "past.mp4") == list(range(5, 25))


def test_buffer_memory_is_bounded_by_seconds_and_bytes(
    recorder: ClipRecorder, person_frames: list[np.ndarray], tmp_path: Path
) -> None:
    by_time = ClipBuffer("cam", seconds=3)
    push(by_time, person_frames, 0, 100)
    stats = by_time.stats()
    assert stats.span_s == pytest.approx(3.0) and stats.frames == 31

    by_bytes = ClipBuffer("cam", seconds=10, max_bytes=100_000)
    push(by_bytes, person_frames, 0, 100)
    stats = by_bytes.stats()
    assert 0 < stats.jpeg_bytes <= 100_000 and stats.span_s < 1

    # A clip from it starts where the buffer does, not where it was asked to.
    results = Results()
    recorder.request_clip(by_bytes, T0 + 9.9, 5, 0.1, tmp_path / "clip.mp4", results)
    [result] = results.wait()
    assert result.ok and result.frames == stats.frames
    assert result.started_at == pytest.approx(T0 + 9.9 - stats.span_s)


def test_a_stream_that_ends_early_gives_a_shorter_clip(
    recorder: ClipRecorder, vtest_path: Path, ffmpeg: str, ffprobe: str, tmp_path: Path
) -> None:
    short = tmp_path / "short.avi"  # 1.5 s at 10 fps
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(vtest_path), "-frames:v", "15", "-c", "copy", str(short)], check=True
    )
    buffer = ClipBuffer("cam")
    first: list[Frame] = []

    def on_frame() -> None:
        frame = source.latest()
        if frame is not None:
            buffer.push(frame)
            if not first:
                first.append(frame)

    source = FrameSource(parse_source(str(short), video_dir=None), name="cam", loop_files=False, on_frame=on_frame)
    source.start()
    try:
        event = wait_for(lambda: first, 5, "the first frame")[0].captured_at + 0.5
        results = Results()
        recorder.request_clip(buffer, event, 0.5, 5, tmp_path / "clip.mp4", results)
        [result] = results.wait(timeout_s=10)
    finally:
        source.stop()
    assert result.ok and result.cut_short
    assert 1.2 <= result.duration_s <= 1.6  # what the file had, at real speed
    assert probe(ffprobe, result.path)["duration"] == pytest.approx(result.duration_s, abs=0.15)


def test_a_camera_that_sends_nothing_gives_a_failure(recorder: ClipRecorder, tmp_path: Path) -> None:
    results = Results()
    recorder.request_clip(ClipBuffer("silent"), T0, 2, 2, tmp_path / "clip.mp4", results)
    [result] = results.wait(timeout_s=5)
    assert not result.ok and "silent sent no frame" in (result.error or "")
    assert not (tmp_path / "clip.mp4").exists()


def test_a_clip_that_cannot_be_written_fails_cleanly(
    recorder: ClipRecorder, stamped: list[np.ndarray], tmp_path: Path
) -> None:
    buffer = ClipBuffer("cam")
    push(buffer, stamped, 0, 20)
    (tmp_path / "taken").write_text("a file where the clip folder should be")
    results = Results()
    recorder.request_clip(buffer, T0 + 1, 1, 0.5, tmp_path / "taken" / "clip.mp4", results)
    [result] = results.wait()
    assert not result.ok and "could not write the clip" in (result.error or "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_clock_stepping_back_restarts_the_buffer(
    recorder: ClipRecorder, stamped: list[np.ndarray], tmp_path: Path
) -> None:
    buffer = ClipBuffer("cam")
    push(buffer, stamped, 0, 21)
    results = Results()
    recorder.request_clip(buffer, T0 + 2, 1, 3, tmp_path / "clip.mp4", results)
    assert buffer.push(Frame(seq=21, image=stamped[21], captured_at=T0 - 3600))
    assert buffer.stats().frames == 1
    [result] = results.wait()
    assert result.ok and result.cut_short
    assert shown_indices(result.path) == list(range(10, 21))


def test_requests_beyond_the_limits_are_refused(ffmpeg: str, tmp_path: Path) -> None:
    recorder = ClipRecorder(ffmpeg=ffmpeg, max_clips=1, max_clip_s=30, stall_timeout_s=60)
    buffer = ClipBuffer("cam")
    results = Results()
    for pre_s, post_s in ((-1, 2), (0, 0), (20, 20)):
        with pytest.raises(ValueError):
            recorder.request_clip(buffer, T0, pre_s, post_s, tmp_path / "clip.mp4", results)
    recorder.request_clip(buffer, T0, 2, 2, tmp_path / "first.mp4", results)
    with pytest.raises(ClipError, match="already being recorded"):
        recorder.request_clip(buffer, T0, 2, 2, tmp_path / "second.mp4", results)

    recorder.close()  # answers the pending request at once, with the frames it has (none)
    [result] = results.items
    assert result.path.name == "first.mp4" and result.cut_short and not result.ok
    with pytest.raises(ClipError, match="closed"):
        recorder.request_clip(buffer, T0, 2, 2, tmp_path / "third.mp4", results)


def test_a_missing_ffmpeg_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ClipError, match="ffmpeg not found.*apt-get install ffmpeg"):
        ClipRecorder()
    with pytest.raises(ClipError, match="ffmpeg not found"):
        ClipRecorder(ffmpeg=str(tmp_path / "ffmpeg"))
