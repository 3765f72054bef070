"""Event clips: a rolling buffer of each camera's recent frames, and browser-ready MP4s cut from it.

A :class:`ClipBuffer` per camera keeps the last few seconds of frames, at most ``max_fps``
of them a second, shrunk to ``max_width`` and stored as JPEG: 10 s at 10 fps of a 640x360
picture take 1.3-3.3 MB this way against 69 MB as raw BGR, for 0.4 ms of JPEG encoding a
frame (shrinking a wider one costs more, see :meth:`ClipBuffer.push`). One :class:`ClipRecorder` per process cuts clips from any number of buffers: a
request takes the frames from before the event out of the buffer, goes on collecting until
the end of its window, then a background thread pipes the frames to Debian's ``ffmpeg``,
which writes H.264 (High profile, yuv420p) with the index in front (``+faststart``), so a
browser plays the clip while it downloads.

Frames come at whatever times the camera delivered them. A clip is played at a constant
``max_fps``: each 1/``max_fps`` slot shows the newest frame captured before the slot ended,
so a stream that slowed down or paused plays at real speed, the picture held meanwhile.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from workers.pipeline.drawing import downscale, encode_jpeg
from workers.pipeline.sources import Frame

log = logging.getLogger(__name__)

_MIB = 2**20


class ClipError(RuntimeError):
    """A clip that cannot be recorded at all (no ffmpeg, too many clips at once); the message is for people."""


@dataclass(frozen=True, slots=True)
class _Jpeg:
    """One buffered frame. Immutable, so buffers and overlapping requests share it."""

    captured_at: float
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class ClipResult:
    """What became of a requested clip, handed to its ``on_finished`` callback."""

    path: Path
    """Where the clip was asked for; the file is there only if :attr:`ok`."""
    event_time: float
    error: str | None = None
    """Why there is no clip, in plain words; ``None`` when there is one."""
    frames: int = 0
    """Frames in the file, at the buffer's ``max_fps``."""
    duration_s: float = 0.0
    started_at: float = 0.0
    """Capture time (epoch seconds) of the clip's first frame: after ``event_time - pre_s`` when
    the buffer did not reach back that far."""
    cut_short: bool = False
    """The camera stopped sending frames before ``event_time + post_s``: the clip ends early."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ClipBufferStats:
    frames: int
    jpeg_bytes: int
    span_s: float
    """Capture time between the oldest and the newest buffered frame."""


@dataclass(eq=False)
class _Request:
    buffer: ClipBuffer
    event_time: float
    start: float
    end: float
    out_path: Path
    on_finished: Callable[[ClipResult], None]
    on_collected: Callable[[_Request], None]
    """Called, without the buffer's lock, once the buffer stops feeding the request."""
    requested_at: float = field(default_factory=time.monotonic)
    frames: list[_Jpeg] = field(default_factory=list)
    """Frames captured in [start, end), oldest first; appended to under the buffer's lock."""
    cut_short: bool = False


