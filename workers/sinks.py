"""Where a processed batch goes: PostgreSQL, media storage, the Channels layer, Redis.

One transaction per batch (bulk inserts, never a row at a time); files are written
before the transaction so an event never points at a missing snapshot; live messages
are sent after commit so a client that fetches the event by id finds it. Detections kept
for review are embedded before the transaction too (:mod:`workers.review_sink`); events that
repeat a false positive rejected by a reviewer are stored but neither published nor sent
to rule actions.
"""
from __future__ import annotations

import logging
import math
import time
import queue
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

import numpy as np
import redis
from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections, transaction
from django.urls import get_resolver

from cameras.models import Rule
from events.actions import enqueue_actions, record_pending_actions
from events.live import LiveHeader, store_frame, store_snapshot
from events.models import ClipStatus, Detection, Event
from events.payloads import event_payload
from events.publisher import publish_event
from workers.camera_config import CameraConfig
from workers.pipeline.catalogue import ModelSpec
from workers.pipeline.detections import Detections
from workers.pipeline.drawing import annotate, crop, downscale, encode_jpeg
from workers.pipeline.rules import RuleHit

if TYPE_CHECKING:
    from workers.event_clips import EventClips
    from workers.review_sink import PendingItem, ReviewWriter

log = logging.getLogger(__name__)

LIVE_MAX_WIDTH = 960


@dataclass
class WriteWindow:
    """Until when (``time.monotonic()``) one camera's outcomes may be written: the end of
    this worker's lease on it, as last renewed. The stream host moves it forward at each
    renewal and shuts it when the lease is lost, so outcomes waiting for the database
    follow the lease, not the moment they were made: after the window, another worker may
    own the camera, and nothing more is written for it from here."""

    until: float = math.inf

    def open(self, now: float) -> bool:
        return now < self.until


@dataclass
class FrameOutcome:
    """What the pipeline made of one frame of one camera."""

    camera: CameraConfig
    image: np.ndarray
    captured_at: float  # time.time() when the frame was decoded
    detections: Detections  # tracked
    hits: list[RuleHit]
    publish_live: bool = True  # whether this frame goes to the live view
    publish_snapshot: bool = False  # whether this frame becomes the camera's clean snapshot
    window: WriteWindow = field(default_factory=WriteWindow)  # while the outcome may be written
    # False: a still frame, only for the live view (its boxes are the last detection's); the
    # database and review never see it
    record: bool = True


class SavedDetections(Sequence[Detection]):
    """One frame's detections as rows of the detection table.

    The rows go to the database as plain tuples (:func:`copy_insert`); a
    :class:`Detection` instance is only built for a row something points at (an event,
    a review item), because building one per row costs more than writing it.
    """

    COLUMNS = (
        "id", "camera_id", "captured_at", "track_id", "class_id", "class_name", "confidence",
        "x1", "y1", "x2", "y2", "frame_width", "frame_height", "model_name", "model_version",
    )  # fmt: skip

    def __init__(self, outcome: FrameOutcome, spec: ModelSpec) -> None:
        d = outcome.detections
        height, width = outcome.image.shape[:2]
        captured = datetime.fromtimestamp(outcome.captured_at, timezone.utc)
        names = spec.class_names
        self.ids: list[int] = []
        self._values = [
            (outcome.camera.id, captured, track if track >= 0 else None, class_id, names[class_id], confidence,
             x1, y1, x2, y2, width, height, spec.name, spec.version)
            for track, class_id, confidence, (x1, y1, x2, y2) in zip(
                d.tracker_id.tolist(), d.class_id.tolist(), d.confidence.tolist(), d.xyxy.tolist(), strict=True
            )
        ]  # fmt: skip
        self._built: dict[int, Detection] = {}

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> Detection: ...
    @overload
    def __getitem__(self, index: slice) -> list[Detection]: ...
    def __getitem__(self, index: int | slice) -> Detection | list[Detection]:
        """The saved row ``index`` as a :class:`Detection` (ids are set by :func:`copy_insert`)."""
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if index not in self._built:
            detection = Detection(**dict(zip(self.COLUMNS[1:], self._values[index], strict=True)))
            detection.pk = self.ids[index]
            detection._state.adding = False  # it is in the database (within this transaction)
            self._built[index] = detection
        return self._built[index]

    def rows(self) -> Iterator[tuple[object, ...]]:
        return ((pk, *values) for pk, values in zip(self.ids, self._values, strict=True))


