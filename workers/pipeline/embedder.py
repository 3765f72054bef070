"""Image embeddings of detection crops, for similarity search over reviewers' corrections.

Like the detector, one embedder (one ONNX Runtime session, same provider choice) is
built per process and shared: crops of any sizes go through :meth:`Embedder.embed`
together, in batches of up to ``max_batch`` per session run. The vectors are
L2-normalised, so cosine similarity is a dot product and pgvector's cosine distance
(``<=>``) and :func:`workers.pipeline.similarity.cosine_distances` agree.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from workers.pipeline.catalogue import CATALOGUE, ModelFileError, ModelSpec, locate_model
from workers.pipeline.drawing import crop
from workers.pipeline.onnx_session import check_image, load_model
from workers.pipeline.similarity import l2_normalise

log = logging.getLogger(__name__)

DEFAULT_MODEL = "mobilenetv2_embed"
EMBEDDING_OUTPUT = "embedding"
"""The output :func:`workers.pipeline.catalogue.derive_embedding_model` adds: pooled features, before L2."""


class Embedder:
    """An embedding model of the catalogue on ONNX Runtime, with batching across crops.

    Preprocessing follows the model's :class:`~workers.pipeline.catalogue.Preprocessing`
    (for MobileNetV2, as verified in models/SOURCES.md): the whole crop squashed to the
    input size (bilinear), put in the model's channel order, ``x * scale``, then
    ``(x - mean) / std``, NCHW.
    Thread-safe: ONNX Runtime sessions may be run from several threads.
    """

    def __init__(
        self,
        model_path: Path,
        spec: ModelSpec,
        *,
        providers: Sequence[str] = ("auto",),
        max_batch: int = 16,
        intra_op_threads: int | None = None,
    ) -> None:
        pre = spec.preprocessing
        if spec.task != "embedding" or pre.resize != "squash":
            raise ValueError(f"{spec.name} is not an embedding model that squashes crops to its input size")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.spec = spec
        self.max_batch = max_batch
        self._rgb = pre.channel_order == "RGB"
        std = np.array(pre.std, np.float32)
        # (x * scale - mean) / std, folded into one multiply and one subtract per value.
        self._multiplier = (pre.scale / std).reshape(3, 1, 1)
        self._offset = (np.array(pre.mean, np.float32) / std).reshape(3, 1, 1)

        loaded = load_model(
            model_path,
            label=spec.name,
            output_name=EMBEDDING_OUTPUT,
            item_shape=self._input_shape(1)[1:],
            providers=providers,
            max_batch=max_batch,
            intra_op_threads=intra_op_threads,
        )
        self._session, self._input_name = loaded.session, loaded.input_name
        self.providers: list[str] = self._session.get_providers()
        (warm,) = self._session.run([EMBEDDING_OUTPUT], {self._input_name: np.zeros(self._input_shape(1), np.float32)})
        self.dim: int = warm.shape[1]
        """Length of each embedding (1280 for MobileNetV2)."""
        log.info("%s loaded from %s on %s", spec.name, model_path, ", ".join(self.providers))

    @classmethod
    def from_catalogue(
        cls,
        model_dir: Path,
        name: str = DEFAULT_MODEL,
        *,
        providers: Sequence[str] = ("auto",),
        max_batch: int = 16,
        intra_op_threads: int | None = None,
    ) -> Embedder:
        """The catalogue's embedding model ``name``, from ``model_dir`` after its checksum is verified.

        Raises:
            ModelFileError: ``name`` is not an embedding model of the catalogue, or its
                file is missing or corrupt (see :func:`~workers.pipeline.catalogue.locate_model`).
        """
        spec = CATALOGUE.get(name)
        if spec is None or spec.task != "embedding":
            known = ", ".join(n for n, s in CATALOGUE.items() if s.task == "embedding")
            raise ModelFileError(f"{name!r} is not an embedding model of the catalogue (it has {known})")
        return cls(
            locate_model(spec, model_dir),
            spec,
            providers=providers,
            max_batch=max_batch,
            intra_op_threads=intra_op_threads,
        )

    def _input_shape(self, batch: int) -> tuple[int, int, int, int]:
        width, height = self.spec.input_size
        return batch, 3, height, width

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings of ``crops`` (H, W, 3 BGR uint8, any mix of sizes): (N, :attr:`dim`) float32, unit rows.

        An empty sequence gives a (0, :attr:`dim`) array.

        Raises:
            ValueError: a crop is not a non-empty (H, W, 3) uint8 array; the message names its index.
        """
        for index, image in enumerate(crops):
            check_image(image, f"crop {index}")
        vectors = np.empty((len(crops), self.dim), np.float32)
        for start in range(0, len(crops), self.max_batch):
            chunk = crops[start : start + self.max_batch]
            (chunk_vectors,) = self._session.run([EMBEDDING_OUTPUT], {self._input_name: self._preprocess(chunk)})
            vectors[start : start + len(chunk)] = chunk_vectors
        return l2_normalise(vectors)

    def _preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        batch = np.empty(self._input_shape(len(crops)), np.float32)
        size = self.spec.input_size
        for i, image in enumerate(crops):
            resized = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
            batch[i] = (resized[:, :, ::-1] if self._rgb else resized).transpose(2, 0, 1)
        batch *= self._multiplier
        batch -= self._offset
        return batch


def crops_for(image: np.ndarray, xyxy: np.ndarray, pad: float = 0.1) -> list[np.ndarray]:
    """One crop of ``image`` per box of ``xyxy`` (N, 4), each grown by ``pad`` x its size and clipped.

    Raises:
        ValueError: ``image`` is not a BGR uint8 image, ``xyxy`` is not (N, 4), or a box
            lies outside the image.
    """
    check_image(image, "image")
    boxes = np.asarray(xyxy, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be an (N, 4) xyxy array, got shape {boxes.shape}")
    return [crop(image, box, pad=pad) for box in boxes]