class ClipBuffer:
    """The last ``seconds`` of one camera's frames, as JPEG, for event clips.

    ``push`` may be called from any thread; one pusher per camera is expected (a frame that
    loses a race against a newer one is dropped).
    """

    def __init__(
        self,
        name: str,
        *,
        seconds: float = 10.0,
        max_bytes: int = 8 * _MIB,
        max_fps: float = 10.0,
        max_width: int = 640,
        jpeg_quality: int = 80,
    ) -> None:
        """
        Args:
            name: for logs (a camera name, never its URL).
            seconds: how far back clips can start. Leave a margin over the longest ``pre_s``
                for the time between an event and its clip request.
            max_bytes: the most JPEG data kept, whatever ``seconds`` says: a busy picture
                shortens the pre-event part of clips instead of growing memory.
            max_fps: frames kept a second, and the frame rate of the clips.
            max_width: frames are shrunk to this width (aspect kept) before storage.
        """
        if seconds <= 0 or max_bytes <= 0 or max_fps <= 0 or max_width <= 0:
            raise ValueError("seconds, max_bytes, max_fps and max_width must be positive")
        self.name = name
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.max_fps = max_fps
        self.max_width = max_width
        self.jpeg_quality = jpeg_quality
        self._lock = threading.Lock()
        self._frames: collections.deque[_Jpeg] = collections.deque()
        self._bytes = 0
        self._last_slot: int | None = None
        self._last_kept: float | None = None
        """``time.monotonic()`` when the newest frame was kept: how stalled requests are noticed."""
        self._requests: list[_Request] = []

    def push(self, frame: Frame) -> bool:
        """Keep ``frame`` if it is the first of its 1/``max_fps`` slot; returns whether it was kept.

        A kept frame costs a resize and a JPEG encode on the calling thread (0.5 ms at 480x360,
        2-3 ms from 768x432 or 1080p on one core); a skipped one costs nothing.
        """
        slot = math.floor(frame.captured_at * self.max_fps)
        dropped: list[_Request] = []
        with self._lock:
            if self._last_slot is not None:
                behind = self._last_slot - slot
                if 0 <= behind <= self.max_fps:  # this slot has its frame (or a newer frame won a race)
                    return False
                if behind > 0:  # the clock stepped back: buffered times no longer compare with new ones
                    back_s = behind / self.max_fps
                    log.warning("clips %s: the clock went back %.1f s; clip buffer restarted", self.name, back_s)
                    self._frames.clear()
                    self._bytes = 0
                    dropped, self._requests = self._requests, []
            self._last_slot = slot
        self._hand_over(dropped, cut_short=True)
        image = downscale(frame.image, self.max_width)
        height, width = image.shape[:2]
        kept = _Jpeg(frame.captured_at, encode_jpeg(image, max_width=None, quality=self.jpeg_quality), width, height)
        with self._lock:
            if self._frames and kept.captured_at < self._frames[-1].captured_at:
                return False
            self._frames.append(kept)
            self._bytes += len(kept.data)
            self._last_kept = time.monotonic()
            oldest_wanted = kept.captured_at - self.seconds
            frames = self._frames
            while len(frames) > 1 and (frames[0].captured_at < oldest_wanted or self._bytes > self.max_bytes):
                self._bytes -= len(frames.popleft().data)
            finished, collecting = [], []
            for request in self._requests:
                if kept.captured_at >= request.end:
                    finished.append(request)
                    continue
                if kept.captured_at >= request.start:
                    request.frames.append(kept)
                collecting.append(request)
            self._requests = collecting
        self._hand_over(finished, cut_short=False)
        return True

    def stats(self) -> ClipBufferStats:
        with self._lock:
            span = self._frames[-1].captured_at - self._frames[0].captured_at if self._frames else 0.0
            return ClipBufferStats(frames=len(self._frames), jpeg_bytes=self._bytes, span_s=span)

    # --- for ClipRecorder ---------------------------------------------------------------

    def _attach(self, request: _Request) -> bool:
        """Give ``request`` the buffered frames of its window and, unless it has them all
        already (the return value), the frames to come."""
        with self._lock:
            request.frames = [f for f in self._frames if request.start <= f.captured_at < request.end]
            if self._frames and self._frames[-1].captured_at >= request.end:
                return True
            self._requests.append(request)
            return False

    def _detach(self, request: _Request) -> bool:
        """Stop feeding ``request``; ``False`` if a push finished it first (and handed it over)."""
        with self._lock:
            if request not in self._requests:
                return False
            self._requests.remove(request)
            return True

    def _stalled_since(self, request: _Request) -> float:
        """``time.monotonic()`` since which no frame came for ``request``."""
        last_kept = self._last_kept  # a float read: no lock needed
        return request.requested_at if last_kept is None else max(request.requested_at, last_kept)

    @staticmethod
    def _hand_over(requests: list[_Request], *, cut_short: bool) -> None:
        for request in requests:
            request.cut_short = cut_short
            request.on_collected(request)


