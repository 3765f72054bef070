from __future__ import annotations

import io
import itertools
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from workers.pipeline.catalogue import COCO_CLASSES
from workers.pipeline.detections import Detections
from workers.pipeline.offline import (
    CocoAnnotationError,
    CocoIndex,
    CocoWriter,
    JsonlWriter,
    MotWriter,
    OfflineFrame,
    OfflineSource,
    coco_results,
    parse_offline_source,
    process,
    read_frames,
    sampled_count,
)
from workers.pipeline.sources import SourceError
from workers.pipeline.tracking import ObjectTracker

VTEST_FRAME_COUNT = 795  # 10 fps


@pytest.fixture(scope="session")
def coco_dir(shared_dir: Path) -> Path:
    return shared_dir / "eval" / "coco_mini"


def _frame(index: int, name: str | None = None) -> OfflineFrame:
    return OfflineFrame(index=index, timestamp_s=index / 10, image=np.zeros((4, 4, 3), np.uint8), name=name)


def _detections(
    xyxy: list[list[float]], *, confidence: list[float], class_id: list[int], tracker_id: list[int] | None = None
) -> Detections:
    return Detections(
        xyxy=np.array(xyxy),
        confidence=np.array(confidence),
        class_id=np.array(class_id),
        tracker_id=np.array(tracker_id if tracker_id is not None else [-1] * len(class_id)),
    )


# --- sources ---------------------------------------------------------------------------


def test_it_accepts_local_paths_anywhere_and_urls(tmp_path: Path, vtest_path: Path) -> None:
    assert parse_offline_source(str(vtest_path)) == OfflineSource("file", str(vtest_path.resolve()))
    assert parse_offline_source(vtest_path.as_uri()) == OfflineSource("file", str(vtest_path.resolve()))
    assert parse_offline_source(f"  {tmp_path}  ") == OfflineSource("images", str(tmp_path.resolve()))
    assert parse_offline_source("rtsp://cam.local:8554/live").kind == "rtsp"
    assert parse_offline_source("https://cam.local/video.mjpg").kind == "http"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("ftp://cam.local/x", "unsupported scheme 'ftp'"),
        ("rtsp:///live", "has no host"),
        ("rtsp://admin:s3cret@cam.local:99999/live", "malformed URL"),
    ],
)
def test_it_rejects_bad_sources_like_the_cameras_do(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        parse_offline_source(text)
    assert "s3cret" not in str(caught.value)


def test_it_names_a_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError, match=f"{missing} does not exist"):
        parse_offline_source(str(missing))


# --- reading ---------------------------------------------------------------------------


def test_it_samples_a_10_fps_video_to_5_fps(vtest_path: Path) -> None:
    with read_frames(str(vtest_path), fps=5) as reader:
        frames = list(itertools.islice(reader, 20))
        assert reader.native_fps == 10 and reader.effective_fps == 5
        assert reader.frame_count_hint == (VTEST_FRAME_COUNT + 1) // 2
        assert reader.frames_read == 39  # frames 0..38
    assert [f.index for f in frames] == list(range(0, 40, 2))
    assert [f.timestamp_s for f in frames] == pytest.approx([i / 10 for i in range(0, 40, 2)])
    assert all(f.name is None and f.image.shape == (360, 480, 3) for f in frames)


def test_it_reads_every_frame_without_fps(vtest_path: Path, vtest_frames: list[np.ndarray]) -> None:
    with read_frames(str(vtest_path), fps=None) as reader:
        frames = list(itertools.islice(reader, 10))
        assert reader.frame_count_hint == VTEST_FRAME_COUNT and reader.effective_fps == 10
    assert [f.index for f in frames] == list(range(10))
    np.testing.assert_array_equal(frames[7].image, vtest_frames[7])


@pytest.mark.parametrize(
    ("total", "native", "fps", "expected"),
    [(795, 10, 5, 398), (10, 10, 3, 3), (10, 10, None, 10), (10, 10, 30, 10), (1, 25, 1, 1), (0, 25, 5, 0)],
)
def test_it_predicts_how_many_frames_sampling_keeps(
    total: int, native: float, fps: float | None, expected: int
) -> None:
    assert sampled_count(total, native, fps) == expected


def test_it_samples_to_a_rate_that_does_not_divide_the_source(vtest_path: Path) -> None:
    with read_frames(str(vtest_path), fps=3) as reader:
        indices = [f.index for f in itertools.islice(reader, 6)]
    assert indices == [0, 4, 7, 10, 14, 17]  # the first frame at or after each 1/3 s step


