"""Video sources: validate a camera URL, then capture its newest frame on a background thread.

A :class:`FrameSource` behaves like a live camera whatever it reads: it keeps only
the newest decoded frame (a slow consumer skips frames instead of falling behind),
plays files at their native frame rate in a loop, and reconnects on its own with
capped exponential backoff. Nothing it does raises into the caller; problems show
up in :meth:`FrameSource.stats` in plain words, with credentials redacted.
"""
from __future__ import annotations

import collections
import dataclasses
import enum
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import cv2
import numpy as np

from workers.pipeline.probe import explain_open_failure

log = logging.getLogger(__name__)

SourceKind = Literal["rtsp", "http", "file"]
SourceState = Literal["connecting", "online", "unreachable", "stopped"]

_SCHEMES: dict[str, SourceKind] = {"rtsp": "rtsp", "rtsps": "rtsp", "http": "http", "https": "http"}
_SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pass", "pwd", "token", "key", "auth"})
_USERINFO = re.compile(r"(?<=://)([^/@:]*):([^/@]*)@")
_FPS_WINDOW_S = 5.0
_DEFAULT_FILE_FPS = 25.0
_PROBE_TIMEOUT_S = 5.0
_REDACTED = "***"


class SourceError(ValueError):
    """A source URL that is invalid, or a stream that cannot be read; the message is for people."""


def redact_url(url: str) -> str:
    """``url`` with its password (userinfo and password-like query parameters) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # unparseable (bad port, bad IPv6): still never leak a password
        return _redact_text(url)
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{_REDACTED}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_QUERY_KEYS for key, _ in pairs):
            query = urlencode(
                [(k, _REDACTED if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*"
            )
    return parts._replace(netloc=netloc, query=query).geturl()


def _redact_text(text: str) -> str:
    """Any ``scheme://user:password@`` inside ``text`` (an error message, say) with ``***``."""
    return _USERINFO.sub(rf"\1:{_REDACTED}@", text)


@dataclass(frozen=True, repr=False)
class SourceSpec:
    """A validated source. For files, ``url`` is the resolved absolute path."""

    kind: SourceKind
    url: str

    def __repr__(self) -> str:
        return f"SourceSpec(kind={self.kind!r}, url={redact_url(self.url)!r})"


def parse_source(url: str, *, video_dir: Path | None) -> SourceSpec:
    """Validate a source as typed by an operator.

    Accepts ``rtsp://``, ``rtsps://``, ``http://`` and ``https://`` URLs with a host
    (RTSP cameras, MJPEG or HLS over HTTP), and video files inside ``video_dir``: a
    path relative to it, an absolute path, or a ``file://`` URL. Symlinks are
    followed before the containment check, so nothing can point outside the folder.
    ``video_dir=None`` allows any existing local file (the offline CLI, run by the
    machine's own operator).

    Raises:
        SourceError: with a message that says what to type instead.
    """
    text = url.strip()
    if not text:
        raise SourceError("the source is empty: enter an rtsp:// or http(s):// URL, or a video file name")
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme in _SCHEMES:
            _ = parts.port  # raises ValueError when the port is not a number in 0..65535
    except ValueError as exc:  # that, or a bad IPv6 literal
        raise SourceError(f"malformed URL {redact_url(text)!r}: {exc}") from None
    if scheme in _SCHEMES:
        if not parts.hostname:
            raise SourceError(f"{redact_url(text)!r} has no host: use {scheme}://HOST[:PORT]/PATH")
        return SourceSpec(kind=_SCHEMES[scheme], url=text)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise SourceError(f"file URL {text!r} names a remote host: only local files are allowed")
        return _file_source(Path(unquote(parts.path)), video_dir)
    if scheme:
        raise SourceError(
            f"unsupported scheme {scheme!r}: use rtsp://, rtsps://, http(s):// or a video file"
            + (f" inside {video_dir}" if video_dir else "")
        )
    return _file_source(Path(text), video_dir)


