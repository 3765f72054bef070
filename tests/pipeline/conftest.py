"""Fixtures for the pipeline tests: shared data, the real detector, decoded real video."""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from workers.pipeline.catalogue import CATALOGUE, ModelSpec, locate_model
from workers.pipeline.detections import Detections
from workers.pipeline.detector import OnnxYoloxDetector

from tests.waiting import wait_for  # noqa: F401  (re-exported to the pipeline tests)

from .rtsp_server import RtspCamera, free_tcp_port

VTEST_FRAMES = 150


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / ".." / "shared"
    path = Path(os.environ.get("VIGIL_SHARED_DIR", default)).resolve()
    assert path.is_dir(), f"shared data not found at {path}: set VIGIL_SHARED_DIR"
    return path


@pytest.fixture(scope="session")
def model_dir(shared_dir: Path) -> Path:
    return Path(os.environ.get("VIGIL_MODEL_DIR", shared_dir / "models")).resolve()


@pytest.fixture(scope="session")
def media_dir(shared_dir: Path) -> Path:
    return shared_dir / "media"


@pytest.fixture(scope="session")
def vtest_path(media_dir: Path) -> Path:
    return media_dir / "vtest_480x360.avi"


@pytest.fixture(scope="session")
def yolox_spec() -> ModelSpec:
    return CATALOGUE["yolox_nano"]


@pytest.fixture(scope="session")
def detector(model_dir: Path, yolox_spec: ModelSpec) -> OnnxYoloxDetector:
    return OnnxYoloxDetector(locate_model(yolox_spec, model_dir), yolox_spec, providers=("cpu",))


@pytest.fixture(scope="session")
def vtest_frames(vtest_path: Path) -> list[np.ndarray]:
    """The first frames of the pedestrian clip (10 fps, 480x360)."""
    capture = cv2.VideoCapture(str(vtest_path))
    frames: list[np.ndarray] = []
    while len(frames) < VTEST_FRAMES:
        ok, frame = capture.read()
        assert ok, f"could not decode frame {len(frames)} of {vtest_path}"
        frames.append(frame)
    capture.release()
    return frames


@pytest.fixture(scope="session")
def vtest_detections(detector: OnnxYoloxDetector, vtest_frames: list[np.ndarray]) -> list[Detections]:
    return detector.detect(vtest_frames)


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    assert path, "ffmpeg is required by the pipeline tests"
    return path


@pytest.fixture
def rtsp_camera(vtest_path: Path, ffmpeg: str) -> Iterator[Callable[..., RtspCamera]]:
    """Start RTSP cameras serving vtest: ``start(port=None, credentials=None)``; all stopped at the end.

    Give the port of a stopped camera to bring it back (a camera rebooting).
    """
    cameras: list[RtspCamera] = []

    def start(port: int | None = None, credentials: tuple[str, str] | None = None) -> RtspCamera:
        camera = RtspCamera(vtest_path, port or free_tcp_port(), ffmpeg=ffmpeg, credentials=credentials)
        cameras.append(camera)
        return camera

    yield start
    for camera in cameras:
        camera.stop()