def _write_image(path: Path, value: int) -> None:
    assert cv2.imwrite(str(path), np.full((24, 32, 3), value, np.uint8))


def test_it_reads_an_image_folder_in_file_name_order(tmp_path: Path) -> None:
    names = ["frame_010.png", "frame_002.jpg", "frame_001.bmp", "b.webp", "A.JPEG"]
    for value, name in enumerate(names):
        _write_image(tmp_path / name, value * 40)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub.jpg").mkdir()  # a folder with an image's name is no image

    with read_frames(str(tmp_path)) as reader:
        frames = list(reader)
        assert reader.frame_count_hint == 5 and reader.frames_corrupt == 0
    assert [f.name for f in frames] == sorted(names)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert [f.timestamp_s for f in frames] == pytest.approx([0, 0.04, 0.08, 0.12, 0.16])  # 25 fps
    by_name = {f.name: f for f in frames}
    assert by_name["frame_001.bmp"].image.shape == (24, 32, 3)
    assert int(by_name["frame_001.bmp"].image[0, 0, 0]) == 80


def test_it_reads_one_image_file(tmp_path: Path) -> None:
    _write_image(tmp_path / "one.png", 7)
    source = parse_offline_source(str(tmp_path / "one.png"))
    assert source.kind == "images"
    assert [f.name for f in read_frames(source)] == ["one.png"]


def test_it_skips_and_counts_corrupt_images(tmp_path: Path, coco_dir: Path, caplog) -> None:
    real = sorted((coco_dir / "val2017").glob("*.jpg"))[0]
    shutil.copy(real, tmp_path / "b_real.jpg")
    (tmp_path / "a_garbage.jpg").write_bytes(b"\xff\xd8 this is no jpeg" * 50)
    (tmp_path / "c_empty.png").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="workers.pipeline.offline"), read_frames(str(tmp_path)) as reader:
        frames = list(reader)
        assert reader.frames_read == 3 and reader.frames_corrupt == 2
    assert [(f.index, f.name) for f in frames] == [(1, "b_real.jpg")]
    np.testing.assert_array_equal(frames[0].image, cv2.imread(str(real)))
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "a_garbage.jpg" in warned and "c_empty.png" in warned


def test_it_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="holds no images"):
        read_frames(str(tmp_path))


