"""Offline detection: read a whole video, stream or image folder in order and write the results.

The live stream workers keep only each camera's newest frame; here every frame counts.
:class:`FrameReader` reads sequentially, never dropping a frame except to sample down to
a requested rate, and :func:`process` sends the frames through the very same detector
(in batches) and tracker the stream workers use. The writers stream their format to a
text file frame by frame: MOTChallenge tracks, JSON lines, or COCO detection results.
"""
from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from workers.pipeline.detections import UNTRACKED, Detections
from workers.pipeline.detector import Detector
from workers.pipeline.sources import (
    SourceError,
    SourceSpec,
    is_picture,
    native_fps,
    open_capture,
    parse_source,
    redact_url,
)
from workers.pipeline.tracking import ObjectTracker

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
"""Files of an image folder that are read as frames (case-insensitive); others are ignored."""
DEFAULT_IMAGE_FPS = 25.0
"""The frame rate an image sequence is taken to have (for ``fps`` sampling and tracking)."""
DISPLAY_THRESHOLDS = (0.3, 0.45)
"""``(confidence, NMS IoU)`` for tracking and MOT/JSONL output, as the stream workers use."""
EVAL_THRESHOLDS = (0.01, 0.65)
"""``(confidence, NMS IoU)`` for COCO mAP evaluation (models/SOURCES.md)."""

OfflineKind = Literal["file", "rtsp", "http", "images"]


@dataclass(frozen=True, repr=False)
class OfflineSource:
    """A validated offline source: ``url`` is the resolved path of a video file, an image
    folder or a single image (``images``), or the stream URL (``rtsp``, ``http``)."""

    kind: OfflineKind
    url: str

    @property
    def is_stream(self) -> bool:
        return self.kind in ("rtsp", "http")

    def __repr__(self) -> str:
        return f"OfflineSource(kind={self.kind!r}, url={redact_url(self.url)!r})"


def parse_offline_source(text: str) -> OfflineSource:
    """Validate a source given on the command line.

    A local path (plain or ``file://``) may be anywhere, unlike a camera's source, but
    must exist: a folder or an image file is read as an image sequence, any other file
    as a video. Everything else is a URL and follows :func:`parse_source`'s rules
    (``rtsp://``, ``rtsps://``, ``http(s)://`` with a host).

    Raises:
        SourceError: the reason, naming the path or the (redacted) URL.
    """
    stripped = text.strip()
    if not stripped:
        raise SourceError("the source is empty: give a video file, an image folder or an rtsp:// or http(s):// URL")
    path = _local_path(stripped)
    if path is None:
        spec = parse_source(stripped, video_dir=None)  # only URLs get here
        return OfflineSource(kind=spec.kind, url=spec.url)
    if path.is_dir() or (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES):
        return OfflineSource(kind="images", url=str(path.resolve()))
    if path.is_file():
        return OfflineSource(kind="file", url=str(path.resolve()))
    if path.exists():
        raise SourceError(f"{path} is neither a video file nor a folder of images")
    raise SourceError(f"{path} does not exist: give a video file, an image folder or a stream URL")


def _local_path(text: str) -> Path | None:
    """The path ``text`` names when it is a plain path or a local ``file://`` URL, else ``None``."""
    try:
        parts = urlsplit(text)
    except ValueError:  # a malformed URL: parse_source says what is wrong with it
        return None
    if not parts.scheme:
        return Path(text).expanduser()
    if parts.scheme.lower() == "file" and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    return None


def list_images(path: Path) -> list[Path]:
    """The image files of a folder in file-name order (or ``[path]`` for one image file)."""
    if path.is_file():
        return [path]
    return sorted(
        (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()), key=lambda p: p.name
    )


