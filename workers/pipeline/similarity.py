"""Cosine geometry over embeddings, and the false-positive memory match (pure NumPy).

Reviewers mark detections as false positives; their crops' embeddings form a bank.
A new detection whose embedding lies within a threshold of a banked one is the same
kind of mistake again (a statue taken for a person, a poster, a reflection), and the
caller can suppress or flag it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows of ``vectors`` (N, D) scaled to unit length; an all-zero row stays zero (it has no direction)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, np.finfo(np.float32).tiny)


def cosine_distances(query: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``1 - cos(query, row)`` for each row of ``matrix`` (N, D): 0 same direction, 1 orthogonal, 2 opposite.

    Inputs need not be normalised. A zero vector is at distance 1 from everything.

    Raises:
        ValueError: ``query`` is not (D,) or ``matrix`` not (N, D) with the same D.
    """
    query = np.asarray(query)
    matrix = np.asarray(matrix)
    if query.ndim != 1 or matrix.ndim != 2 or matrix.shape[1] != query.shape[0]:
        raise ValueError(f"need a (D,) query and an (N, D) matrix, got {query.shape} and {matrix.shape}")
    similarity = l2_normalise(matrix) @ l2_normalise(query)
    return np.clip(1.0 - similarity, 0.0, 2.0)


def nearest_within(
    query: np.ndarray, bank_ids: Sequence[int] | np.ndarray, bank_vectors: np.ndarray, threshold: float
) -> tuple[int, float] | None:
    """The id and cosine distance of the bank vector nearest ``query``, if that distance is ``<= threshold``.

    ``bank_ids[i]`` names ``bank_vectors[i]`` (for example a Correction's primary key).
    Returns ``None`` for an empty bank or when even the nearest vector is farther away.

    Raises:
        ValueError: the ids and vectors differ in number, or the shapes do not fit
            (see :func:`cosine_distances`).
    """
    if len(bank_ids) != len(bank_vectors):
        raise ValueError(f"{len(bank_ids)} bank ids for {len(bank_vectors)} bank vectors")
    if len(bank_ids) == 0:
        return None
    distances = cosine_distances(query, bank_vectors)
    nearest = int(np.argmin(distances))
    distance = float(distances[nearest])
    return (int(bank_ids[nearest]), distance) if distance <= threshold else None
