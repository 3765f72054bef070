"""The models Vigil runs: where they come from, how to check them, how to feed them.

Model files are never downloaded at run time. ``python manage.py fetch_models`` calls
:func:`fetch_model` once per install; workers call :func:`locate_model`, which only
checks the file that is there and says exactly how to fix it when it is not.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import onnx
from onnx import TensorProto, helper
from tqdm import tqdm

log = logging.getLogger(__name__)

FIX_HINT = "run `python manage.py fetch_models` or set VIGIL_MODEL_DIR to a folder that holds the verified models"

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip
"""The 80 COCO detection classes in model output order (they map to the sorted COCO category ids)."""

_CHUNK = 1 << 20


class ModelFileError(Exception):
    """A model file is missing, incomplete, corrupt, or could not be downloaded."""


@dataclass(frozen=True)
class Preprocessing:
    """How a frame becomes the model's input tensor (verified in models/SOURCES.md)."""

    channel_order: Literal["BGR", "RGB"]
    resize: Literal["letterbox", "squash"]
    """``letterbox``: keep the aspect ratio and pad; ``squash``: stretch to the input size."""
    pad_value: float | None
    """Fill of the letterbox padding; ``None`` when nothing is padded."""
    scale: float
    """Pixel values 0..255 are multiplied by this before ``(x - mean) / std``."""
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class ModelSpec:
    """One verified model file and everything needed to fetch, check and run it."""

    name: str
    version: str
    filename: str
    url: str
    """Origin of the bytes, pinned to a commit. For a derived model: the base model's origin."""
    sha256: str
    """Checksum of ``filename`` as installed (for a derived model: of the derived file)."""
    size_bytes: int
    task: Literal["detection", "embedding"]
    input_size: tuple[int, int]
    """Network input ``(width, height)``."""
    class_names: tuple[str, ...]
    licence: str
    preprocessing: Preprocessing
    mirrors: tuple[str, ...] = ()
    """Other URLs that serve the same bytes, tried in order when ``url`` fails."""
    derived_from: ModelSpec | None = None
    """The file this one is built from locally, with :attr:`derive`, instead of downloaded."""
    derive: Callable[[Path, Path], None] | None = None
    """``derive(base_path, out_path)``: builds this model from ``derived_from``."""

    def __post_init__(self) -> None:
        if (self.derived_from is None) != (self.derive is None):
            raise ValueError(f"{self.name}: derived_from and derive go together")


def derive_embedding_model(base_path: Path, out_path: Path) -> None:
    """Add an ``embedding`` output (N, 1280) to the ImageNet MobileNetV2 int8 model.

    The new output is the global-average-pooled feature map ``464`` dequantized and
    flattened; the ``output`` logits are untouched. The result is byte-identical to
    the verified ``mobilenetv2-12-int8-embed.onnx`` (its sha256 is checked by the
    caller), because protobuf serialisation of the same graph is deterministic.
    """
    model = onnx.load(str(base_path))
    graph = model.graph
    graph.node.append(
        helper.make_node(
            "DequantizeLinear", ["464_quantized", "464_scale", "464_zero_point"], ["pooled_f32"], name="embed_dequant"
        )
    )
    graph.node.append(helper.make_node("Flatten", ["pooled_f32"], ["embedding"], name="embed_flatten", axis=1))
    graph.output.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch_size", 1280]))
    out_path.write_bytes(model.SerializeToString())


_IMAGENET = Preprocessing(
    channel_order="RGB",
    resize="squash",
    pad_value=None,
    scale=1 / 255,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
)

MOBILENETV2_INT8 = ModelSpec(
    name="mobilenetv2_int8",
    version="12-int8",
    filename="mobilenetv2-12-int8.onnx",
    url=(
        "https://raw.githubusercontent.com/Lawrence-lugs/MARP/4eb1e15524758aa3ba9e42edf398a71bd66ccb74"
        "/onnx_models/mobilenetv2-12-int8.onnx"
    ),
    # The ONNX Model Zoo file (Git LFS) has the same sha256.
    mirrors=(
        "https://media.githubusercontent.com/media/onnx/models/8b137f96002939214a6a40cca0cf222d043b714a"
        "/vision/classification/mobilenet/model/mobilenetv2-12-int8.onnx",
    ),
    sha256="cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f",
    size_bytes=3655033,
    task="embedding",
    input_size=(224, 224),
    class_names=(),
    licence="Apache-2.0 (ONNX Model Zoo)",
    preprocessing=_IMAGENET,
)
"""Base of the embedding model; not in :data:`CATALOGUE` because nothing runs it directly."""