def _file_source(path: Path, video_dir: Path | None) -> SourceSpec:
    if video_dir is None:
        resolved = path.expanduser().resolve()
        if not resolved.is_file():
            raise SourceError(f"{path} does not exist or is not a file")
        return SourceSpec(kind="file", url=str(resolved))
    root = video_dir.resolve()
    resolved = (root / path).resolve()  # an absolute ``path`` replaces ``root``
    if not resolved.is_relative_to(root):
        raise SourceError(f"{path} is outside the video folder {root}: put the file in that folder")
    if not resolved.is_file():
        raise SourceError(f"no video file {path} in {root}")
    return SourceSpec(kind="file", url=str(resolved))


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame. ``image`` is read-only: copy it before drawing on it."""

    seq: int
    """Increases by one per decoded frame of this source, across reconnects and file loops."""
    image: np.ndarray
    captured_at: float
    """``time.time()`` when the frame was decoded."""


@dataclass
class SourceStats:
    """A snapshot of a source's health, for dashboards and logs (credentials redacted)."""

    state: SourceState = "connecting"
    detail: str = ""
    frames_decoded: int = 0
    frames_corrupt: int = 0
    frames_dropped: int = 0
    """Frames replaced by a newer one before anyone read them (the consumer is slower)."""
    reconnects: int = 0
    decoded_fps: float = 0.0
    """Frames decoded per second over the last few seconds."""
    last_frame_time: float | None = None
    width: int | None = None
    height: int | None = None


class _Outcome(enum.Enum):
    FAILED = "failed"
    ENDED = "ended"  # a file finished and loop_files is off
    STOPPED = "stopped"


def open_capture(
    spec: SourceSpec, *, open_timeout_s: float, read_timeout_s: float, decode_threads: int = 0
) -> cv2.VideoCapture:
    """Open ``spec`` with FFmpeg, or raise :class:`SourceError` saying why not.

    RTSP goes over TCP (``OPENCV_FFMPEG_CAPTURE_OPTIONS=rtsp_transport;tcp``, unless the
    operator set that variable): UDP loses packets, and so whole frames, on busy
    networks. The timeouts bound how long opening and each read may block.
    ``decode_threads``: FFmpeg's decoding threads; 0 lets FFmpeg choose (one per core).
    """
    if spec.kind == "rtsp":
        # One process-wide value, identical for every camera: safe to set from any thread.
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, max(1, int(open_timeout_s * 1000)),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC, max(1, int(read_timeout_s * 1000)),
    ]  # fmt: skip
    if decode_threads:
        params += [cv2.CAP_PROP_N_THREADS, decode_threads]
    capture = cv2.VideoCapture(spec.url, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        raise SourceError(explain_open_failure(spec.kind, spec.url, timeout_s=min(open_timeout_s, _PROBE_TIMEOUT_S)))
    return capture


def is_picture(image: np.ndarray | None) -> bool:
    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] == 3
        and image.shape[0] > 0
        and image.shape[1] > 0
    )


def grab_one_frame(spec: SourceSpec, timeout_s: float = 10.0) -> np.ndarray:
    """Open ``spec`` and return its first good frame: the "test connection" button.

    Raises:
        SourceError: the reason in plain words (refused, unreachable, timed out,
            authentication failed, not a video, no picture).
    """
    deadline = time.monotonic() + timeout_s
    capture = open_capture(spec, open_timeout_s=timeout_s, read_timeout_s=timeout_s)
    try:
        while time.monotonic() < deadline:
            ok, image = capture.read()
            if not ok:
                raise SourceError("the stream opened but sent no picture")
            if is_picture(image):
                return image
        raise SourceError(f"no usable picture within {timeout_s:g} s (the stream sends corrupt frames)")
    finally:
        capture.release()


