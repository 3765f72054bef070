"""A real StreamHost on real footage keeps detections for review with embeddings, and the
false-positive memory holds back repeats of a rejected detection: stored, not published
to the Channels layer operators listen on, until a reviewer lifts the suppression."""
import json
import time

import cv2
import numpy as np
import pytest

from cameras.models import Rule
from cameras.services import add_camera
from events.models import Event
from review import services
from review.models import ReviewItem, Suppression
from tests.conftest import client_for
from tests.review_data import CLIP, CLIP_FPS, drain, listen
from tests.waiting import wait_for
from workers.pipeline.review_sampling import ReviewSampler, SamplingPolicy
from workers.review_sink import ReviewWriter

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SILVER_CAR = range(180, 240)
"""Frames of car-detection.mp4 where a silver car drives through, called "cell phone" by YOLOX-Nano."""


@pytest.fixture
def clip_dir(tmp_path):
    """The silver car's 5 s as a clip of its own: the worker loops files, so it comes back every 5 s."""
    capture = cv2.VideoCapture(str(CLIP))
    out = None
    for index in range(SILVER_CAR.stop):
        ok, image = capture.read()
        assert ok
        if index in SILVER_CAR:
            if out is None:
                height, width = image.shape[:2]
                out = cv2.VideoWriter(str(tmp_path / "silver-car.avi"), cv2.VideoWriter_fourcc(*"MJPG"), CLIP_FPS,
                                      (width, height))
            out.write(image)
    capture.release()
    out.release()
    return tmp_path


@pytest.fixture
def lot(clip_dir):
    camera = add_camera(name="Parking lot", stream_url="silver-car.avi", detect_fps=50.0)
    camera.rules.all().delete()
    Rule.objects.create(camera=camera, name="Phone seen", trigger="seen", object_classes=["cell phone"],
                        min_confidence=0.3, cooldown_seconds=0.0, stationary_guard=False)
    return camera


def start_host(clip_dir, media_root, redis_client, random_fraction: float):
    from workers.runtime import shared_detector, shared_embedder
    from workers.stream_host import StreamHost

    review = ReviewWriter(
        embedder=shared_embedder(),
        sampler=ReviewSampler(SamplingPolicy(near_every_s=0.5, random_fraction=random_fraction), seed=3),
        media_root=media_root,
    )
    host = StreamHost(detector=shared_detector(), redis_client=redis_client, media_root=media_root,
                      video_dir=clip_dir, worker_id="review-test", config_poll_s=0.3, motion_gating=False,
                      realtime_files=False, inference_threads=2, review=review)
    host.start()
    return host


def test_it_keeps_event_and_sampled_detections_with_embeddings(lot, clip_dir, media_root, redis_client):
    host = start_host(clip_dir, media_root, redis_client, random_fraction=0.3)
    try:
        wait_for(lambda: ReviewItem.objects.filter(camera=lot, in_random_sample=True).count() >= 3
                 and ReviewItem.objects.filter(camera=lot, reason="event").count() >= 5, 60, "review items")
    finally:
        host.stop()
    items = list(ReviewItem.objects.filter(camera=lot).select_related("detection", "event"))
    for item in items:
        vector = np.asarray(item.embedding)
        assert vector.shape == (1280,) and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-3)
        assert (item.embedding_model, item.embedding_version) == ("mobilenetv2_embed", "12-int8-embed")
        assert (media_root / item.frame).is_file() and (media_root / item.crop).is_file()
        assert item.class_name == item.detection.class_name and item.box == pytest.approx(
            [item.detection.x1, item.detection.y1, item.detection.x2, item.detection.y2])
    events = [i for i in items if i.reason == "event"]
    assert all(i.event is not None and i.event.detection_id == i.detection_id for i in events)
    assert all(i.rule_id == lot.rules.get().pk and i.threshold == 0.3 for i in events)
    assert host.sink.sink.review.crops_embedded >= len(items)


def test_it_suppresses_repeats_of_a_rejected_detection_and_lifting_alerts_them(
    lot, clip_dir, media_root, redis_client, reviewer
):
    channel = listen(lot.pk)
    host = start_host(clip_dir, media_root, redis_client, random_fraction=0.0)
    try:
        first = wait_for(lambda: ReviewItem.objects.filter(camera=lot, reason="event").order_by("pk").first(),
                         60, "a first 'cell phone' event")
        rejection = services.correct(first.pk, reviewer, "reject", note="a silver car, not a phone")
        rejected_at = time.monotonic()
        wait_for(lambda: Suppression.objects.filter(event__camera=lot).count() >= 3, 60,
                 "repeats of the false positive (the clip comes round again)")
    finally:
        host.stop()
    print(f"first suppression {time.monotonic() - rejected_at:.1f} s after the reject")
    published = {m["event"]["id"] for m in drain(channel)}
    suppressions = list(Suppression.objects.filter(event__camera=lot).select_related("event"))
    suppressed = {s.event_id for s in suppressions}
    events = set(Event.objects.filter(camera=lot).values_list("pk", flat=True))
    assert not published & suppressed, "a suppressed event reached operators"
    assert published | suppressed == events, "every other event was alerted"
    for suppression in suppressions:
        assert suppression.false_positive_id == rejection.pk and suppression.event.class_name == "cell phone"
        assert 0 <= suppression.distance <= lot.fp_similarity_threshold
    print(f"{len(suppressed)} of {len(events)} events suppressed, {len(published)} alerted")

    lifted = suppressions[0]
    client = client_for(reviewer)
    response = client.post(f"/api/review/suppressions/{lifted.pk}/lift/", content_type="application/json")
    assert response.status_code == 200 and json.loads(response.content)["active"] is False
    assert [m["event"]["id"] for m in drain(channel)] == [lifted.event_id]