@dataclass(frozen=True, eq=False)
class OfflineFrame:
    """One frame of an offline source. ``image`` is H x W x 3 BGR uint8."""

    index: int
    """0-based frame number in the source (position in the file list for image folders)."""
    timestamp_s: float
    """Seconds from the start of the source (``index / fps`` for files and image folders)."""
    image: np.ndarray
    name: str | None = None
    """The file name for image folders, else ``None``."""


class _Sampler:
    """Keeps the first frame of each ``1 / fps`` step of the timeline."""

    def __init__(self, fps: float | None) -> None:
        self._fps = fps
        self._last_step: int | None = None

    def _step(self, timestamp_s: float) -> int:
        assert self._fps is not None
        return math.floor(timestamp_s * self._fps + 1e-6)  # 0.2 s * 5 fps is step 1, not 0.99999

    def due(self, timestamp_s: float) -> bool:
        return self._fps is None or self._last_step is None or self._step(timestamp_s) > self._last_step

    def take(self, timestamp_s: float) -> None:
        if self._fps is not None:
            self._last_step = self._step(timestamp_s)


def sampled_count(total: int, native_fps: float, fps: float | None) -> int:
    """How many of ``total`` frames at ``native_fps`` sampling to ``fps`` keeps."""
    if total <= 0:
        return 0
    if fps is None or fps >= native_fps:
        return total
    return math.floor((total - 1) / native_fps * fps + 1e-6) + 1


