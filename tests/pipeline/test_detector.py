from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from workers.pipeline.catalogue import CATALOGUE, locate_model
from workers.pipeline.detector import CPU, CUDA, TENSORRT, OnnxYoloxDetector, choose_providers, with_dynamic_batch
from workers.pipeline.onnx_session import with_uint8_hwc_input
from workers.pipeline.yolox import decode, decode_candidates, letterbox, postprocess

PERSON = 0


def test_it_finds_the_pedestrians(detector, vtest_frames) -> None:
    frame = vtest_frames[100]
    (d,) = detector.detect([frame])
    persons = d[d.class_id == PERSON]
    assert len(persons) >= 3
    height, width = frame.shape[:2]
    assert (persons.xyxy >= 0).all()
    assert (persons.xyxy[:, [0, 2]] <= width).all() and (persons.xyxy[:, [1, 3]] <= height).all()
    assert (persons.xyxy[:, 2:] > persons.xyxy[:, :2]).all()
    assert (persons.confidence >= detector.conf_threshold).all()


def test_it_gives_a_batch_the_same_results_as_single_frames(detector, vtest_frames) -> None:
    frames = [vtest_frames[i] for i in (0, 40, 80, 120)]
    batched = detector.detect(frames)
    singles = [detector.detect([frame])[0] for frame in frames]
    assert len(batched) == 4
    for b, s in zip(batched, singles):
        assert b.class_id.tolist() == s.class_id.tolist()
        np.testing.assert_allclose(b.xyxy, s.xyxy, atol=1e-3)
        np.testing.assert_allclose(b.confidence, s.confidence, atol=1e-5)


def test_it_makes_the_batch_dimension_dynamic(model_dir: Path, yolox_spec, vtest_frames) -> None:
    model = onnx.load(str(locate_model(yolox_spec, model_dir)))
    session = ort.InferenceSession(
        with_dynamic_batch(model, "images", "output").SerializeToString(), providers=["CPUExecutionProvider"]
    )
    batch = np.stack([letterbox(vtest_frames[i], (416, 416))[0] for i in (0, 40, 80, 120)])
    (together,) = session.run(None, {"images": batch})
    apart = np.concatenate([session.run(None, {"images": batch[i : i + 1]})[0] for i in range(4)])
    assert together.shape == (4, 3549, 85)
    assert np.abs(together - apart).max() < 1e-4


@pytest.mark.parametrize("threshold", [0.01, 0.3])
def test_decoding_only_the_candidate_rows_finds_the_same_objects(model_dir: Path, yolox_spec, vtest_frames,
                                                                  threshold) -> None:
    """The detector skips rows whose objectness is below the threshold before decoding:
    on real model output that must change nothing."""
    session = ort.InferenceSession(str(locate_model(yolox_spec, model_dir)), providers=["CPUExecutionProvider"])
    for i in (0, 60, 120):
        canvas, ratio = letterbox(vtest_frames[i], (416, 416))
        (raw,) = session.run(None, {"images": canvas[None]})
        found = [
            postprocess(*rows, ratio=ratio, frame_shape=vtest_frames[i].shape, conf_threshold=threshold, nms_iou=0.45)
            for rows in (decode(raw[0], (416, 416)), decode_candidates(raw[0], (416, 416), threshold))
        ]
        assert len(found[0]) > 0
        assert found[1].class_id.tolist() == found[0].class_id.tolist()
        np.testing.assert_array_equal(found[1].xyxy, found[0].xyxy)
        np.testing.assert_array_equal(found[1].confidence, found[0].confidence)


