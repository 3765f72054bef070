"""Builds the stream runtime from Django settings (used by the stream worker and tests)."""
from __future__ import annotations

import logging
import os
from functools import lru_cache

import cv2
from django.conf import settings

from vision.redis_client import get_redis
from workers.pipeline.catalogue import CATALOGUE, ModelFileError, locate_model
from workers.pipeline.detector import CPU, OnnxYoloxDetector, choose_providers, nvidia_driver_present
from workers.pipeline.embedder import Embedder
from workers.pipeline.review_sampling import ReviewSampler, SamplingPolicy
from workers.review_sink import ReviewWriter
from workers.event_clips import EventClips
from workers.pipeline.clips import ClipError, ClipRecorder
from workers.stream_host import StreamHost

log = logging.getLogger(__name__)


def _on_cpu_only() -> bool:
    import onnxruntime

    wanted, _ = choose_providers(
        settings.VIGIL_PROVIDERS, onnxruntime.get_available_providers(), gpu_driver=nvidia_driver_present()
    )
    return wanted[0] == CPU


def inference_threads(on_cpu: bool | None = None) -> int:
    """``VIGIL_INFERENCE_THREADS``, or by default one per core on a CPU and two on a GPU;
    ``on_cpu``: for that kind of provider rather than the configured one."""
    if settings.VIGIL_INFERENCE_THREADS:
        return settings.VIGIL_INFERENCE_THREADS
    return (os.cpu_count() or 1) if (_on_cpu_only() if on_cpu is None else on_cpu) else 2


def intra_op_threads(on_cpu: bool) -> int | None:
    """Several single-threaded runs side by side use CPU cores better than one run on all;
    ``None``: ONNX Runtime's default."""
    return 1 if on_cpu and inference_threads(on_cpu) > 1 else None


@lru_cache(maxsize=1)
def shared_detector() -> OnnxYoloxDetector:
    """The one detector session of this process, created once and warmed up."""
    name = settings.VIGIL_DETECTOR_MODEL
    spec = CATALOGUE.get(name)
    if spec is None or spec.task != "detection":
        raise ModelFileError(f"VIGIL_DETECTOR_MODEL={name!r} is not a detection model of the catalogue")
    path = locate_model(spec, settings.VIGIL_MODEL_DIR)
    detector = OnnxYoloxDetector(
        path,
        spec,
        providers=settings.VIGIL_PROVIDERS,
        max_batch=settings.VIGIL_BATCH_SIZE,
        intra_op_threads=intra_op_threads(_on_cpu_only()),
    )
    log.info("detector ready", extra={"model": spec.name, "version": spec.version, "providers": detector.providers})
    return detector


@lru_cache(maxsize=1)
def shared_embedder() -> Embedder:
    """The one embedding session of this process (the sink thread and the review API use it)."""
    embedder = Embedder.from_catalogue(
        settings.VIGIL_MODEL_DIR,
        settings.VIGIL_EMBEDDING_MODEL,
        providers=settings.VIGIL_PROVIDERS,
        # On a CPU the inference threads hold every core; one thread is enough for review crops.
        intra_op_threads=1 if _on_cpu_only() else None,
    )
    log.info("embedder ready", extra={
        "model": embedder.spec.name, "version": embedder.spec.version, "providers": embedder.providers,
    })
    return embedder


def review_writer() -> ReviewWriter:
    policy = SamplingPolicy(
        band=settings.VIGIL_REVIEW_BAND,
        near_every_s=settings.VIGIL_REVIEW_NEAR_EVERY_SECONDS,
        random_fraction=settings.VIGIL_REVIEW_RANDOM_FRACTION,
    )
    return ReviewWriter(embedder=shared_embedder(), sampler=ReviewSampler(policy), media_root=settings.MEDIA_ROOT)


def event_clips() -> EventClips | None:
    """The stream host's clip recorder, or None when clips are off or ffmpeg is missing
    (said once per process: the worker runs on without clips)."""
    global _clips_off_logged
    if not settings.VIGIL_CLIPS:
        return None
    try:
        recorder = ClipRecorder()
    except ClipError as err:
        if not _clips_off_logged:
            log.warning("event clips off", extra={"reason": str(err)})
            _clips_off_logged = True
        return None
    return EventClips(
        recorder, settings.MEDIA_ROOT, pre_s=settings.VIGIL_CLIP_PRE_SECONDS, post_s=settings.VIGIL_CLIP_POST_SECONDS
    )


_clips_off_logged = False


def tune_for_streams() -> None:
    """Process-wide settings for a process that runs cameras: its parallelism is across
    cameras and batches, so OpenCV's own thread pool on top of it only adds hand-overs
    (a frame's resize costs 0.34 ms of CPU with it and 0.22 ms without, on 2 cores)."""
    cv2.setNumThreads(1)


def build_stream_host() -> StreamHost:
    tune_for_streams()
    return StreamHost(
        detector=shared_detector(),
        redis_client=get_redis(),
        media_root=settings.MEDIA_ROOT,
        video_dir=settings.VIGIL_VIDEO_DIR,
        worker_id=settings.VIGIL_WORKER_NAME or None,
        capacity=settings.VIGIL_STREAM_CAPACITY,
        lease_ttl_s=settings.VIGIL_LEASE_TTL,
        config_poll_s=settings.VIGIL_CONFIG_POLL_SECONDS,
        batch_size=settings.VIGIL_BATCH_SIZE,
        motion_gating=settings.VIGIL_MOTION_GATING,
        live_fps=settings.VIGIL_LIVE_FPS,
        inference_threads=inference_threads(),
        decode_threads=settings.VIGIL_DECODE_THREADS,
        sink_buffer_bytes=settings.VIGIL_SINK_BUFFER_MB * 2**20,
        review=review_writer(),
        clips=event_clips(),
    )