def copy_insert(frames: list[SavedDetections]) -> None:
    """Insert the detections of ``frames`` with COPY, which costs the server and the client
    less than a multi-row INSERT at hundreds of rows a second. Ids are drawn from the
    table's sequence first, so events and review items can point at the rows."""
    count = sum(len(frame) for frame in frames)
    if not count:
        return
    table = Detection._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [count]
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        start = 0
        for frame in frames:
            frame.ids = ids[start : start + len(frame)]
            start += len(frame)
        with cursor.cursor.copy(f"COPY {table} ({', '.join(SavedDetections.COLUMNS)}) FROM STDIN") as copy:
            for frame in frames:
                for row in frame.rows():
                    copy.write_row(row)


def save_media(media_root: Path, relative: str, data: bytes) -> None:
    """Write a file under ``media_root`` atomically: a reader never sees half a JPEG."""
    path = media_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _of_live_rules(events: list[Event]) -> list[Event]:
    """Drop events of rules deleted since the worker last read its configuration: the
    admin removed the rule, and its id would fail the whole batch's transaction."""
    rule_ids = {e.rule_id for e in events}
    if not rule_ids:
        return events
    # The lock keeps a rule from being deleted between this check and the insert.
    live = set(Rule.objects.filter(pk__in=rule_ids).select_for_update(no_key=True).values_list("pk", flat=True))
    return [e for e in events if e.rule_id in live]