class FrameReader(Iterator[OfflineFrame]):
    """Reads a source sequentially, every frame or sampled down to ``fps``; see :func:`read_frames`.

    Unreadable frames (corrupt images in a folder, undecodable video frames) are
    skipped with a warning and counted in ``frames_corrupt``; they never end the read.
    A stream is read until it ends or the caller stops iterating (no reconnects).
    Use it as a context manager, or call :meth:`close`, to release the video.
    """

    def __init__(
        self,
        source: OfflineSource,
        *,
        fps: float | None = None,
        image_fps: float = DEFAULT_IMAGE_FPS,
        open_timeout_s: float = 10,
        read_timeout_s: float = 10,
    ) -> None:
        """
        Raises:
            ValueError: ``fps`` or ``image_fps`` is not positive.
            SourceError: the video or stream does not open, or the folder holds no images.
        """
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if not image_fps > 0:
            raise ValueError(f"image_fps must be positive, got {image_fps}")
        self.source = source
        self.fps = fps
        self.frames_read = 0
        """Frames taken from the source so far, sampled out, corrupt or kept."""
        self.frames_corrupt = 0
        """Frames skipped because they could not be decoded."""
        self._capture: cv2.VideoCapture | None = None
        total: int | None
        if source.kind == "images":
            self._images = list_images(Path(source.url))
            if not self._images:
                raise SourceError(f"{source.url} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            self.native_fps = image_fps
            total = len(self._images)
        else:
            self._images = []
            self._capture = open_capture(
                SourceSpec(kind=source.kind, url=source.url),
                open_timeout_s=open_timeout_s,
                read_timeout_s=read_timeout_s,
            )
            self.native_fps = native_fps(self._capture)
            count = self._capture.get(cv2.CAP_PROP_FRAME_COUNT)
            total = int(count) if source.kind == "file" and math.isfinite(count) and count > 0 else None
        self.effective_fps = min(fps, self.native_fps) if fps is not None else self.native_fps
        """The rate of the frames this reader yields (what a tracker should be told)."""
        self.frame_count_hint = None if total is None else sampled_count(total, self.native_fps, fps)
        """How many frames this reader should yield (from the container's header for videos), or ``None``."""
        self._frames = self._read_images() if source.kind == "images" else self._read_video()

    def __iter__(self) -> FrameReader:
        return self

    def __next__(self) -> OfflineFrame:
        return next(self._frames)

    def close(self) -> None:
        """Stop reading and release the video; iterating afterwards yields nothing."""
        self._frames.close()
        if self._capture is not None:
            self._capture.release()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _read_images(self) -> Generator[OfflineFrame, None, None]:
        sampler = _Sampler(self.fps)
        for index, path in enumerate(self._images):
            self.frames_read += 1
            timestamp = index / self.native_fps
            if not sampler.due(timestamp):
                continue  # sampled out: not even decoded
            try:
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            except cv2.error as exc:
                log.debug("imread failed on %s: %s", path, exc)
                image = None
            if image is None or not is_picture(image):
                self.frames_corrupt += 1
                log.warning("skipping %s: not a readable image", path)
                continue
            sampler.take(timestamp)
            yield OfflineFrame(index=index, timestamp_s=timestamp, image=image, name=path.name)

    def _read_video(self) -> Generator[OfflineFrame, None, None]:
        capture = self._capture
        assert capture is not None
        sampler = _Sampler(self.fps)
        stream_clock = _StreamClock(self.native_fps) if self.source.is_stream else None
        index = -1
        try:
            while True:
                ok, image = capture.read()
                if not ok:
                    if stream_clock is not None:
                        log.warning("%s: the stream ended or the connection was lost", redact_url(self.source.url))
                    return
                index += 1
                self.frames_read += 1
                if not is_picture(image):
                    self.frames_corrupt += 1
                    log.warning("%s: skipping frame %d, which could not be decoded", redact_url(self.source.url), index)
                    continue
                timestamp = index / self.native_fps if stream_clock is None else stream_clock.read(capture)
                if sampler.due(timestamp):
                    sampler.take(timestamp)
                    yield OfflineFrame(index=index, timestamp_s=timestamp, image=image)
        finally:
            capture.release()


class _StreamClock:
    """Seconds since a stream's first frame, from its presentation times where they are usable.

    Frames FFmpeg buffered while the reader was busy keep their own times, so sampling
    follows the camera's clock, not the moment each frame happened to be read. A stream
    whose times do not increase falls back on counting frames at the nominal rate.
    """

    def __init__(self, native_fps: float) -> None:
        self._period = 1.0 / native_fps
        self._start: float | None = None
        self._last = 0.0

    def read(self, capture: cv2.VideoCapture) -> float:
        ms = capture.get(cv2.CAP_PROP_POS_MSEC)
        pts = ms / 1000 if math.isfinite(ms) and ms >= 0 else None
        if self._start is None:
            self._start = pts if pts is not None else 0.0
            return 0.0
        now = pts - self._start if pts is not None else -math.inf
        self._last = now if now > self._last else self._last + self._period
        return self._last


def read_frames(source: OfflineSource | str, *, fps: float | None = None, **options: Any) -> FrameReader:
    """Read ``source`` (an :class:`OfflineSource`, or a path or URL to parse) frame by frame.

    ``fps`` keeps the first frame of each ``1 / fps`` s step of the source's timeline
    (``None``: every frame); with a 10 fps video and ``fps=5``, frames 0, 2, 4, ...
    The returned reader also says ``frame_count_hint``, ``frames_read``, ``frames_corrupt``
    and ``effective_fps``. ``options`` go to :class:`FrameReader`.
    """
    if isinstance(source, str):
        source = parse_offline_source(source)
    return FrameReader(source, fps=fps, **options)


# --- writers ---------------------------------------------------------------------------


class TextSink(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


class ResultWriter(Protocol):
    """Writes the results of one frame at a time to a text stream."""

    def write(self, frame: OfflineFrame, detections: Detections) -> None: ...

    def finish(self) -> None:
        """Complete the format and flush (the stream itself stays open)."""
        ...


class MotWriter:
    """MOTChallenge tracking results: ``frame,id,left,top,width,height,conf,-1,-1,-1`` per line.

    Frames are numbered from 1 (source frame index + 1); only tracked detections of
    ``class_ids`` (the person class by default) are written, ordered by track id;
    boxes in pixels with 2 decimals, confidence with 4.
    """

    def __init__(self, out: TextSink, *, class_ids: Collection[int] = (0,)) -> None:
        self._out = out
        self._class_ids = np.asarray(sorted(class_ids), np.int32)

    def write(self, frame: OfflineFrame, detections: Detections) -> None:
        rows = detections[(detections.tracker_id != UNTRACKED) & np.isin(detections.class_id, self._class_ids)]
        order = np.argsort(rows.tracker_id, kind="stable")
        lines = [
            f"{frame.index + 1},{rows.tracker_id[i]},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
            f"{rows.confidence[i]:.4f},-1,-1,-1\n"
            for i in order
            for x1, y1, x2, y2 in (rows.xyxy[i].tolist(),)
        ]
        if lines:
            self._out.write("".join(lines))  # one write per frame: Ctrl-C never cuts a frame in half

    def finish(self) -> None:
        self._out.flush()


class JsonlWriter:
    """One JSON object per frame and line: ``frame`` (source index), ``timestamp_s``, ``name``
    and ``detections``, each with ``class_id``, ``class_name``, ``confidence``, ``xyxy``
    (pixels, 2 decimals) and ``track_id`` (``null`` when untracked)."""

    def __init__(self, out: TextSink, *, class_names: Sequence[str]) -> None:
        self._out = out
        self._class_names = class_names

    def write(self, frame: OfflineFrame, detections: Detections) -> None:
        record = {
            "frame": frame.index,
            "timestamp_s": round(frame.timestamp_s, 6),
            "name": frame.name,
            "detections": [
                {
                    "class_id": class_id,
                    "class_name": self._class_names[class_id],
                    "confidence": round(confidence, 4),
                    "xyxy": [round(v, 2) for v in xyxy],
                    "track_id": None if track_id == UNTRACKED else track_id,
                }
                for xyxy, confidence, class_id, track_id in zip(
                    detections.xyxy.tolist(),
                    detections.confidence.tolist(),
                    detections.class_id.tolist(),
                    detections.tracker_id.tolist(),
                )
            ],
        }
        self._out.write(json.dumps(record) + "\n")

    def finish(self) -> None:
        self._out.flush()


class CocoAnnotationError(ValueError):
    """A COCO annotation file that cannot be read or does not fit the model; the message is for people."""


@dataclass(frozen=True)
class CocoIndex:
    """What a COCO results file needs from the annotation file."""

    image_ids: dict[str, int]
    """Image id by file name."""
    category_ids: tuple[int, ...]
    """COCO category id by model class index."""

    @classmethod
    def load(cls, path: Path, class_names: Sequence[str]) -> CocoIndex:
        """Read ``path`` (``instances_*.json``); its categories sorted by id must be ``class_names``.

        Raises:
            CocoAnnotationError: unreadable, not COCO, or other categories than the model's classes.
        """
        try:
            with path.open(encoding="utf-8") as f:
                data = json.load(f)
            images = {Path(image["file_name"]).name: int(image["id"]) for image in data["images"]}
            categories = sorted((int(c["id"]), str(c["name"])) for c in data["categories"])
        except OSError as exc:
            raise CocoAnnotationError(f"cannot read the COCO annotations {path}: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise CocoAnnotationError(f"{path} is not a COCO annotation file ({type(exc).__name__}: {exc})") from None
        names = tuple(name for _, name in categories)
        if names != tuple(class_names):
            if len(names) != len(class_names):
                detail = f"it has {len(names)} categories, the model has {len(class_names)} classes"
            else:
                i = next(i for i, (a, b) in enumerate(zip(names, class_names)) if a != b)
                detail = (
                    f"category {categories[i][0]} is {names[i]!r} where the model's class {i} is {class_names[i]!r}"
                )
            raise CocoAnnotationError(
                f"the categories of {path}, sorted by id, are not the model's classes: {detail}"
            )
        return cls(image_ids=images, category_ids=tuple(cid for cid, _ in categories))


def coco_results(image_id: int, detections: Detections, category_ids: Sequence[int]) -> list[dict[str, Any]]:
    """COCO detection results of one image: ``{image_id, category_id, bbox: [x, y, w, h], score}``."""
    return [
        {
            "image_id": image_id,
            "category_id": category_ids[class_id],
            "bbox": [x1, y1, x2 - x1, y2 - y1],
            "score": score,
        }
        for (x1, y1, x2, y2), score, class_id in zip(
            detections.xyxy.tolist(), detections.confidence.tolist(), detections.class_id.tolist()
        )
    ]


class CocoWriter:
    """Streams a COCO results JSON list (for ``pycocotools`` ``loadRes``) built with :func:`coco_results`.

    Images are matched to the annotation file by file name; images it does not list
    get no results and are counted in ``unmatched``.
    """

    def __init__(self, out: TextSink, index: CocoIndex) -> None:
        self._out = out
        self._index = index
        self._items = 0
        self.unmatched = 0

    def write(self, frame: OfflineFrame, detections: Detections) -> None:
        image_id = self._index.image_ids.get(frame.name) if frame.name is not None else None
        if image_id is None:
            self.unmatched += 1
            log.warning("%s is not in the COCO annotations: no results for it", frame.name or f"frame {frame.index}")
            return
        items = coco_results(image_id, detections, self._index.category_ids)
        if items:
            first = "[\n" if self._items == 0 else ",\n"
            self._out.write(first + ",\n".join(json.dumps(item) for item in items))
            self._items += len(items)

    def finish(self) -> None:
        self._out.write("\n]\n" if self._items else "[]\n")
        self._out.flush()


# --- the run ---------------------------------------------------------------------------


@dataclass
class RunStats:
    frames: int = 0
    """Frames that went through the detector and into the writer."""
    detections: int = 0
    track_ids: set[int] = field(default_factory=set)
    seconds: float = 0.0
    interrupted: bool = False
    """Stopped by Ctrl-C; what was read until then is written."""

    @property
    def tracks(self) -> int:
        return len(self.track_ids)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def process(
    frames: Iterable[OfflineFrame],
    detector: Detector,
    writer: ResultWriter,
    *,
    tracker: ObjectTracker | None = None,
    batch_size: int = 8,
    max_frames: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> RunStats:
    """Detect (and track) objects in ``frames`` in batches of ``batch_size`` and write them in order.

    Stops after ``max_frames`` frames, at the end of ``frames``, or at Ctrl-C: then the
    frames already read are still detected and written, and the writer is always
    finished, so the output is complete and valid. ``on_batch(n)`` is called after
    each batch of ``n`` frames is written (a progress bar).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if max_frames is not None and max_frames < 1:
        raise ValueError("max_frames must be at least 1")
    stats = RunStats()
    started = time.monotonic()
    batch: list[OfflineFrame] = []

    def run_batch() -> None:
        results = detector.detect([frame.image for frame in batch])  # Ctrl-C here: the batch is kept
        pending = batch[:]
        batch.clear()  # Ctrl-C from here on loses the rest of this batch rather than write it twice
        for frame, detections in zip(pending, results, strict=True):
            if tracker is not None:
                detections = tracker.update(detections)
                stats.track_ids.update(detections.tracker_id[detections.tracker_id != UNTRACKED].tolist())
            writer.write(frame, detections)
            stats.frames += 1
            stats.detections += len(detections)
        if on_batch is not None:
            on_batch(len(pending))

    try:
        try:
            taken = 0
            for frame in frames:
                batch.append(frame)
                taken += 1
                if len(batch) >= batch_size:
                    run_batch()
                if max_frames is not None and taken >= max_frames:
                    break
        except KeyboardInterrupt:
            stats.interrupted = True
        if batch:
            run_batch()
    except KeyboardInterrupt:  # a second Ctrl-C: drop the frames still in the batch
        stats.interrupted = True
    finally:
        writer.finish()
        stats.seconds = time.monotonic() - started
    return stats
