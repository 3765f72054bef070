from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from workers.pipeline.catalogue import CATALOGUE, ModelFileError, locate_model
from workers.pipeline.detections import Detections
from workers.pipeline.detector import OnnxYoloxDetector
from workers.pipeline.drawing import crop
from workers.pipeline.embedder import Embedder, crops_for
from workers.pipeline.tracking import ObjectTracker

PERSON = 0
CAR_CLIP_FRAME = 215
"""A frame of car-detection.mp4 with two cars seen from above (YOLOX calls them bus and cell phone)."""
IMAGENET_CARS = {436, 468, 511, 609, 627, 656, 661, 705, 717, 751, 817}
"""ImageNet classes of passenger cars: beach wagon, cab, convertible, jeep, limousine, minivan, ..., sports car."""


def read_frames(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """The frames of a video at ``indices`` (decoded in order up to the last one)."""
    capture = cv2.VideoCapture(str(path))
    frames: dict[int, np.ndarray] = {}
    for index in range(max(indices) + 1):
        ok, frame = capture.read()
        assert ok, f"could not decode frame {index} of {path}"
        if index in indices:
            frames[index] = frame
    capture.release()
    return frames


@pytest.fixture(scope="module")
def embedder(model_dir: Path) -> Embedder:
    return Embedder.from_catalogue(model_dir, providers=("cpu",))


@pytest.fixture(scope="module")
def car_frame(media_dir: Path) -> np.ndarray:
    return read_frames(media_dir / "car-detection.mp4", [CAR_CLIP_FRAME])[CAR_CLIP_FRAME]


@pytest.fixture(scope="module")
def car_crops(detector: OnnxYoloxDetector, car_frame: np.ndarray) -> list[np.ndarray]:
    """The two cars the detector boxes in the frame: the red one (on the right), then the silver one."""
    (found,) = detector.detect([car_frame])
    boxes = found.xyxy[np.argsort(-found.xyxy[:, 0])]
    assert len(boxes) == 2, f"expected the detector to box the two cars, got {found}"
    return crops_for(car_frame, boxes)


@pytest.fixture(scope="module")
def vtest_tracked(vtest_detections: list[Detections]) -> list[Detections]:
    tracker = ObjectTracker(frame_rate=10)
    return [tracker.update(d) for d in vtest_detections]


def test_it_embeds_real_detection_crops_as_unit_vectors(embedder, vtest_frames, vtest_detections) -> None:
    frame, found = vtest_frames[100], vtest_detections[100]
    assert set(found.class_id.tolist()) > {PERSON}, "frame 100 holds persons and parked vehicles"
    vectors = embedder.embed(crops_for(frame, found.xyxy))
    assert (embedder.spec.name, embedder.spec.version, embedder.dim) == ("mobilenetv2_embed", "12-int8-embed", 1280)
    assert vectors.shape == (len(found), 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors >= 0).all()  # pooled ReLU6 features
    assert embedder.embed([]).shape == (0, 1280)


def test_it_follows_the_verified_preprocessing_of_sources_md(model_dir: Path, embedder, car_crops) -> None:
    """The untouched model file fed by the recipe in models/SOURCES.md: same vectors, and a car is a car."""
    session = ort.InferenceSession(str(locate_model(embedder.spec, model_dir)), providers=["CPUExecutionProvider"])
    red_car = car_crops[0]
    rgb = cv2.cvtColor(cv2.resize(red_car, (224, 224), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
    x = (rgb.astype(np.float32) / 255 - np.array([0.485, 0.456, 0.406], np.float32)) / np.array(
        [0.229, 0.224, 0.225], np.float32
    )
    logits, (reference,) = session.run(["output", "embedding"], {"input": x.transpose(2, 0, 1)[None]})
    top5 = np.argsort(-logits[0])[:5].tolist()
    assert top5[0] in IMAGENET_CARS, f"ImageNet top-5 of the red car: {top5}"
    (vector,) = embedder.embed([red_car])
    np.testing.assert_allclose(vector, reference / np.linalg.norm(reference), atol=1e-6)


def test_it_gives_a_batch_the_same_vectors_as_single_crops(
    model_dir: Path, embedder, vtest_frames, vtest_detections, car_crops
) -> None:
    crops = [*crops_for(vtest_frames[40], vtest_detections[40].xyxy), *car_crops]
    assert len({c.shape for c in crops}) > 3, "a mix of crop sizes"
    singles = np.concatenate([embedder.embed([c]) for c in crops])
    chunked = Embedder.from_catalogue(model_dir, providers=("cpu",), max_batch=3).embed(crops)
    for batched in (embedder.embed(crops), chunked):
        diff = float(np.abs(batched - singles).max())
        assert diff < 1e-5, f"batched vs single: max abs diff {diff:.2e} over {len(crops)} crops"


def test_it_is_deterministic(embedder, vtest_frames, vtest_detections) -> None:
    crops = crops_for(vtest_frames[120], vtest_detections[120].xyxy)
    np.testing.assert_array_equal(embedder.embed(crops), embedder.embed(crops))


def test_it_puts_the_same_person_much_closer_than_background_or_a_car(
    embedder, vtest_frames, vtest_tracked, car_crops
) -> None:
    """Persons 40+ px tall tracked from frame 100 to 102 (0.2 s) of vtest, against every
    person-sized window of frame 100 that touches no detection, and the two cars."""
    first, second = vtest_tracked[100], vtest_tracked[102]

    def tall_persons(d: Detections) -> Detections:
        return d[(d.class_id == PERSON) & (d.tracker_id > 0) & (d.xyxy[:, 3] - d.xyxy[:, 1] >= 40)]

    before, after = tall_persons(first), tall_persons(second)
    tracks = sorted(set(before.tracker_id.tolist()) & set(after.tracker_id.tolist()))
    assert len(tracks) >= 4, f"persons tracked across both frames: {tracks}"
    a = embedder.embed(crops_for(vtest_frames[100], np.stack([before.xyxy[before.tracker_id == t][0] for t in tracks])))
    b = embedder.embed(crops_for(vtest_frames[102], np.stack([after.xyxy[after.tracker_id == t][0] for t in tracks])))
    windows = _free_windows(first, vtest_frames[100].shape, size=(24, 50), step=24)
    background = embedder.embed(crops_for(vtest_frames[100], windows))
    cars = embedder.embed(car_crops)

    same = 1 - np.einsum("ij,ij->i", a, b)
    to_background, to_cars = 1 - a @ background.T, 1 - a @ cars.T
    figures = (
        f"same person {' '.join(f'{d:.3f}' for d in same)}; person vs background ({len(background)} windows):"
        f" min {to_background.min():.3f}, median {np.median(to_background):.3f};"
        f" person vs car: min {to_cars.min():.3f}, median {np.median(to_cars):.3f}"
    )
    # Measured: same 0.10-0.15; background min 0.29, median 0.55; car min 0.46, median 0.55.
    assert same.max() < 0.6 * to_background.min(), figures
    assert same.max() < 0.4 * to_cars.min(), figures
    assert np.median(same) < 0.3 * min(np.median(to_background), np.median(to_cars)), figures


def _free_windows(
    found: Detections, frame_shape: tuple[int, ...], *, size: tuple[int, int], step: int
) -> np.ndarray:
    """xyxy of the ``size`` windows on a ``step`` grid of the frame that overlap no detection."""
    width, height = size
    windows = np.array(
        [
            [x, y, x + width, y + height]
            for y in range(0, frame_shape[0] - height + 1, step)
            for x in range(0, frame_shape[1] - width + 1, step)
        ],
        np.float64,
    )
    boxes = found.xyxy
    overlap_x = np.minimum(windows[:, None, 2], boxes[None, :, 2]) - np.maximum(windows[:, None, 0], boxes[None, :, 0])
    overlap_y = np.minimum(windows[:, None, 3], boxes[None, :, 3]) - np.maximum(windows[:, None, 1], boxes[None, :, 1])
    touching = ((overlap_x > 0) & (overlap_y > 0)).any(axis=1)
    return windows[~touching]


@pytest.mark.parametrize(
    "bad",
    [None, np.zeros((0, 5, 3), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((10, 10), np.uint8),
     np.zeros((10, 10, 4), np.uint8)],
    ids=["none", "empty", "float", "grey", "bgra"],
)  # fmt: skip
def test_it_rejects_bad_crops_clearly(embedder, car_crops, bad: object) -> None:
    with pytest.raises(ValueError, match="crop 1 "):
        embedder.embed([car_crops[0], bad])  # type: ignore[list-item]


def test_it_cuts_padded_crops_for_boxes(vtest_frames, vtest_detections) -> None:
    frame, boxes = vtest_frames[100], vtest_detections[100].xyxy
    crops = crops_for(frame, boxes, pad=0.2)
    assert len(crops) == len(boxes)
    for piece, box in zip(crops, boxes):
        np.testing.assert_array_equal(piece, crop(frame, box, pad=0.2))
    assert crops_for(frame, np.empty((0, 4))) == []
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        crops_for(frame, boxes[:, :2])
    with pytest.raises(ValueError, match="does not overlap"):
        crops_for(frame, np.array([[500.0, 400.0, 600.0, 500.0]]))
    with pytest.raises(ValueError, match="image must be"):
        crops_for(frame[:, :, 0], boxes)


def test_it_loads_only_verified_embedding_models(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="'yolox_nano' is not an embedding model.*mobilenetv2_embed"):
        Embedder.from_catalogue(model_dir, "yolox_nano")
    with pytest.raises(ModelFileError, match="is missing"):
        Embedder.from_catalogue(tmp_path)
    spec = CATALOGUE["yolox_nano"]
    with pytest.raises(ValueError, match="not an embedding model"):
        Embedder(locate_model(spec, model_dir), spec)