class ClipRecorder:
    """Records clips from :class:`ClipBuffer` s: one thread watches for stalled streams, a few
    encode. Callbacks run on those threads, so they must not block for long."""

    def __init__(
        self,
        *,
        ffmpeg: str = "ffmpeg",
        max_encodes: int = 2,
        max_clips: int = 16,
        max_clip_s: float = 60.0,
        stall_timeout_s: float = 5.0,
        encode_timeout_s: float = 60.0,
    ) -> None:
        """
        Args:
            ffmpeg: the binary, a name looked up on ``PATH`` or a path.
            max_encodes: ffmpeg processes at once (each uses about one core for under a second
                per 10 s clip at 640x360).
            max_clips: clips collecting frames, waiting or encoding at once; more are refused,
                which bounds the memory held by requests (``max_clip_s`` of frames each at worst).
            max_clip_s: the longest clip (``pre_s + post_s``) a request may ask for.
            stall_timeout_s: a request whose camera sent no frame for this long is encoded
                with the frames it has.
            encode_timeout_s: ffmpeg is killed after this long and the clip fails.

        Raises:
            ClipError: ffmpeg is not installed.
        """
        found = shutil.which(ffmpeg)
        if found is None:
            raise ClipError(
                f"ffmpeg not found ({ffmpeg!r} is not on PATH): event clips need it; "
                "install Debian's ffmpeg (apt-get install ffmpeg, or scripts/system-deps.sh)"
            )
        if max_encodes < 1 or max_clips < 1:
            raise ValueError("max_encodes and max_clips must be at least 1")
        self.ffmpeg = found
        self.max_clips = max_clips
        self.max_clip_s = max_clip_s
        self.stall_timeout_s = stall_timeout_s
        self.encode_timeout_s = encode_timeout_s
        self._cond = threading.Condition()
        self._collecting: list[_Request] = []
        self._clips = 0  # requests accepted and not yet reported
        self._closed = False
        self._to_encode: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._watcher = threading.Thread(target=self._watch, name="clip-watch", daemon=True)
        self._encoders = [
            threading.Thread(target=self._encode_loop, name=f"clip-encode-{i}", daemon=True) for i in range(max_encodes)
        ]
        for thread in (self._watcher, *self._encoders):
            thread.start()

    def request_clip(
        self,
        buffer: ClipBuffer,
        event_time: float,
        pre_s: float,
        post_s: float,
        out_path: Path,
        on_finished: Callable[[ClipResult], None],
    ) -> None:
        """Record ``buffer``'s camera from ``event_time - pre_s`` to ``event_time + post_s`` to ``out_path``.

        Returns at once. ``on_finished`` is called exactly once, on a recorder thread, when the
        clip is at ``out_path`` (written under a temporary name, then renamed) or has failed.
        ``event_time`` is in epoch seconds, like :attr:`Frame.captured_at`.

        Raises:
            ValueError: a negative or empty window, or one longer than ``max_clip_s``.
            ClipError: the recorder is closed or already has ``max_clips`` clips under way.
        """
        if pre_s < 0 or post_s < 0 or not 0 < pre_s + post_s <= self.max_clip_s:
            raise ValueError(f"pre_s and post_s must be >= 0 with 0 < pre_s + post_s <= {self.max_clip_s:g}")
        request = _Request(
            buffer, event_time, event_time - pre_s, event_time + post_s, Path(out_path), on_finished, self._collected
        )
        with self._cond:
            if self._closed:
                raise ClipError("the clip recorder is closed")
            if self._clips >= self.max_clips:
                raise ClipError(f"{self._clips} clips are already being recorded: clip {out_path} dropped")
            self._clips += 1
            if buffer._attach(request):
                self._to_encode.put(request)
            else:
                self._collecting.append(request)
                self._cond.notify_all()

    def close(self, timeout_s: float = 30.0) -> None:
        """Refuse new requests, encode the pending ones with the frames they have, and wait for that."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._watcher.join(timeout_s)
        for _ in self._encoders:
            self._to_encode.put(None)
        for thread in self._encoders:
            thread.join(max(0.0, deadline - time.monotonic()))

    # --- recorder threads ---------------------------------------------------------------

    def _collected(self, request: _Request) -> None:
        """Called by a buffer that finished feeding ``request`` (its window ended, or the clock jumped)."""
        with self._cond:
            self._collecting.remove(request)
            self._to_encode.put(request)
            self._cond.notify_all()  # close() waits for the last one

    def _watch(self) -> None:
        """Hand over requests whose camera stalled (or all of them, once closed) with the frames they have.

        A request that a push finished meanwhile is left to that push, which is waiting for the lock.
        """
        with self._cond:
            while True:
                now = time.monotonic()
                next_check: float | None = None
                for request in list(self._collecting):
                    due = request.buffer._stalled_since(request) + self.stall_timeout_s
                    if self._closed or due <= now:
                        if request.buffer._detach(request):
                            request.cut_short = True
                            self._collecting.remove(request)
                            self._to_encode.put(request)
                    else:
                        next_check = due - now if next_check is None else min(next_check, due - now)
                if self._closed and not self._collecting:
                    return
                self._cond.wait(next_check)

    def _encode_loop(self) -> None:
        while (request := self._to_encode.get()) is not None:
            try:
                result = self._encode(request)
            except Exception as exc:  # a bug must not stop the encoder, nor leave the request unanswered
                log.exception("clip %s: unexpected error", request.out_path)
                result = ClipResult(request.out_path, request.event_time, error=f"unexpected error: {exc!r}")
            if result.ok:
                log.info("clip %s: %d frames, %.1f s", result.path, result.frames, result.duration_s)
            else:
                log.warning("clip %s failed: %s", result.path, result.error)
            with self._cond:
                self._clips -= 1
            try:
                request.on_finished(result)
            except Exception:  # a broken callback must not stop the encoder
                log.exception("clip %s: on_finished raised", result.path)

    def _encode(self, request: _Request) -> ClipResult:
        fps = request.buffer.max_fps
        shown = _constant_rate(request.frames, request.end, fps, to_end=not request.cut_short)
        out = request.out_path
        if not shown:
            reason = f"camera {request.buffer.name} sent no frame between the clip's start and end"
            return ClipResult(out, request.event_time, error=reason, cut_short=request.cut_short)
        # yuv420p needs even sizes; a fixed size also absorbs a camera changing resolution mid-clip.
        width, height = (max(2, size // 2 * 2) for size in (shown[0].width, shown[0].height))
        temp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.part")
        rate = str(Fraction(fps).limit_denominator(1001))
        command = [
            self.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "mjpeg", "-framerate", rate, "-i", "pipe:0",
            "-vf", f"scale={width}:{height}", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-g", str(max(1, round(2 * fps))),  # a key frame every 2 s, for seeking
            "-movflags", "+faststart", "-f", "mp4", "-y", str(temp),
        ]  # fmt: skip
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                command, input=b"".join(f.data for f in shown), capture_output=True, timeout=self.encode_timeout_s
            )
            if done.returncode != 0:
                detail = done.stderr.decode(errors="replace").strip().splitlines()
                raise ClipError(f"ffmpeg failed (exit {done.returncode}): {detail[-1] if detail else 'no message'}")
            os.replace(temp, out)
        except subprocess.TimeoutExpired:
            error = f"ffmpeg took over {self.encode_timeout_s:g} s"
        except (OSError, ClipError) as exc:
            error = f"could not write the clip: {exc}"
        else:
            return ClipResult(
                out,
                request.event_time,
                frames=len(shown),
                duration_s=len(shown) / fps,
                started_at=math.floor(shown[0].captured_at * fps) / fps,
                cut_short=request.cut_short,
            )
        with contextlib.suppress(OSError):  # never written, or its folder is not one
            temp.unlink()
        return ClipResult(out, request.event_time, error=error, cut_short=request.cut_short)


def _constant_rate(frames: list[_Jpeg], end: float, fps: float, *, to_end: bool) -> list[_Jpeg]:
    """The frame to show in each 1/``fps`` slot, from the first frame's slot to ``end`` (``to_end``)
    or to the last frame's slot: the newest frame captured before the slot ended."""
    if not frames:
        return []
    first = math.floor(frames[0].captured_at * fps)
    last = math.ceil(end * fps) - 1 if to_end else math.floor(frames[-1].captured_at * fps)
    shown = []
    i = 0
    for slot in range(first, last + 1):
        while i + 1 < len(frames) and math.floor(frames[i + 1].captured_at * fps) <= slot:
            i += 1
        shown.append(frames[i])
    return shown
