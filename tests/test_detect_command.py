"""``manage.py detect``: the offline CLI on the stream workers' detector and tracker (real model, real data)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tests.pipeline.conftest import media_dir, model_dir, shared_dir, vtest_path  # noqa: F401  (fixtures)

VTEST_SIZE = (480, 360)


@pytest.fixture(autouse=True)
def models(settings, model_dir: Path) -> None:  # noqa: F811
    settings.VIGIL_MODEL_DIR = model_dir
    settings.VIGIL_DETECTOR_MODEL = "yolox_nano"
    settings.VIGIL_PROVIDERS = ["cpu"]


def detect(*args: str) -> str:
    """Run the command; returns what it wrote to stderr (the progress bar and the summary)."""
    stderr = io.StringIO()
    call_command("detect", *args, stderr=stderr, stdout=io.StringIO())
    return stderr.getvalue()


def test_it_writes_mot_tracks_of_a_sampled_video(tmp_path: Path, vtest_path: Path) -> None:  # noqa: F811
    out = tmp_path / "tracks.txt"
    log = detect(str(vtest_path), "--format", "mot", "--fps", "5", "--max-frames", "100", "--out", str(out))

    rows = [line.split(",") for line in out.read_text().splitlines()]
    assert rows and all(len(row) == 10 and row[7:] == ["-1", "-1", "-1"] for row in rows)
    frames = [int(row[0]) for row in rows]
    ids = [int(row[1]) for row in rows]
    left, top, width, height, conf = ([float(row[i]) for row in rows] for i in range(2, 7))
    # Frames numbered from 1 = source index + 1; 5 of the 10 fps: source frames 0, 2, 4, ... = MOT 1, 3, 5, ...
    assert min(frames) >= 1 and max(frames) <= 199 and all(f % 2 == 1 for f in frames)
    assert frames == sorted(frames) and len(set(frames)) > 80
    # Stable ids: each person keeps one over many frames.
    assert min(ids) >= 1 and len(set(ids)) < len(rows) / 10
    assert all(0.3 <= c <= 1 for c in conf)
    for x, y, w, h in zip(left, top, width, height):
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= VTEST_SIZE[0] + 0.01 and y + h <= VTEST_SIZE[1] + 0.01
    assert "processed 100," in log and "read 199 frames" in log and "frames/s" in log


def test_it_reproduces_the_reference_coco_ap(tmp_path: Path, shared_dir: Path) -> None:  # noqa: F811
    """AP 0.312 on coco_mini through the CLI proves it feeds and reads the model exactly like the eval."""
    root = shared_dir / "eval" / "coco_mini"
    annotations = root / "annotations" / "instances_val2017.json"
    out = tmp_path / "results.json"
    log = detect(str(root / "val2017"), "--coco-annotations", str(annotations), "--format", "coco", "--out", str(out))

    ground_truth = COCO(str(annotations))
    results = json.loads(out.read_text())
    assert {r["image_id"] for r in results} <= set(ground_truth.getImgIds())
    assert min(r["score"] for r in results) >= 0.01  # the mAP threshold
    evaluation = COCOeval(ground_truth, ground_truth.loadRes(results), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    ap, ap50 = evaluation.stats[:2]
    print(f"CLI COCO AP {ap:.4f}, AP50 {ap50:.4f}")
    assert ap == pytest.approx(0.312, abs=0.005)
    assert ap50 == pytest.approx(0.494, abs=0.005)
    assert "read 79 frames, processed 79," in log and "0 tracks" in log


def test_it_writes_json_lines_of_the_first_frames(tmp_path: Path, vtest_path: Path) -> None:  # noqa: F811
    out = tmp_path / "frames.jsonl"
    detect(str(vtest_path), "--format", "jsonl", "--max-frames", "10", "--batch", "4", "--out", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(10))
    assert [line["timestamp_s"] for line in lines] == pytest.approx([i / 10 for i in range(10)])
    detections = [d for line in lines for d in line["detections"]]
    assert detections and all(d["confidence"] >= 0.3 for d in detections)
    assert {d["class_name"] for d in detections} >= {"person"}
    assert all(len(d["xyxy"]) == 4 and d["xyxy"][0] < d["xyxy"][2] for d in detections)
    track_ids = {d["track_id"] for d in detections} - {None}
    assert track_ids and all(isinstance(t, int) and t >= 1 for t in track_ids)


def test_it_writes_to_stdout_by_default(vtest_path: Path) -> None:  # noqa: F811
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("detect", str(vtest_path), "--max-frames", "4", "--format", "jsonl", stdout=stdout, stderr=stderr)
    assert [json.loads(line)["frame"] for line in stdout.getvalue().splitlines()] == [0, 1, 2, 3]


def test_it_says_which_source_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-video.mp4"
    with pytest.raises(CommandError, match=str(missing)):
        detect(str(missing))


def test_it_refuses_an_unknown_model(vtest_path: Path) -> None:  # noqa: F811
    with pytest.raises(CommandError, match="unknown detection model 'yolov99'.*yolox_nano"):
        detect(str(vtest_path), "--model", "yolov99")
    with pytest.raises(CommandError, match="unknown detection model 'mobilenetv2_embed'"):
        detect(str(vtest_path), "--model", "mobilenetv2_embed")


def test_it_says_how_to_get_a_missing_model_file(settings, tmp_path: Path, vtest_path: Path) -> None:  # noqa: F811
    settings.VIGIL_MODEL_DIR = tmp_path
    with pytest.raises(CommandError, match="is missing: run `python manage.py fetch_models`"):
        detect(str(vtest_path))


def test_it_needs_annotations_for_coco(tmp_path: Path, shared_dir: Path) -> None:  # noqa: F811
    with pytest.raises(CommandError, match="--format coco needs --coco-annotations"):
        detect(str(shared_dir / "eval" / "coco_mini" / "val2017"), "--format", "coco", "--out", str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_it_needs_images_for_coco(shared_dir: Path, vtest_path: Path) -> None:  # noqa: F811
    annotations = shared_dir / "eval" / "coco_mini" / "annotations" / "instances_val2017.json"
    with pytest.raises(CommandError, match="needs an image folder"):
        detect(str(vtest_path), "--coco-annotations", str(annotations))


def test_it_refuses_a_bad_url() -> None:
    with pytest.raises(CommandError, match="unsupported scheme 'ftp'"):
        detect("ftp://cam.local/x")


def test_it_picks_the_format_from_the_source(shared_dir: Path, vtest_path: Path) -> None:  # noqa: F811
    assert "; mot written to stdout" in detect(str(vtest_path), "--max-frames", "2")
    images = shared_dir / "eval" / "coco_mini" / "val2017"
    assert "; jsonl written to stdout" in detect(str(images), "--max-frames", "2")
