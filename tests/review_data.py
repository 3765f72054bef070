"""Real review data for the tests: what the real detector finds in car-detection.mp4 (a parking
lot from above, where YOLOX-Nano calls cars "cell phone"), stored as review items with
embeddings from the real embedder."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncio
import time

import cv2
import numpy as np
import pytest
from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

from cameras.services import add_camera
from events.publisher import camera_group
from tests.conftest import MEDIA_DIR

CLIP = MEDIA_DIR / "car-detection.mp4"
CLIP_FPS = 12.5
START = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Seen:
    """One detection in one frame of the clip."""

    frame: int
    image: np.ndarray
    box: tuple[float, float, float, float]
    class_name: str
    confidence: float

    @property
    def captured_at(self) -> datetime:
        return START + timedelta(seconds=self.frame / CLIP_FPS)


def detect_clip(path: Path, frames: range) -> list[Seen]:
    from workers.runtime import shared_detector

    detector = shared_detector()
    capture = cv2.VideoCapture(str(path))
    images = []
    for index in range(frames.stop):
        ok, image = capture.read()
        if not ok:
            break
        if index in frames:
            images.append((index, image))
    capture.release()
    seen = []
    for (index, image), found in zip(images, detector.detect([image for _, image in images]), strict=True):
        for i in range(len(found)):
            seen.append(Seen(index, image, tuple(float(v) for v in found.xyxy[i]),  # type: ignore[arg-type]
                             detector.spec.class_names[int(found.class_id[i])], float(found.confidence[i])))
    return seen


@pytest.fixture(scope="session")
def car_clip() -> list[Seen]:
    """Detections every third frame of the clip where cars pass (about 2 s of detector time)."""
    return detect_clip(CLIP, range(55, 345, 3))


@pytest.fixture
def lot(media_root):
    """A camera the stored review items belong to."""
    return add_camera(name="Parking lot", stream_url="rtsp://lot.example/1")


@pytest.fixture
def items(lot, car_clip, media_root):
    """Review items of the car clip's detections, as the worker stores them for events."""
    return store_items(lot, car_clip, media_root)


def store_items(camera, seen: list[Seen], media_root: Path, *, reason: str = "event",
                in_random_sample: bool = False, threshold: float | None = 0.5):
    """A Detection and a ReviewItem per ``seen``, with the frame and crop on disk and real embeddings."""
    from events.models import Detection
    from review.models import ReviewItem
    from workers.pipeline.drawing import crop, encode_jpeg
    from workers.pipeline.review_sampling import uncertainty
    from workers.runtime import shared_embedder
    from workers.sinks import save_media

    embedder = shared_embedder()
    vectors = embedder.embed([crop(s.image, s.box) for s in seen])
    items = []
    for n, (s, vector) in enumerate(zip(seen, vectors, strict=True)):
        height, width = s.image.shape[:2]
        detection = Detection.objects.create(
            camera=camera, captured_at=s.captured_at, track_id=None, class_id=0, class_name=s.class_name,
            confidence=s.confidence, x1=s.box[0], y1=s.box[1], x2=s.box[2], y2=s.box[3], frame_width=width,
            frame_height=height, model_name="yolox_nano", model_version="0.1.1rc0",
        )
        frame = f"review/{camera.pk}/f{s.frame}.jpg"
        save_media(media_root, frame, encode_jpeg(s.image, max_width=None, quality=85))
        crop_path = f"review/{camera.pk}/f{s.frame}-{n}.jpg"
        save_media(media_root, crop_path, encode_jpeg(crop(s.image, s.box), max_width=None))
        items.append(ReviewItem(
            detection=detection, camera=camera, class_name=s.class_name, confidence=s.confidence,
            captured_at=s.captured_at, reason=reason, in_random_sample=in_random_sample,
            random_key=(n * 0.618) % 1.0, threshold=threshold,
            uncertainty=uncertainty(s.confidence, threshold, 0.1), frame=frame,
            crop=crop_path, embedding=vector, embedding_model=embedder.spec.name,
            embedding_version=embedder.spec.version, label=s.class_name, box=list(s.box),
        ))
    return ReviewItem.objects.bulk_create(items)


def listen(camera_id: int) -> str:
    """A plain channel in the camera's group, where operators' consumers get events."""
    channel = f"review-test-{camera_id}-{time.monotonic_ns()}"
    async_to_sync(channel_layers.make_backend(DEFAULT_CHANNEL_LAYER).group_add)(camera_group(camera_id), channel)
    return channel


def drain(channel: str) -> list[dict]:
    """What reached ``channel`` (a fresh layer per call: a layer's buffers belong to one event loop)."""
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)

    async def receive_all() -> list[dict]:
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
            except asyncio.TimeoutError:
                return messages

    return async_to_sync(receive_all)()