class Sink:
    def __init__(
        self, *, spec: ModelSpec, media_root: Path, redis_client: redis.Redis, review: ReviewWriter | None = None,
        clips: EventClips | None = None,
    ) -> None:
        self.spec = spec
        self.media_root = media_root
        self.redis = redis_client
        self.review = review
        self.clips = clips
        # An event's payload holds links (reverse()): import the URLconf now, or the first
        # event of the worker's life waits for it (0.6 s) on its way to operators.
        get_resolver().url_patterns

    def publish_live(self, outcomes: list[FrameOutcome]) -> list[FrameOutcome]:
        """Send the live frames of ``outcomes`` now; the outcomes still to be written.

        Live frames carry their own boxes and point at nothing in the database, so they
        need not wait for a transaction (:class:`BackgroundSink` may hold one back).
        """
        for outcome in outcomes:
            if outcome.publish_live or not outcome.record:
                self._publish_live_frame(outcome)
                outcome.publish_live = False
        return [o for o in outcomes if o.record]

    def write(self, outcomes: list[FrameOutcome]) -> list[Event]:
        outcomes = self.publish_live(outcomes)
        if not outcomes:
            return []
        files = {id(o): self._write_event_media(o) for o in outcomes if o.hits}
        pending = self._prepare_review(outcomes)
        events: list[Event] = []
        with transaction.atomic():
            per_outcome = [SavedDetections(outcome, self.spec) for outcome in outcomes]
            copy_insert(per_outcome)
            for outcome, rows in zip(outcomes, per_outcome, strict=True):
                outcome_events = self._event_rows(outcome, rows, files.get(id(outcome), ("", "")))
                if self.clips is not None and outcome_events:  # one clip for the events of a frame
                    clip = self.clips.path_for(outcome.camera.id, outcome.captured_at)
                    for event in outcome_events:
                        event.clip, event.clip_status = clip, ClipStatus.PENDING
                events.extend(outcome_events)
            events = _of_live_rules(events)
            Event.objects.bulk_create(events)
            suppressed = self._store_review(pending, per_outcome, events)
            alerted = [e for e in events if e.pk not in suppressed]  # repeats of false positives stay quiet
            with_actions = record_pending_actions(alerted)  # the outbox: enqueued below, or later by the beat
        for outcome in outcomes:
            if outcome.publish_snapshot:
                self._publish_snapshot(outcome)
        self._publish_events([e for e in alerted if e.notify_operators])  # type: ignore[attr-defined]
        enqueue_actions(with_actions)  # after commit; no query for batches whose rules have none
        if self.clips is not None:
            self.clips.request(events, announced={e.pk for e in alerted if e.notify_operators})  # type: ignore[attr-defined]
        return events

    def _publish_events(self, events: list[Event]) -> None:
        """Push committed events to operators. A Redis that is down (restarting) costs the
        push, never the batch: the events are stored, and clients back-fill them by id."""
        for event in events:
            try:
                publish_event(event_payload(event, event.camera_name))  # type: ignore[attr-defined]
            except (redis.RedisError, OSError) as err:
                log.warning("event not pushed live; clients back-fill it", extra={
                    "event_id": event.pk, "camera_id": event.camera_id, "error": str(err),
                })

    def _prepare_review(self, outcomes: list[FrameOutcome]) -> list[PendingItem]:
        """Review picks, files and embeddings; a failure costs the review items, never the batch."""
        if self.review is None:
            return []
        try:
            return self.review.prepare(outcomes)
        except Exception:
            log.exception("review sampling failed; the batch is written without it", extra={"frames": len(outcomes)})
            return []

    def _store_review(self, pending: list[PendingItem], rows: list[SavedDetections], events: list[Event]) -> set[int]:
        """Review items and suppressions in a savepoint of the batch's transaction; the suppressed event ids."""
        if self.review is None or not pending:
            return set()
        try:
            with transaction.atomic():
                return self.review.store(pending, rows, events)
        except Exception:
            log.exception("review items not stored; events are alerted unchecked", extra={"events": len(events)})
            return set()

    def _event_rows(self, outcome: FrameOutcome, rows: SavedDetections, files: tuple[str, str]) -> list[Event]:
        events = []
        snapshot, crop_path = files
        captured = datetime.fromtimestamp(outcome.captured_at, timezone.utc)
        for hit in outcome.hits:
            info = outcome.camera.rule_info[hit.rule_id]
            detection = rows[hit.index] if hit.index >= 0 else None
            event = Event(
                camera_id=outcome.camera.id,
                rule_id=hit.rule_id,
                rule_name=info.name,
                detection=detection,
                track_id=hit.tracker_id if hit.tracker_id >= 0 else None,
                class_name=detection.class_name if detection is not None else "",
                confidence=float(hit.confidence),
                severity=info.severity,
                captured_at=captured,
                snapshot=snapshot,
                crop=crop_path if detection is not None else "",
                evidence=hit.evidence,
            )
            event.camera_name = outcome.camera.name  # type: ignore[attr-defined]
            event.notify_operators = info.notify_operators  # type: ignore[attr-defined]
            events.append(event)
        return events

    def _write_event_media(self, outcome: FrameOutcome) -> tuple[str, str]:
        """The annotated full frame and the crop of the first hit's object (none for an absence)."""
        day = datetime.fromtimestamp(outcome.captured_at, timezone.utc).strftime("%Y-%m-%d")
        stem = f"{outcome.camera.id}/{day}/{uuid.uuid4().hex}"
        snapshot = f"snapshots/{stem}.jpg"
        crop_path = f"crops/{stem}.jpg"
        annotated = annotate(outcome.image, outcome.detections, self.spec.class_names)
        self._save(snapshot, encode_jpeg(annotated, max_width=None, quality=85))
        with_object = next((hit for hit in outcome.hits if hit.index >= 0), None)
        if with_object is None:
            return snapshot, ""
        box = outcome.detections.xyxy[with_object.index]
        self._save(crop_path, encode_jpeg(crop(outcome.image, box), max_width=None))
        return snapshot, crop_path

    def _save(self, relative: str, data: bytes) -> None:
        save_media(self.media_root, relative, data)

    def _publish_snapshot(self, outcome: FrameOutcome) -> None:
        try:
            store_snapshot(self.redis, outcome.camera.id, encode_jpeg(outcome.image, max_width=1280, quality=85))
        except redis.RedisError as err:
            log.warning("snapshot not published", extra={"camera_id": outcome.camera.id, "error": str(err)})

    def _publish_live_frame(self, outcome: FrameOutcome) -> None:
        """The clean frame with its boxes, in one message: browsers draw the boxes, labels
        and zones themselves, on the very frame the boxes were found in."""
        height, width = outcome.image.shape[:2]
        image = downscale(outcome.image, LIVE_MAX_WIDTH)
        d = outcome.detections
        scale = np.array([width, height, width, height], np.float32)
        header: LiveHeader = {
            "camera_id": outcome.camera.id,
            "captured_at": outcome.captured_at,
            "width": int(image.shape[1]),
            "height": int(image.shape[0]),
            "boxes": [
                {
                    "box": [round(float(v), 4) for v in d.xyxy[i] / scale],
                    "class_name": self.spec.class_names[int(d.class_id[i])],
                    "confidence": round(float(d.confidence[i]), 3),
                    "track_id": int(d.tracker_id[i]),
                }
                for i in range(len(d))
            ],
        }
        try:
            store_frame(self.redis, header, encode_jpeg(image, max_width=None))
        except redis.RedisError as err:
            log.warning("live frame not published", extra={"camera_id": outcome.camera.id, "error": str(err)})