def test_it_explains_a_file_that_is_no_video(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(SourceError):
        read_frames(str(tmp_path / "notes.mp4"))


# --- writers ---------------------------------------------------------------------------


def test_it_writes_mot_lines_exactly() -> None:
    detections = _detections(
        [[10, 20, 40, 80.555], [100.25, 50, 110, 70], [1, 1, 2, 2], [5, 5, 9, 9], [0, 0, 3, 3]],
        confidence=[0.9, 0.61234, 0.8, 0.7, 0.5],
        class_id=[0, 0, 0, 2, 0],
        tracker_id=[7, 3, -1, 9, 12],
    )
    out = io.StringIO()
    writer = MotWriter(out)
    writer.write(_frame(0), detections)
    writer.write(_frame(4), Detections.empty())
    writer.write(_frame(5), detections[[1]])
    writer.finish()
    # Persons only, tracked only, by track id; frame = index + 1; left, top, width, height.
    assert out.getvalue() == (
        "1,3,100.25,50.00,9.75,20.00,0.6123,-1,-1,-1\n"
        "1,7,10.00,20.00,30.00,60.56,0.9000,-1,-1,-1\n"
        "1,12,0.00,0.00,3.00,3.00,0.5000,-1,-1,-1\n"
        "6,3,100.25,50.00,9.75,20.00,0.6123,-1,-1,-1\n"
    )


def test_it_writes_one_json_line_per_frame() -> None:
    detections = _detections([[1, 2, 3, 4.567]], confidence=[0.87654], class_id=[2])
    out = io.StringIO()
    writer = JsonlWriter(out, class_names=COCO_CLASSES)
    writer.write(_frame(3, "x.jpg"), detections)
    writer.write(_frame(4), Detections.empty())
    writer.finish()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {
        "frame": 3,
        "timestamp_s": 0.3,
        "name": "x.jpg",
        "detections": [
            {"class_id": 2, "class_name": "car", "confidence": 0.8765, "xyxy": [1.0, 2.0, 3.0, 4.57], "track_id": None}
        ],
    }
    assert second["detections"] == [] and second["name"] is None


def test_it_maps_classes_to_coco_category_ids(coco_dir: Path) -> None:
    index = CocoIndex.load(coco_dir / "annotations" / "instances_val2017.json", COCO_CLASSES)
    assert index.category_ids[:3] == (1, 2, 3) and index.category_ids[-1] == 90 and len(index.category_ids) == 80
    assert index.image_ids["000000397133.jpg"] == 397133
    detections = _detections([[10, 20, 40, 80]], confidence=[0.5], class_id=[79])
    assert coco_results(397133, detections, index.category_ids) == [
        {"image_id": 397133, "category_id": 90, "bbox": [10.0, 20.0, 30.0, 60.0], "score": 0.5}
    ]


def test_it_refuses_annotations_of_other_categories(tmp_path: Path, coco_dir: Path) -> None:
    data = json.loads((coco_dir / "annotations" / "instances_val2017.json").read_text())
    data["categories"][3]["name"] = "motorbike"
    (tmp_path / "renamed.json").write_text(json.dumps(data))
    with pytest.raises(CocoAnnotationError, match="category 4 is 'motorbike' where the model's class 3 is 'motorc"):
        CocoIndex.load(tmp_path / "renamed.json", COCO_CLASSES)
    data["categories"] = data["categories"][:1]
    (tmp_path / "person.json").write_text(json.dumps(data))
    with pytest.raises(CocoAnnotationError, match="1 categories, the model has 80"):
        CocoIndex.load(tmp_path / "person.json", COCO_CLASSES)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(CocoAnnotationError, match="not a COCO annotation file"):
        CocoIndex.load(tmp_path / "bad.json", COCO_CLASSES)


def test_it_streams_a_valid_coco_results_list() -> None:
    index = CocoIndex(image_ids={"a.jpg": 1, "b.jpg": 2}, category_ids=tuple(range(1, 81)))
    two = _detections([[0, 0, 1, 1], [2, 2, 4, 4]], confidence=[0.5, 0.25], class_id=[0, 1])
    out = io.StringIO()
    writer = CocoWriter(out, index)
    writer.write(_frame(0, "a.jpg"), two)
    writer.write(_frame(1, "unknown.jpg"), two)
    writer.write(_frame(2, "b.jpg"), two[[1]])
    writer.finish()
    results = json.loads(out.getvalue())
    assert [(r["image_id"], r["category_id"]) for r in results] == [(1, 1), (1, 2), (2, 2)]
    assert writer.unmatched == 1

    empty = io.StringIO()
    CocoWriter(empty, index).finish()
    assert json.loads(empty.getvalue()) == []


# --- the run ---------------------------------------------------------------------------


def test_it_flushes_what_was_read_when_interrupted(detector, vtest_frames: list[np.ndarray]) -> None:
    """Ctrl-C while reading: the frames already read are detected and written, the output is whole."""

    def frames() -> Iterator[OfflineFrame]:
        for i in range(6):
            yield OfflineFrame(index=i, timestamp_s=i / 10, image=vtest_frames[i])
        raise KeyboardInterrupt

    out = io.StringIO()
    batches: list[int] = []
    stats = process(
        frames(),
        detector,
        JsonlWriter(out, class_names=COCO_CLASSES),
        tracker=ObjectTracker(frame_rate=10),
        batch_size=4,
        on_batch=batches.append,
    )
    assert stats.interrupted and stats.frames == 6 and batches == [4, 2]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["frame"] for line in lines] == list(range(6))
    assert stats.detections == sum(len(line["detections"]) for line in lines) > 0
    assert stats.tracks == len({d["track_id"] for line in lines for d in line["detections"]} - {None}) > 0


def test_it_stops_after_max_frames(detector, vtest_frames: list[np.ndarray]) -> None:
    frames = (OfflineFrame(index=i, timestamp_s=i / 10, image=vtest_frames[i]) for i in range(20))
    out = io.StringIO()
    stats = process(frames, detector, MotWriter(out), tracker=None, batch_size=3, max_frames=5)
    assert stats.frames == 5 and not stats.interrupted and stats.tracks == 0
    assert out.getvalue() == ""  # untracked detections are no MOT tracks
    assert next(frames).index == 5  # nothing read beyond the limit