def test_it_takes_uint8_pixels_with_outputs_unchanged(model_dir: Path, yolox_spec, vtest_frames) -> None:
    path = str(locate_model(yolox_spec, model_dir))
    floats = ort.InferenceSession(with_dynamic_batch(onnx.load(path), "images", "output").SerializeToString(),
                                  providers=["CPUExecutionProvider"])
    model = with_uint8_hwc_input(with_dynamic_batch(onnx.load(path), "images", "output"), "images")
    onnx.checker.check_model(model)
    pixels = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (given,) = pixels.get_inputs()
    assert (given.name, given.type, given.shape) == ("images", "tensor(uint8)", ["batch", 416, 416, 3])
    batch = np.stack([letterbox(vtest_frames[i], (416, 416))[0] for i in (0, 70)])
    (expected,) = floats.run(None, {"images": batch})
    (got,) = pixels.run(None, {"images": np.ascontiguousarray(batch.transpose(0, 2, 3, 1).astype(np.uint8))})
    np.testing.assert_array_equal(got, expected)


def test_it_refuses_to_give_uint8_pixels_to_an_input_that_is_not_an_image() -> None:
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])],
    )
    with pytest.raises(ValueError, match="not a float"):
        with_uint8_hwc_input(onnx.helper.make_model(graph), "x")


def test_it_patches_reshapes_that_share_their_target_shape() -> None:
    """Two batch-1 Reshapes reading one shape constant, plus a node that reads it as data."""
    shape = onnx.numpy_helper.from_array(np.array([1, 2, 3], np.int64), "shape")
    graph = onnx.helper.make_graph(
        [
            onnx.helper.make_node("Reshape", ["x", "shape"], ["a"]),
            onnx.helper.make_node("Reshape", ["x", "shape"], ["b"]),
            onnx.helper.make_node("Identity", ["shape"], ["shape_out"]),
        ],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 6])],
        [
            onnx.helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [1, 2, 3]),
            onnx.helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, [1, 2, 3]),
            onnx.helper.make_tensor_value_info("shape_out", onnx.TensorProto.INT64, [3]),
        ],
        [shape],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)])
    model.ir_version = 8
    for name in ("a", "b"):
        with_dynamic_batch(model, "x", name)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a, b, shape_out = session.run(None, {"x": np.arange(18, dtype=np.float32).reshape(3, 6)})
    assert a.shape == b.shape == (3, 2, 3)
    assert shape_out.tolist() == [1, 2, 3]  # the data use keeps the original constant


def test_it_handles_mixed_frame_sizes_and_batches_above_max_batch(model_dir: Path, yolox_spec, vtest_frames) -> None:
    small_batches = OnnxYoloxDetector(locate_model(yolox_spec, model_dir), yolox_spec, providers=("cpu",), max_batch=2)
    frames = [
        vtest_frames[10],
        cv2.resize(vtest_frames[20], (960, 720)),
        np.ascontiguousarray(vtest_frames[30][:, 100:300]),
        vtest_frames[40],
        cv2.resize(vtest_frames[50], (320, 240)),
    ]
    results = small_batches.detect(frames)
    assert len(results) == 5
    stats = small_batches.stats
    assert (stats.runs, stats.frames) == (3, 5)  # batches of 2, 2 and 1: the warm-up run is not counted
    assert 0 < stats.cpu_s and 0 < stats.wall_s
    for frame, d in zip(frames, results):
        (alone,) = small_batches.detect([frame])
        assert d.class_id.tolist() == alone.class_id.tolist()
        np.testing.assert_allclose(d.xyxy, alone.xyxy, atol=1e-3)
        assert (d.xyxy[:, 2] <= frame.shape[1]).all() and (d.xyxy[:, 3] <= frame.shape[0]).all()
    assert small_batches.detect([]) == []


@pytest.mark.parametrize(
    "bad",
    [None, np.zeros((0, 0, 3), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((10, 10), np.uint8),
     np.zeros((10, 10, 4), np.uint8)],
    ids=["none", "empty", "float", "grey", "bgra"],
)  # fmt: skip
def test_it_rejects_corrupt_frames_clearly(detector, vtest_frames, bad: object) -> None:
    with pytest.raises(ValueError, match="frame 1 "):
        detector.detect([vtest_frames[0], bad])  # type: ignore[arg-type]


def test_it_refuses_a_model_that_is_not_yolox(model_dir: Path) -> None:
    spec = CATALOGUE["mobilenetv2_embed"]
    with pytest.raises(ValueError, match="not a YOLOX detector"):
        OnnxYoloxDetector(locate_model(spec, model_dir), spec)


def test_it_refuses_a_model_file_with_another_input_size_clearly(tmp_path: Path, yolox_spec) -> None:
    """A file that is not the catalogue's model (here a 320x320 one) fails at load, saying why."""
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Flatten", ["images"], ["output"])], "other",
        [onnx.helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, [1, 3, 320, 320])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 307200])],
    )
    path = tmp_path / "yolox_nano.onnx"
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)], ir_version=8), str(path))
    with pytest.raises(ValueError, match=r"takes inputs of shape \['batch', 320, 320, 3\].*'batch', 416, 416, 3"):
        OnnxYoloxDetector(path, yolox_spec)


