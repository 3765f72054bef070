"""The stream runtime of one worker process.

It claims cameras through Redis leases, keeps one capture thread per camera, and in
its own loop takes the newest frame of every camera that is due, skips still ones,
runs them through the shared detector in batches, tracks, evaluates rules and hands
the results to the sink. Configuration is re-read every few seconds, so edits made in
the browser reach it without a restart.
"""
from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import redis
from django.db import InterfaceError, OperationalError, connection, connections

from cameras.models import Camera, CameraStatus
from events.live import WorkerCamera, WorkerHeartbeat, clear_heartbeat, store_heartbeat
from workers.camera_config import CameraConfig, load_camera_configs
from workers.leases import LeaseManager
from workers.pipeline.detector import Detector
from workers.pipeline.motion import MotionGate, needs_detection
from workers.pipeline.drawing import downscale
from workers.pipeline.detections import Detections
from workers.pipeline.rules import RuleHit, RuleState, evaluate, filter_objects
from workers.pipeline.sources import Frame, FrameSource, SourceError, parse_source
from workers.pipeline.tracking import ObjectTracker
from workers.event_clips import EventClips
from workers.review_sink import ReviewWriter
from workers.sinks import BackgroundSink, FrameOutcome, Sink, WriteWindow

log = logging.getLogger(__name__)

