"""Event clips in a stream worker: the camera's last seconds and the seconds after each event.

Each camera's capture thread pushes every frame into the camera's
:class:`~workers.pipeline.clips.ClipBuffer` (so clips play at the camera's rate, whatever
the detector skips); the process's one :class:`~workers.pipeline.clips.ClipRecorder`
cuts ``pre_s`` before to ``post_s`` after each event. The sink inserts events with a clip
path and ``clip_status`` "pending" and asks for the clip after its transaction commits;
events of one frame share one clip. When the clip is written (or has failed) the events
are updated and operators told (``event.updated``, no action).
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from django.db import close_old_connections, connection
from django.utils import timezone as django_timezone

from events.handling import EVENT_RELATED
from events.models import ClipStatus, Event
from events.payloads import event_payload
from events.publisher import publish_event_updated
from workers.pipeline.clips import ClipBuffer, ClipError, ClipRecorder, ClipResult

log = logging.getLogger(__name__)

BUFFER_MARGIN_S = 5.0  # buffered beyond pre_s: the event reaches the sink a little after its frame


class EventClips:
    def __init__(
        self, recorder: ClipRecorder, media_root: Path, *, pre_s: float, post_s: float, fps: float = 10.0,
        max_width: int = 640,
    ) -> None:
        self.recorder = recorder
        self.media_root = media_root
        self.pre_s = pre_s
        self.post_s = post_s
        self.fps = fps
        self.max_width = max_width
        self._buffers: dict[int, ClipBuffer] = {}
        self._lock = threading.Lock()

    # --- cameras (stream host thread) ------------------------------------------------
    def buffer_for(self, camera_id: int, name: str) -> ClipBuffer:
        """A new buffer for a camera being started; its capture thread pushes every frame to it."""
        buffer = ClipBuffer(name, seconds=self.pre_s + BUFFER_MARGIN_S, max_fps=self.fps, max_width=self.max_width)
        with self._lock:
            self._buffers[camera_id] = buffer
        return buffer

    def forget(self, camera_id: int) -> None:
        with self._lock:
            self._buffers.pop(camera_id, None)

    def close(self) -> None:
        """Encode clips under way with the frames they have; no new ones."""
        self.recorder.close()

    # --- events (sink thread) ----------------------------------------------------------
    def path_for(self, camera_id: int, captured_at: float) -> str:
        day = datetime.fromtimestamp(captured_at, timezone.utc).strftime("%Y-%m-%d")
        return f"clips/{camera_id}/{day}/{uuid.uuid4().hex}.mp4"

    def request(self, events: list[Event], announced: set[int]) -> None:
        """Record the clip of each group of committed events that share a clip path.

        Events whose id is in ``announced`` were sent to operators: they are told when the clip is done.
        """
        groups: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            if event.clip and event.clip_status == ClipStatus.PENDING:
                groups[event.clip].append(event)
        for path, group in groups.items():
            ids = [e.pk for e in group]
            done = partial(self._finished, ids, {i for i in ids if i in announced})
            with self._lock:
                buffer = self._buffers.get(group[0].camera_id)
            if buffer is None:
                done(ClipResult(self.media_root / path, 0.0, error="the camera stopped before the clip was recorded"))
                continue
            try:
                self.recorder.request_clip(
                    buffer, group[0].captured_at.timestamp(), self.pre_s, self.post_s, self.media_root / path, done
                )
            except ClipError as err:
                done(ClipResult(self.media_root / path, 0.0, error=str(err)))

    def _finished(self, ids: list[int], announced: set[int], result: ClipResult) -> None:
        """On a recorder thread (or the sink's, for a clip refused at once)."""
        status = ClipStatus.READY if result.ok else ClipStatus.FAILED
        detail = result.error or ("the camera stopped sending frames: the clip ends early" if result.cut_short else "")
        try:
            close_old_connections()
            Event.objects.filter(pk__in=ids).update(
                clip_status=status, clip_detail=detail[:300], updated_at=django_timezone.now()
            )
            if announced:
                for event in Event.objects.filter(pk__in=announced).select_related(*EVENT_RELATED):
                    publish_event_updated(event_payload(event, event.camera.name), None)
        except Exception:
            log.exception("clip state not saved", extra={"events": ids, "clip_status": status})
        finally:
            if threading.current_thread().name.startswith("clip-"):
                connection.close()  # the recorder's threads are not the sink's: no connection kept