def test_it_chooses_providers_best_first_with_reasons() -> None:
    everything = [TENSORRT, CUDA, CPU]
    assert choose_providers(["auto"], everything) == ([TENSORRT, CUDA, CPU], [])
    assert choose_providers(["auto"], [CUDA, CPU]) == ([CUDA, CPU], [])
    assert choose_providers(["cpu"], everything) == ([CPU], [])
    providers, reasons = choose_providers(["cuda"], [CPU])
    assert providers == [CPU]
    assert reasons == [f"{CUDA} is not available in this onnxruntime build (it has {CPU})"]
    assert choose_providers(["OpenVINOExecutionProvider", "cuda"], ["OpenVINOExecutionProvider", CPU])[0] == [
        "OpenVINOExecutionProvider",
        CPU,
    ]
    with pytest.raises(ValueError, match="unknown execution provider 'gpu'"):
        choose_providers(["gpu"], everything)


def test_it_falls_back_from_a_provider_that_cannot_start_and_says_why(model_dir, yolox_spec, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="workers.pipeline.detector"):
        d = OnnxYoloxDetector(locate_model(yolox_spec, model_dir), yolox_spec, providers=("cuda",))
    if d.providers[0] != CUDA:  # no usable GPU here: the reason must be in the log
        assert d.providers == [CPU]
        assert any(CUDA in r.getMessage() for r in caplog.records)


def test_it_reproduces_the_reference_coco_ap(model_dir: Path, yolox_spec, shared_dir: Path) -> None:
    """AP 0.312 / AP50 0.494 on coco_mini proves the pre- and post-processing exact."""
    root = shared_dir / "eval" / "coco_mini"
    ground_truth = COCO(str(root / "annotations" / "instances_val2017.json"))
    category_ids = sorted(ground_truth.getCatIds())
    detector = OnnxYoloxDetector(
        locate_model(yolox_spec, model_dir), yolox_spec, providers=("cpu",), conf_threshold=0.01, nms_iou=0.65
    )
    image_ids = sorted(ground_truth.getImgIds())
    images = []
    for image_id in image_ids:
        image = cv2.imread(str(root / "val2017" / ground_truth.imgs[image_id]["file_name"]))
        assert image is not None
        images.append(image)
    results = [
        {
            "image_id": image_id,
            "category_id": category_ids[int(c)],
            "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
            "score": float(s),
        }
        for image_id, d in zip(image_ids, detector.detect(images))
        for (x1, y1, x2, y2), s, c in zip(d.xyxy, d.confidence, d.class_id)
    ]
    evaluation = COCOeval(ground_truth, ground_truth.loadRes(json.loads(json.dumps(results))), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    ap, ap50 = evaluation.stats[:2]
    assert ap == pytest.approx(0.312, abs=0.01)
    assert ap50 == pytest.approx(0.494, abs=0.01)


def test_it_skips_gpu_providers_under_auto_when_no_driver_is_present() -> None:
    providers, reasons = choose_providers(["auto"], [TENSORRT, CUDA, CPU], gpu_driver=False)
    assert providers == [CPU]
    assert len(reasons) == 2 and all("no NVIDIA driver" in r for r in reasons)
    # asked for by name, CUDA is still tried (and falls back with its own reason if it fails)
    assert choose_providers(["cuda"], [CUDA, CPU], gpu_driver=False)[0] == [CUDA, CPU]