# While nothing moves, tracked objects are still looked at this often, so a track
# that stands still is not lost and a stopped object does not look like a new one.
STILL_RECHECK_S = 1.0
TRACK_BUFFER_S = 3.0
SNAPSHOT_EVERY_S = 10.0  # the clean picture admins draw zones on


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Rate:
    """Events per second over a sliding window, and how many in all."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self.times: list[float] = []
        self.total = 0

    def tick(self, now: float) -> None:
        self.times.append(now)
        self.total += 1

    def per_second(self, now: float) -> float:
        self.times = [t for t in self.times if now - t <= self.window_s]
        return len(self.times) / self.window_s


@dataclass
class CameraRuntime:
    config: CameraConfig
    source: FrameSource
    tracker: ObjectTracker
    gate: MotionGate
    rule_states: dict[int, RuleState] = field(default_factory=dict)
    last_seq: int = -1
    next_due: float = 0.0
    last_detected: float = 0.0
    next_live: float = 0.0
    next_snapshot: float = 0.0
    in_flight: bool = False  # a frame of this camera is in the detector: tracking stays in order
    has_tracks: bool = False
    # the tracked objects of the last detector run, and the (width, height) they were found in:
    # still frames show them in the live view (nothing moved since)
    last_tracked: tuple[Detections, tuple[int, int]] = field(default_factory=lambda: (Detections.empty(), (1, 1)))
    processed: _Rate = field(default_factory=_Rate)  # frames through the detector
    # until when this worker's lease lets it write for the camera (moved at each renewal)
    window: WriteWindow = field(default_factory=WriteWindow)

    def stop(self) -> None:
        self.source.stop()


@dataclass
class HostCounters:
    frames_processed: int = 0
    frames_skipped_still: int = 0
    batches: int = 0


class StreamHost:
    def __init__(
        self,
        *,
        detector: Detector,
        redis_client: redis.Redis,
        media_root: Path,
        video_dir: Path,
        worker_id: str | None = None,
        capacity: int = 16,
        lease_ttl_s: float = 15.0,
        config_poll_s: float = 2.0,
        batch_size: int = 8,
        motion_gating: bool = True,
        live_fps: float = 5.0,
        realtime_files: bool = True,
        inference_threads: int = 1,
        decode_threads: int = 0,
        sink_buffer_bytes: int = 256 * 2**20,
        review: ReviewWriter | None = None,
        clips: EventClips | None = None,
    ) -> None:
        """
        Args:
            inference_threads: batches run through the detector at the same time. On a CPU,
                one batch per core on a single-threaded session keeps every core busy
                without the intra-op synchronisation of one multi-threaded run; on a GPU,
                a second thread prepares and decodes batches while the GPU computes.
            live_fps: how often per camera the live frame (picture and boxes) is published.
            realtime_files: play file sources at their own rate, like cameras; off, they are
                decoded as fast as possible (benchmarks, replays).
            decode_threads: FFmpeg decoding threads per camera (0: FFmpeg chooses).
            sink_buffer_bytes: frames kept in memory while the database is away (see
                :class:`BackgroundSink`).
            review: keeps detections for review and checks events against the false-positive
                memory, on the sink's thread; ``None``: neither.
            clips: records a clip around each event from a per-camera buffer fed by the
                capture threads; ``None``: no clips. Closed by :meth:`stop`.
        """
        self.detector = detector
        self.redis = redis_client
        self.video_dir = video_dir
        self.worker_id = worker_id or default_worker_id()
        self.capacity = capacity
        self.lease_ttl_s = lease_ttl_s
        self.config_poll_s = config_poll_s
        self.batch_size = batch_size
        self.motion_gating = motion_gating
        self.live_interval_s = 1.0 / live_fps
        self.realtime_files = realtime_files
        self.decode_threads = decode_threads
        self.leases = LeaseManager(redis_client, self.worker_id, lease_ttl_s)
        self.sink = BackgroundSink(
            Sink(spec=detector.spec, media_root=media_root, redis_client=redis_client, review=review, clips=clips),
            buffer_bytes=sink_buffer_bytes,
        )
        self.clips = clips
        self.cameras: dict[int, CameraRuntime] = {}
        self.counters = HostCounters()
        self._counters_lock = threading.Lock()
        self.inference_threads = inference_threads
        # Each inference thread takes its own next batch the moment it is free: no hand-over
        # through another thread between two batches. The lock makes taking frames (and the
        # camera state it moves on: sequence, due time, motion gate) one thread at a time.
        self._take_lock = threading.Lock()
        self._idle_inference = inference_threads
        self._stop = threading.Event()
        self._wake = threading.Event()  # a new frame arrived or an inference thread came free
        self._thread: threading.Thread | None = None
        self._inference: list[threading.Thread] = []

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"stream-host-{self.worker_id}", daemon=True)
        self._thread.start()
        self._inference = [
            threading.Thread(target=self._infer, name=f"inference-{i}", daemon=True)
            for i in range(self.inference_threads)
        ]
        for thread in self._inference:
            thread.start()
        log.info("stream host started", extra={"worker": self.worker_id, "capacity": self.capacity})

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for thread in self._inference:
            thread.join(timeout=30)
        self.sink.close()  # write what is queued before the leases go
        if self.clips is not None:
            self.clips.close()  # clips under way end with the frames they have
        for camera_id in list(self.cameras):
            self._drop(camera_id, release=True)
        try:
            clear_heartbeat(self.redis, self.worker_id)
        except redis.RedisError:
            pass
        log.info("stream host stopped", extra={"worker": self.worker_id})

    def _run(self) -> None:
        """Configuration, leases and status, every ``config_poll_s``."""
        try:
            while not self._stop.is_set():
                self._sync_safely()
                self._stop.wait(self.config_poll_s)
        finally:
            connections.close_all()  # this thread's own database connection

    def _infer(self) -> None:
        """One inference thread: take a batch of due frames, process it, again."""
        while not self._stop.is_set():
            try:
                batch = self._take_batch()
            except Exception:  # a bug in taking frames must not end this thread for good
                log.exception("taking frames for the detector failed")
                self._stop.wait(0.5)
                continue
            if not batch:
                self._wake.wait(0.05)
                continue
            try:
                self._process(batch)
            except Exception:
                log.exception("processing a batch failed", extra={"frames": len(batch)})
            finally:
                with self._take_lock:
                    for runtime, _frame in batch:
                        runtime.in_flight = False
                    self._idle_inference += 1
                self._wake.set()

    def _take_batch(self) -> list[tuple[CameraRuntime, Frame]]:
        """This thread's share of the frames due now: what is ready, without waiting.

        The share is the ready cameras spread over the idle inference threads (two free
        threads run two half batches side by side rather than one full batch while the
        other waits), and at most the cameras spread over all inference threads: that cap
        keeps the batches even, so a thread that took one camera alone does not leave
        all the others to one big batch again and again. Never more than ``batch_size``;
        cameras wait their turn longest-due first.
        """
        with self._take_lock:
            self._wake.clear()  # before looking: a frame that lands after this wakes the wait
            now = time.monotonic()
            ready = [runtime for runtime in list(self.cameras.values()) if self._may_take(runtime, now)]
            ready.sort(key=lambda runtime: runtime.next_due)
            if not ready:
                return []
            share = min(
                self.batch_size,
                math.ceil(len(self.cameras) / self.inference_threads),
                math.ceil(len(ready) / max(self._idle_inference, 1)),
            )
            batch = self._due_frames(ready, now, limit=share)
            if batch:
                self._idle_inference -= 1
                for runtime, _frame in batch:
                    runtime.in_flight = True
            return batch

    @staticmethod
    def _may_take(runtime: CameraRuntime, now: float) -> bool:
        return not runtime.in_flight and now >= runtime.next_due and runtime.source.newest_seq() > runtime.last_seq

    # --- configuration, leases, status ----------------------------------------------
    def _sync_safely(self) -> None:
        """One :meth:`sync`, on a database connection kept from one to the next (opening one
        each time cost PostgreSQL a new backend every ``config_poll_s``); a connection that
        failed is dropped, and the next sync opens a new one."""
        try:
            self.sync()
        except (OperationalError, InterfaceError, redis.RedisError) as err:  # restarting: retry next tick
            if not isinstance(err, redis.RedisError):
                connection.close()
            log.warning("stream host sync failed: a service is unreachable; retrying", extra={
                "worker": self.worker_id, "error": str(err).strip()[:200],
            })
        except Exception:
            log.exception("stream host sync failed; retrying", extra={"worker": self.worker_id})

    def sync(self) -> None:
        """Renew leases, follow configuration changes, claim free cameras, report status.

        Leases (Redis) come first: while PostgreSQL restarts, the cameras keep running on
        their last configuration and their outcomes wait in the sink, still covered by
        the lease.
        """
        renewed_at = time.monotonic()  # before the call: the new TTL runs from no later than this
        held = self.leases.renew(self.cameras)
        for camera_id in list(self.cameras):
            if camera_id not in held:
                log.warning("lease lost; camera dropped", extra={"camera_id": camera_id, "worker": self.worker_id})
                self._drop(camera_id, release=False)
            else:
                self.cameras[camera_id].window.until = self._window_end(renewed_at)
        configs = load_camera_configs(self.detector.spec.name, self.detector.spec.class_names)
        for camera_id in list(self.cameras):
            if camera_id not in configs:
                log.info("camera disabled or removed", extra={"camera_id": camera_id})
                self._drop(camera_id, release=True)
            else:
                self._apply_config(self.cameras[camera_id], configs[camera_id])
        for camera_id, config in sorted(configs.items()):
            if len(self.cameras) >= self.capacity:
                break
            claimed_at = time.monotonic()
            if camera_id not in self.cameras and self.leases.claim(camera_id):
                self._adopt(config, WriteWindow(self._window_end(claimed_at)))
        self._report_status()

    def _window_end(self, lease_from: float) -> float:
        """The end of the write window of a lease renewed or claimed at ``lease_from``:
        short of its TTL, so a lapse is never reached mid-write."""
        return lease_from + self.lease_ttl_s * 0.8

    def _adopt(self, config: CameraConfig, window: WriteWindow) -> None:
        try:
            spec = parse_source(config.url, video_dir=self.video_dir)
        except SourceError as err:
            self.leases.release(config.id)
            Camera.objects.filter(pk=config.id).update(
                status=CameraStatus.UNREACHABLE, status_detail=f"invalid stream: {err}"[:300], worker=self.worker_id
            )
            return
        buffer = self.clips.buffer_for(config.id, config.name) if self.clips is not None else None
        source = FrameSource(
            spec, name=config.name, realtime_files=self.realtime_files, decode_threads=self.decode_threads,
            on_frame=self._wake.set,
            on_frame_captured=buffer.push if buffer is not None else None,
        )
        source.start()
        self.cameras[config.id] = CameraRuntime(
            config=config,
            source=source,
            tracker=ObjectTracker(frame_rate=config.detect_fps, lost_track_buffer_s=TRACK_BUFFER_S),
            gate=MotionGate(mask=[m.tolist() for m in config.motion_masks] or None),
            window=window,
        )
        log.info("camera claimed", extra={"camera_id": config.id, "camera": config.name, "worker": self.worker_id})

    def _apply_config(self, runtime: CameraRuntime, config: CameraConfig) -> None:
        if config.fingerprint == runtime.config.fingerprint:
            return
        if config.source_changed(runtime.config):
            self._drop(config.id, release=False, lease_kept=True)
            self._adopt(config, runtime.window)  # same lease: what waits in the sink stays writable
            log.info("camera source reconfigured", extra={"camera_id": config.id})
            return
        # A rule whose definition (area, trigger, times…) changed starts afresh: its old
        # state describes another zone and would fire enters and leaves that never happened.
        unchanged = set(config.rules) & set(runtime.config.rules)
        runtime.config = config
        runtime.rule_states = {
            rule.rule_id: runtime.rule_states[rule.rule_id]
            for rule in unchanged
            if rule.rule_id in runtime.rule_states
        }
        log.info("camera rules reconfigured", extra={"camera_id": config.id})

    def _drop(self, camera_id: int, *, release: bool, lease_kept: bool = False) -> None:
        """Stop running a camera; unless ``lease_kept``, nothing more is written for it."""
        runtime = self.cameras.pop(camera_id, None)
        if runtime is not None:
            runtime.stop()
            if not lease_kept:
                runtime.window.until = -math.inf
        if self.clips is not None:
            self.clips.forget(camera_id)
        if release:
            try:
                self.leases.release(camera_id)
            except redis.RedisError:
                pass  # it lapses by itself

    def _report_status(self) -> None:
        now = time.monotonic()
        beats: list[WorkerCamera] = []
        for camera_id, runtime in self.cameras.items():
            stats = runtime.source.stats()
            processed_fps = runtime.processed.per_second(now)
            last_frame = (
                datetime.fromtimestamp(stats.last_frame_time, timezone.utc) if stats.last_frame_time else None
            )
            Camera.objects.filter(pk=camera_id).update(
                status=stats.state if stats.state in CameraStatus.values else CameraStatus.CONNECTING,
                status_detail=stats.detail[:300],
                worker=self.worker_id,
                decoded_fps=round(stats.decoded_fps, 2),
                processed_fps=round(processed_fps, 2),
                last_frame_at=last_frame,
                frame_width=stats.width or None,
                frame_height=stats.height or None,
            )
            beats.append(
                {
                    "id": camera_id,
                    "status": stats.state,
                    "detail": stats.detail,
                    "decoded_fps": round(stats.decoded_fps, 2),
                    "processed_fps": round(processed_fps, 2),
                    "frames_dropped": stats.frames_dropped,
                    "frames_corrupt": stats.frames_corrupt,
                    "reconnects": stats.reconnects,
                }
            )
        heartbeat: WorkerHeartbeat = {
            "worker": self.worker_id,
            "pid": os.getpid(),
            "capacity": self.capacity,
            "model": self.detector.spec.name,
            "providers": list(self.detector.providers),
            "cameras": beats,
            "counters": {
                **asdict(self.counters),
                "events": self.sink.events_written,
                "frames_dropped": self.sink.frames_dropped,
                "events_dropped": self.sink.events_dropped,
                "database_failures": self.sink.database_failures,
            },
            "updated_at": time.time(),
        }
        store_heartbeat(self.redis, heartbeat, ttl_s=max(3 * self.config_poll_s, 10.0))

    # --- the frame loop ------------------------------------------------------------
    def _due_frames(
        self, ready: list[CameraRuntime], now: float, *, limit: int
    ) -> list[tuple[CameraRuntime, Frame]]:
        """The newest frames of the ``ready`` cameras that need the detector, at most ``limit``;
        still frames are handled on the way (time passes for the rules, the live view goes on)."""
        due: list[tuple[CameraRuntime, Frame]] = []
        for runtime in ready:
            if len(due) >= limit:
                break
            frame = runtime.source.latest(after_seq=runtime.last_seq)
            if frame is None:
                continue
            runtime.last_seq = frame.seq
            # Due times sit on a grid shared by all cameras of the same fps, so their frames
            # fall due together and go to the detector in one batch.
            fps = runtime.config.detect_fps
            runtime.next_due = (math.floor(now * fps) + 1) / fps
            if self.motion_gating and not needs_detection(
                runtime.gate.update(frame.image, now),
                has_tracks=runtime.has_tracks,
                since_detection_s=now - runtime.last_detected,
                recheck_every_s=STILL_RECHECK_S,
            ):
                self.counters.frames_skipped_still += 1
                if not runtime.has_tracks:
                    self._pass_time(runtime, frame)
                self._show_still(runtime, frame, now)
                continue
            runtime.last_detected = now
            if runtime.config.detect_width:
                frame = replace(frame, image=downscale(frame.image, runtime.config.detect_width))
            due.append((runtime, frame))
        return due

    @staticmethod
    def _evaluate_rules(runtime: CameraRuntime, tracked: Detections, frame: Frame) -> list[RuleHit]:
        height, width = frame.image.shape[:2]
        hits: list[RuleHit] = []
        for rule in runtime.config.rules:
            state = runtime.rule_states.get(rule.rule_id) or RuleState()
            rule_hits, runtime.rule_states[rule.rule_id] = evaluate(
                rule, tracked, (width, height), frame.captured_at, state
            )
            hits.extend(rule_hits)
        return hits

    def _pass_time(self, runtime: CameraRuntime, frame: Frame) -> None:
        """A still frame with nothing tracked is an empty frame: rules that wait for time
        to pass (zone empty, left, count dropped) must see it, without a detector run."""
        hits = self._evaluate_rules(runtime, Detections.empty(), frame)
        if hits and runtime.window.open(time.monotonic()):
            self.sink.submit(
                [FrameOutcome(runtime.config, frame.image, frame.captured_at, Detections.empty(), hits,
                              publish_live=False, window=runtime.window)]
            )

    def _show_still(self, runtime: CameraRuntime, frame: Frame, now: float) -> None:
        """Keep the live view going on a still scene, with the boxes of the last detector run."""
        if now < runtime.next_live or not runtime.window.open(now):
            return
        runtime.next_live = now + self.live_interval_s
        tracked, (width, height) = runtime.last_tracked
        if len(tracked):
            scale = np.array([frame.image.shape[1] / width, frame.image.shape[0] / height] * 2, np.float32)
            tracked = replace(tracked, xyxy=tracked.xyxy * scale)
        self.sink.offer(
            [FrameOutcome(runtime.config, frame.image, frame.captured_at, tracked, [], window=runtime.window,
                          record=False)]
        )

    def _process(self, batch: list[tuple[CameraRuntime, Frame]]) -> None:
        results = self.detector.detect([frame.image for _, frame in batch])
        now = time.monotonic()
        outcomes: list[FrameOutcome] = []
        for (runtime, frame), detections in zip(batch, results, strict=True):
            config = runtime.config
            height, width = frame.image.shape[:2]
            kept = filter_objects(detections, (width, height), config.object_filters, config.object_masks)
            tracked = runtime.tracker.update(kept)
            runtime.has_tracks = len(tracked) > 0
            runtime.last_tracked = (tracked, (width, height))
            hits = self._evaluate_rules(runtime, tracked, frame)
            runtime.processed.tick(now)
            if runtime.window.open(now):
                publish_live = now >= runtime.next_live
                if publish_live:
                    runtime.next_live = now + self.live_interval_s
                publish_snapshot = now >= runtime.next_snapshot
                if publish_snapshot:
                    runtime.next_snapshot = now + SNAPSHOT_EVERY_S
                outcomes.append(
                    FrameOutcome(
                        config, frame.image, frame.captured_at, tracked, hits,
                        publish_live=publish_live, publish_snapshot=publish_snapshot, window=runtime.window,
                    )
                )
        with self._counters_lock:
            self.counters.batches += 1
            self.counters.frames_processed += len(batch)
        if outcomes:
            self.sink.submit(outcomes)