CATALOGUE: dict[str, ModelSpec] = {
    "yolox_nano": ModelSpec(
        name="yolox_nano",
        version="0.1.1rc0",
        filename="yolox_nano.onnx",
        url=(
            "https://raw.githubusercontent.com/Kazuhito00/YOLOX-ONNX-TFLite-Sample"
            "/3d4f1119d0694200671c08069ecb847aa0d8495a/model/yolox_nano.onnx"
        ),
        sha256="695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
        size_bytes=3660092,
        task="detection",
        input_size=(416, 416),
        class_names=COCO_CLASSES,
        licence="Apache-2.0",
        preprocessing=Preprocessing(
            channel_order="BGR",
            resize="letterbox",
            pad_value=114.0,
            scale=1.0,
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
        ),
    ),
    "mobilenetv2_embed": ModelSpec(
        name="mobilenetv2_embed",
        version="12-int8-embed",
        filename="mobilenetv2-12-int8-embed.onnx",
        url=MOBILENETV2_INT8.url,
        sha256="cd57eed857db1ee9f27c90ca70302b9efd11f4330a41a5ce4ab28b60214be203",
        size_bytes=3655224,
        task="embedding",
        input_size=(224, 224),
        class_names=(),
        licence="Apache-2.0 (ONNX Model Zoo)",
        preprocessing=_IMAGENET,
        derived_from=MOBILENETV2_INT8,
        derive=derive_embedding_model,
    ),
}


@functools.lru_cache(maxsize=64)
def _sha256_of(path: Path, size: int, mtime_ns: int) -> str:
    """Hash of a file, cached by (path, size, mtime) so workers can re-check it for free."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def locate_model(spec: ModelSpec, model_dir: Path) -> Path:
    """Return the path of ``spec``'s file in ``model_dir`` after checking its size and sha256.

    Raises:
        ModelFileError: the file is missing, has the wrong size or the wrong checksum;
            the message names the file and the fix.
    """
    path = (model_dir / spec.filename).absolute()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} is missing: {FIX_HINT}") from None
    if stat.st_size != spec.size_bytes:
        raise ModelFileError(
            f"model file {path} has {stat.st_size} bytes, expected {spec.size_bytes}"
            f" (incomplete or wrong file): {FIX_HINT}"
        )
    actual = _sha256_of(path, stat.st_size, stat.st_mtime_ns)
    if actual != spec.sha256:
        raise ModelFileError(
            f"model file {path} fails its checksum: sha256 is {actual}, expected {spec.sha256}: {FIX_HINT}"
        )
    return path


def fetch_model(spec: ModelSpec, model_dir: Path, *, progress: bool = True) -> Path:
    """Install ``spec``'s verified file in ``model_dir`` and return its path.

    A file already there with the right checksum is kept. Otherwise the file is
    downloaded (or, for a derived model, built from its fetched base) into a temporary
    file next to the target, verified, and renamed into place atomically, so a crash
    or a bad download never leaves a half-written model under the real name.

    Raises:
        ModelFileError: the download failed or its checksum is wrong.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(ModelFileError):
        return locate_model(spec, model_dir)
    target = model_dir / spec.filename
    with _temporary_sibling(target) as tmp:
        if spec.derived_from is not None and spec.derive is not None:  # both or neither
            base_path = fetch_model(spec.derived_from, model_dir, progress=progress)
            log.info("deriving %s from %s", target, base_path)
            spec.derive(base_path, tmp)
        else:
            _download_first(spec, tmp, progress=progress)
        _verify(tmp, spec, source=f"the file built for {target}")
        os.replace(tmp, target)
    return locate_model(spec, model_dir)


@contextlib.contextmanager
def _temporary_sibling(target: Path) -> Iterator[Path]:
    """A temporary path in ``target``'s folder (so ``os.replace`` is atomic), removed if left over."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _download_first(spec: ModelSpec, out_path: Path, *, progress: bool) -> None:
    """Download from ``spec.url``, then each mirror, until one gives the verified bytes."""
    failures = []
    for url in (spec.url, *spec.mirrors):
        try:
            with out_path.open("wb") as out:
                _download(url, out, total=spec.size_bytes, label=spec.filename, progress=progress)
            _verify(out_path, spec, source=url)
            return
        except (OSError, urllib.error.URLError, ModelFileError) as exc:
            log.warning("download of %s from %s failed: %s", spec.filename, url, exc)
            failures.append(f"{url}: {exc}")
    raise ModelFileError(f"could not download {spec.filename}: " + "; ".join(failures))


def _download(url: str, out: IO[bytes], *, total: int, label: str, progress: bool) -> None:
    with (
        urllib.request.urlopen(url, timeout=60) as response,
        tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not progress) as bar,
    ):
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            bar.update(len(chunk))
        out.flush()
        os.fsync(out.fileno())


def _verify(path: Path, spec: ModelSpec, *, source: str) -> None:
    stat = path.stat()
    if stat.st_size != spec.size_bytes:
        raise ModelFileError(f"{source} gave {stat.st_size} bytes, expected {spec.size_bytes}")
    actual = _sha256_of(path, stat.st_size, stat.st_mtime_ns)
    if actual != spec.sha256:
        raise ModelFileError(f"{source} gave sha256 {actual}, expected {spec.sha256}")
