"""``python manage.py detect SOURCE``: run the stream workers' detector and tracker over a whole
video, stream or image folder, and write MOTChallenge tracks, JSON lines or COCO results."""
from __future__ import annotations

import contextlib
from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from vision.console import RawOutput
from workers.pipeline.catalogue import CATALOGUE, ModelFileError, locate_model
from workers.pipeline.detector import OnnxYoloxDetector
from workers.pipeline.offline import (
    DISPLAY_THRESHOLDS,
    EVAL_THRESHOLDS,
    CocoAnnotationError,
    CocoIndex,
    CocoWriter,
    FrameReader,
    JsonlWriter,
    MotWriter,
    ResultWriter,
    TextSink,
    parse_offline_source,
    process,
)
from workers.pipeline.sources import SourceError, redact_url
from workers.pipeline.tracking import ObjectTracker

FORMATS = ("mot", "coco", "jsonl")


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


class Command(BaseCommand):
    help = (
        "Detect (and track) objects in a video file, a stream URL (rtsp://, http(s)://) or a folder of images "
        "(read in file-name order) with the stream workers' detector, and write MOTChallenge tracks, JSON lines "
        "or COCO detection results. Stop a stream with Ctrl-C or --max-frames: the output is still complete."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("source", help="video file, image folder, or rtsp:// / http(s):// URL")
        parser.add_argument("--model", help="detection model of the catalogue (default: VIGIL_DETECTOR_MODEL)")
        parser.add_argument(
            "--fps", type=_positive_float, help="sample the source down to this rate (default: every frame)"
        )
        parser.add_argument("--out", default="-", help="output file (default: - for stdout)")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="mot (default for videos and streams), coco (default with --coco-annotations) or jsonl (else)",
        )
        parser.add_argument(
            "--coco-annotations",
            type=Path,
            metavar="FILE",
            help="COCO instances_*.json giving the image and category ids of --format coco",
        )
        parser.add_argument(
            "--conf",
            type=_fraction,
            help=f"confidence threshold (default {EVAL_THRESHOLDS[0]} for coco, else {DISPLAY_THRESHOLDS[0]})",
        )
        parser.add_argument(
            "--nms",
            type=_fraction,
            metavar="IOU",
            help=f"NMS IoU threshold (default {EVAL_THRESHOLDS[1]} for coco, else {DISPLAY_THRESHOLDS[1]})",
        )
        parser.add_argument("--batch", type=_positive_int, default=8, help="frames per detector run (default 8)")
        parser.add_argument("--max-frames", type=_positive_int, metavar="N", help="stop after N processed frames")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            source = parse_offline_source(options["source"])
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        annotations: Path | None = options["coco_annotations"]
        fmt: str = options["format"] or (
            "coco" if annotations is not None else "jsonl" if source.kind == "images" else "mot"
        )
        if fmt == "coco":
            if annotations is None:
                raise CommandError("--format coco needs --coco-annotations FILE for the image and category ids")
            if source.kind != "images":
                raise CommandError(
                    "--format coco needs an image folder: images are matched to the annotations by file name"
                )

        name: str = options["model"] or settings.VIGIL_DETECTOR_MODEL
        spec = CATALOGUE.get(name)
        if spec is None or spec.task != "detection":
            choices = ", ".join(n for n, s in CATALOGUE.items() if s.task == "detection")
            raise CommandError(f"unknown detection model {name!r}: choose from {choices}")
        try:
            model_path = locate_model(spec, Path(settings.VIGIL_MODEL_DIR))
        except ModelFileError as exc:
            raise CommandError(str(exc)) from None
        coco_index = None
        if annotations is not None and fmt == "coco":
            try:
                coco_index = CocoIndex.load(annotations, spec.class_names)
            except CocoAnnotationError as exc:
                raise CommandError(str(exc)) from None

        default_conf, default_nms = EVAL_THRESHOLDS if fmt == "coco" else DISPLAY_THRESHOLDS
        conf = default_conf if options["conf"] is None else options["conf"]
        nms = default_nms if options["nms"] is None else options["nms"]
        try:
            reader = FrameReader(source, fps=options["fps"])
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        verbosity: int = options["verbosity"]
        max_frames: int | None = options["max_frames"]
        with reader:
            detector = OnnxYoloxDetector(
                model_path,
                spec,
                providers=settings.VIGIL_PROVIDERS,
                conf_threshold=conf,
                nms_iou=nms,
                max_batch=options["batch"],
            )
            with self._open_out(options["out"]) as out:
                writer: ResultWriter
                if fmt == "mot":
                    writer = MotWriter(out, class_ids=(spec.class_names.index("person"),))
                elif fmt == "jsonl":
                    writer = JsonlWriter(out, class_names=spec.class_names)
                else:
                    assert coco_index is not None
                    writer = CocoWriter(out, coco_index)
                tracker = None if fmt == "coco" else ObjectTracker(frame_rate=reader.effective_fps)
                total = reader.frame_count_hint
                if max_frames is not None:
                    total = max_frames if total is None else min(total, max_frames)
                with tqdm(
                    total=total,
                    unit="frame",
                    desc=source.kind if source.is_stream else Path(source.url).name,
                    file=RawOutput(self.stderr),
                    disable=verbosity == 0,
                    dynamic_ncols=True,
                ) as bar:
                    stats = process(
                        reader,
                        detector,
                        writer,
                        tracker=tracker,
                        batch_size=options["batch"],
                        max_frames=max_frames,
                        on_batch=bar.update,
                    )
        if verbosity > 0:
            summary = (
                f"read {reader.frames_read} frames, processed {stats.frames}, {stats.detections} detections, "
                f"{stats.tracks} tracks, {stats.frames_per_s:.1f} frames/s"
            )
            if reader.frames_corrupt:
                summary += f", skipped {reader.frames_corrupt} unreadable"
            if isinstance(writer, CocoWriter) and writer.unmatched:
                summary += f", {writer.unmatched} images not in the annotations"
            if stats.interrupted:
                summary += " (interrupted)"
            target = "stdout" if options["out"] == "-" else options["out"]
            self.stderr.write(f"{summary}; {fmt} written to {target} from {redact_url(source.url)}")

    @contextlib.contextmanager
    def _open_out(self, out: str) -> Iterator[TextSink]:
        if out == "-":
            yield RawOutput(self.stdout)
            return
        try:
            f: TextIO = open(out, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
        with f:
            yield f
