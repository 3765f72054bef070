"""A stream worker whose model file is missing or corrupt stays up, says why, and starts
its cameras once the file is fixed, without a restart."""
from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from cameras.services import add_camera
from events.models import Detection
from tests.waiting import wait_for
from workers.celery_steps import STREAMS_QUEUE, StreamHostStep
from workers.pipeline.catalogue import CATALOGUE
from workers.runtime import shared_detector, shared_embedder

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def model_dir(settings, tmp_path: Path, shared_media):
    """A model folder with the embedder but without the detector; the real one afterwards."""
    shared_models = Path(settings.VIGIL_MODEL_DIR)
    folder = tmp_path / "models"
    folder.mkdir()
    for model in shared_models.glob("mobilenetv2*.onnx"):
        (folder / model.name).symlink_to(model)
    settings.VIGIL_MODEL_DIR = folder
    settings.VIGIL_MODEL_RETRY_SECONDS = 0.5
    settings.VIGIL_CONFIG_POLL_SECONDS = 0.5
    settings.VIGIL_VIDEO_DIR = shared_media
    shared_detector.cache_clear()
    shared_embedder.cache_clear()
    yield folder, shared_models
    shared_detector.cache_clear()  # the next tests load the real one again
    shared_embedder.cache_clear()


def _streams_worker() -> SimpleNamespace:
    """What the step reads of Celery's worker: the queues it consumes."""
    return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(
        consume_from={STREAMS_QUEUE: object()}
    ))))


def test_a_missing_then_corrupt_model_keeps_the_worker_up_until_the_file_is_fixed(
    model_dir, redis_client, media_root, caplog
):
    folder, shared_models = model_dir
    name = CATALOGUE["yolox_nano"].filename
    camera = add_camera(name="Door", stream_url="vtest_480x360.avi")
    caplog.set_level(logging.ERROR, logger="workers.celery_steps")
    step = StreamHostStep(SimpleNamespace())
    step.start(_streams_worker())  # must not raise: the worker stays up
    try:
        missing = wait_for(lambda: [r for r in caplog.records if "cannot be loaded" in r.getMessage()], 5, "the error")
        assert step.host is None
        assert "is missing" in missing[0].error and "fetch_models" in missing[0].error  # type: ignore[attr-defined]

        (folder / name).write_bytes(b"not an onnx file" * 1000)  # a botched download
        caplog.clear()
        corrupt = wait_for(lambda: [r for r in caplog.records if "cannot be loaded" in r.getMessage()], 5, "again")
        assert "has 16000 bytes" in corrupt[0].error  # type: ignore[attr-defined]
        assert step.host is None

        (folder / name).unlink()
        (folder / name).symlink_to(shared_models / name)  # fixed
        wait_for(lambda: step.host is not None, 10, "the stream host started after the fix")
        wait_for(lambda: Detection.objects.filter(camera=camera).exists(), 30, "detections on the camera")
    finally:
        step.stop(None)
    assert step.host is None