class FrameSource:
    """Captures one source on one daemon thread and keeps only its newest frame.

    ``latest()`` and ``stats()`` are safe from any thread. One consumer is assumed
    for the ``frames_dropped`` count.
    """

    def __init__(
        self,
        spec: SourceSpec,
        *,
        name: str,
        open_timeout_s: float = 10,
        read_timeout_s: float = 10,
        stall_timeout_s: float = 10,
        backoff_initial_s: float = 1,
        backoff_max_s: float = 30,
        loop_files: bool = True,
        realtime_files: bool = True,
        decode_threads: int = 0,
        on_frame: Callable[[], None] | None = None,
        on_frame_captured: Callable[[Frame], object] | None = None,
    ) -> None:
        """
        Args:
            name: for logs and the thread name (a camera name, never the URL).
            open_timeout_s: longest wait for a connection and the stream's first bytes.
            read_timeout_s: longest wait for the next packet before the stream counts as lost.
            stall_timeout_s: longest time with only corrupt or no frames before reconnecting.
            backoff_initial_s, backoff_max_s: the wait before reconnect attempt n is
                ``min(max, initial * 2**(n-1))``, less up to 20 % of jitter so many
                cameras behind one switch do not retry in lockstep.
            loop_files: start a file again at its end, like an endless camera.
            on_frame: called on the capture thread after each new frame (to wake a consumer).
            on_frame_captured: called on the capture thread with each new frame, before
                ``on_frame``, whether or not anyone takes it (to record every frame: the
                clip buffer). It must be quick: it delays the next read.
            realtime_files: decode files at their native frame rate. Off, a file is decoded as
                fast as its frames are taken (replays, benchmarks): no frame is skipped and no
                CPU goes to frames nobody reads.
            decode_threads: FFmpeg's decoding threads for this source; 0: FFmpeg chooses
                (one per core). A worker with many cameras decodes them in parallel, so one
                thread each costs the least CPU (no hand-over between decoding threads).
        """
        self.spec = spec
        self.name = name
        self._open_timeout_s = open_timeout_s
        self._read_timeout_s = read_timeout_s
        self._stall_timeout_s = stall_timeout_s
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._loop_files = loop_files
        self._decode_threads = decode_threads
        self._realtime = realtime_files and spec.kind == "file"
        self._paced_by_consumer = not realtime_files and spec.kind == "file"
        self._on_frame = on_frame
        self._on_frame_captured = on_frame_captured
        self._taken = threading.Event()  # the newest frame was handed out by latest()
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._frame: Frame | None = None
        self._consumed_seq = -1
        self._next_seq = 0
        self._stats = SourceStats(detail=f"not started: {redact_url(spec.url)}")
        self._frame_times: collections.deque[float] = collections.deque(maxlen=1024)

    def start(self) -> None:
        """Start capturing on a daemon thread."""
        if self._thread is not None:
            raise RuntimeError(f"source {self.name} was already started")
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop capturing and wait for the thread (at most one open, with its diagnosis, or one read)."""
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=self._open_timeout_s + self._read_timeout_s + 2 * _PROBE_TIMEOUT_S)
            if not self._thread.is_alive():
                return  # the thread recorded its final state
            log.warning("source %s: capture thread still blocked in FFmpeg after stop()", self.name)
        self._set_state("stopped", "stopped")

    def latest(self, after_seq: int = -1) -> Frame | None:
        """The newest frame if it is newer than ``after_seq``, else ``None``."""
        with self._lock:
            frame = self._frame
            if frame is None or frame.seq <= after_seq:
                return None
            self._consumed_seq = max(self._consumed_seq, frame.seq)
        self._taken.set()
        return frame

    def newest_seq(self) -> int:
        """The sequence number of the newest frame, -1 before the first; takes nothing."""
        with self._lock:
            return -1 if self._frame is None else self._frame.seq

    def stats(self) -> SourceStats:
        """A copy of the current health figures."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._frame_times if now - t <= _FPS_WINDOW_S]
            # At least a 1 s span: right after connecting, FFmpeg hands over the frames it
            # buffered while probing the stream in one burst.
            fps = (len(recent) - 1) / max(recent[-1] - recent[0], 1.0) if len(recent) > 1 else 0.0
            return dataclasses.replace(self._stats, decoded_fps=fps)

    # --- capture thread -------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop_event.is_set():
            if failures:
                with self._lock:
                    self._stats.reconnects += 1
            self._set_state("connecting", f"opening {redact_url(self.spec.url)}")
            try:
                outcome, detail, got_frames = self._capture_once()
            except Exception as exc:  # an OpenCV error or a bug must not end capture for good
                detail = _redact_text(f"unexpected capture error: {type(exc).__name__}: {exc}")
                log.error("source %s: %s", self.name, detail)  # no traceback: it could show the URL
                outcome, got_frames = _Outcome.FAILED, False
            if outcome is _Outcome.STOPPED:
                break
            if outcome is _Outcome.ENDED:
                self._set_state("stopped", detail)
                return
            failures = 1 if got_frames else failures + 1
            delay = min(self._backoff_max_s, self._backoff_initial_s * 2 ** (failures - 1))
            delay *= random.uniform(0.8, 1.0)
            self._set_state("unreachable", f"{detail}; retrying in {delay:.1f} s")
            log.warning("source %s unreachable: %s; retrying in %.1f s", self.name, detail, delay)
            self._stop_event.wait(delay)
        self._set_state("stopped", "stopped")

    def _capture_once(self) -> tuple[_Outcome, str, bool]:
        """Open the source and read it until it fails, ends or is stopped.

        Returns the outcome, the reason in plain words, and whether any frame came.
        """
        got_frames = False
        while True:  # one pass per file loop; live streams stay in the first pass
            opening_since = time.monotonic()
            try:
                capture = open_capture(
                    self.spec, open_timeout_s=self._open_timeout_s, read_timeout_s=self._read_timeout_s,
                    decode_threads=self._decode_threads,
                )
            except SourceError as exc:
                return _Outcome.FAILED, str(exc), got_frames
            try:
                outcome, detail, frames = self._read(capture, opening_since)
            finally:
                capture.release()
            got_frames = got_frames or frames > 0
            if outcome is not _Outcome.ENDED:
                return outcome, detail, got_frames
            if frames == 0:
                return _Outcome.FAILED, "the file has no frames that can be decoded", got_frames
            if not self._loop_files:
                return outcome, detail, got_frames

    def _read(self, capture: cv2.VideoCapture, opening_since: float) -> tuple[_Outcome, str, int]:
        """Read frames from an open capture; returns the outcome, its reason and the frames read."""
        period = 1.0 / native_fps(capture) if self._realtime else 0.0
        frames = 0
        last_good = next_due = time.monotonic()
        while not self._stop_event.is_set():
            started = time.monotonic()
            ok, image = capture.read()
            now = time.monotonic()
            if not ok:
                if self.spec.kind == "file":
                    return _Outcome.ENDED, "end of file", frames
                if now - started >= 0.9 * self._read_timeout_s:
                    return _Outcome.FAILED, f"no data for {self._read_timeout_s:g} s (timed out)", frames
                return _Outcome.FAILED, "the stream ended or the connection was lost", frames
            if not is_picture(image):
                with self._lock:
                    self._stats.frames_corrupt += 1
                if now - last_good > self._stall_timeout_s:
                    return _Outcome.FAILED, f"no usable picture for {self._stall_timeout_s:g} s (stalled)", frames
                continue
            last_good = now
            frames += 1
            if self._paced_by_consumer and frames > 1:
                # this frame was decoded while the consumer worked on the last one
                while not self._taken.wait(0.1):
                    if self._stop_event.is_set():
                        return _Outcome.STOPPED, "stopped", frames
            self._taken.clear()
            self._publish(image, opened_in=now - opening_since)
            if period:
                next_due += period
                lag = next_due - time.monotonic()
                if lag > 0:
                    self._stop_event.wait(lag)
                elif lag < -1.0:  # fell far behind (slow disk, suspended VM): do not burst
                    next_due = time.monotonic()
        return _Outcome.STOPPED, "stopped", frames

    def _publish(self, image: np.ndarray, *, opened_in: float) -> None:
        image.flags.writeable = False
        height, width = image.shape[:2]
        with self._lock:
            stats = self._stats
            if self._frame is not None and self._frame.seq > self._consumed_seq:
                stats.frames_dropped += 1
            frame = self._frame = Frame(seq=self._next_seq, image=image, captured_at=time.time())
            self._next_seq += 1
            self._frame_times.append(time.monotonic())
            stats.frames_decoded += 1
            stats.last_frame_time = self._frame.captured_at
            stats.width, stats.height = width, height
            if stats.state != "online":
                stats.state, stats.detail = "online", f"{width}x{height}"
                log.info("source %s online (%dx%d), first frame after %.1f s", self.name, width, height, opened_in)
        if self._on_frame_captured is not None:
            try:
                self._on_frame_captured(frame)
            except Exception:  # a listener's bug must not end capture
                log.exception("source %s: on_frame_captured failed", self.name)
        if self._on_frame is not None:
            self._on_frame()

    def _set_state(self, state: SourceState, detail: str) -> None:
        with self._lock:
            self._stats.state, self._stats.detail = state, detail


def native_fps(capture: cv2.VideoCapture) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return fps if math.isfinite(fps) and 0.5 <= fps <= 240 else _DEFAULT_FILE_FPS