class BackgroundSink:
    """Writes batches on its own thread, so the detector works while the database does.

    The queue is bounded: when the writer falls behind, ``submit`` waits (the stream host
    then skips to newer frames) rather than holding an ever-growing backlog.

    Live frames go out the moment a batch arrives. Batches with nothing but detections
    may wait up to ``hold_s`` for the next ones, to share one transaction: at a hundred
    frames a second that is a tenth of the commits. A batch with a rule hit is written
    at once, with whatever waited before it, so events are never held back.

    When the database cannot be reached (restarting, network), outcomes are kept in
    memory, at most ``buffer_bytes`` of frames, and written when it is back, retried
    with capped exponential backoff. Past the limit the oldest outcomes without a rule
    hit go first; what is dropped is counted (``frames_dropped``, ``events_dropped``)
    and logged. Any other error is a bug or bad data that no retry fixes: that batch is
    logged and dropped (``batches_failed``), and the writer carries on.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        max_pending: int = 4,
        hold_s: float = 0.25,
        hold_frames: int = 64,
        buffer_bytes: int = 256 * 2**20,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 5.0,
    ) -> None:
        self.sink = sink
        self.hold_s = hold_s
        self.hold_frames = hold_frames
        self.buffer_bytes = buffer_bytes
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.events_written = 0
        self.batches_failed = 0
        self.outcomes_expired = 0
        self.frames_dropped = 0
        self.events_dropped = 0
        self.database_failures = 0
        self._buffer: list[FrameOutcome] = []  # waiting for the database, oldest first
        self._queue: queue.Queue[list[FrameOutcome] | None] = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name="sink-writer", daemon=True)
        self._thread.start()

    def submit(self, outcomes: list[FrameOutcome]) -> None:
        self._queue.put(outcomes)

    def offer(self, outcomes: list[FrameOutcome]) -> bool:
        """Submit unless the writer is behind (then the outcomes are dropped): for live-only frames."""
        try:
            self._queue.put_nowait(outcomes)
        except queue.Full:
            return False
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=timeout_s)

    def _next_batches(self, timeout: float | None) -> list[FrameOutcome] | None:
        """The outcomes for the next transaction: the next batch, merged with those already
        waiting, and with those that come within ``hold_s`` while none has a rule hit;
        ``[]`` when nothing came within ``timeout``; ``None`` to stop."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        if first is None:
            return None
        merged = self._publish_live(first)
        held_until = time.monotonic() + self.hold_s
        while True:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                wait = held_until - time.monotonic()
                if wait <= 0 or len(merged) >= self.hold_frames or any(o.hits for o in merged):
                    return merged
                try:
                    more = self._queue.get(timeout=wait)
                except queue.Empty:
                    return merged
            if more is None:
                self._queue.put(None)  # honour the stop after writing what came before it
                return merged
            merged.extend(self._publish_live(more))

    def _publish_live(self, outcomes: list[FrameOutcome]) -> list[FrameOutcome]:
        try:
            return self.sink.publish_live(outcomes)
        except Exception:  # a live frame is not worth the batch's detections
            log.exception("publishing live frames failed", extra={"frames": len(outcomes)})
            return [o for o in outcomes if o.record]

    def _run(self) -> None:
        failures, retry_at = 0, 0.0
        try:
            while True:
                wait = max(0.0, retry_at - time.monotonic()) if self._buffer else None
                queued = self._next_batches(timeout=wait)
                stopping = queued is None
                self._buffer.extend(queued or [])
                now = time.monotonic()
                if not self._buffer or (failures and now < retry_at and not stopping):
                    if stopping:
                        return
                    self._trim()
                    continue
                writable = [o for o in self._buffer if o.window.open(now)]
                self.outcomes_expired += len(self._buffer) - len(writable)
                self._buffer = []
                try:
                    if writable:
                        self.events_written += len(self.sink.write(writable))
                except (OperationalError, InterfaceError) as err:  # the database is away: keep and retry
                    connection.close()  # a broken connection: the next write opens a new one
                    self.database_failures += 1
                    failures += 1
                    delay = min(self.retry_max_s, self.retry_initial_s * 2 ** (failures - 1))
                    retry_at = time.monotonic() + delay
                    self._buffer = writable
                    log.warning("database unreachable; outcomes kept for a retry", extra={
                        "frames": len(writable), "retry_in_s": round(delay, 2), "error": str(err).strip()[:200],
                    })
                    self._trim()
                except Exception:
                    self.batches_failed += 1
                    log.exception("writing a batch failed; it is dropped", extra={"frames": len(writable)})
                    close_old_connections()
                else:
                    if failures:
                        log.info("database back; kept outcomes written", extra={
                            "frames": len(writable), "failures": failures,
                        })
                    failures = 0
                if stopping:
                    if self._buffer:
                        self._drop(self._buffer, "the worker stopped while the database was away")
                    return
        finally:
            connections.close_all()  # this thread's own database connection

    def _trim(self) -> None:
        """Keep the buffer within ``buffer_bytes``: drop the oldest outcomes, those without
        a rule hit first."""
        size = sum(o.image.nbytes for o in self._buffer)
        if size <= self.buffer_bytes:
            return
        dropped: list[FrameOutcome] = []
        for wanted in (False, True):  # outcomes without hits first, then with
            kept = []
            for outcome in self._buffer:
                if size > self.buffer_bytes and bool(outcome.hits) == wanted:
                    size -= outcome.image.nbytes
                    dropped.append(outcome)
                else:
                    kept.append(outcome)
            self._buffer = kept
        self._drop(dropped, f"the buffer for database outages is full ({self.buffer_bytes // 2**20} MiB)")

    def _drop(self, outcomes: list[FrameOutcome], reason: str) -> None:
        if not outcomes:
            return
        self.frames_dropped += len(outcomes)
        self.events_dropped += sum(len(o.hits) for o in outcomes)
        log.warning("outcomes dropped: %s", reason, extra={
            "frames": len(outcomes), "events": sum(len(o.hits) for o in outcomes),
            "frames_dropped_total": self.frames_dropped, "events_dropped_total": self.events_dropped,
        })
