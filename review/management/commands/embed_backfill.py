"""``python manage.py embed_backfill [--model NAME] [--batch N]``: re-embed review items and
corrections whose vectors another embedding model (or version) made.

Run it after changing ``VIGIL_EMBEDDING_MODEL`` or upgrading the model: until then
similarity search, novelty and the false-positive memory only compare vectors of the
same model, so old items and corrections drop out of them. Crops are cut again from
the stored clean frames. Each batch is committed on its own, so an interrupted run
resumes where it stopped; items whose frame is gone are skipped and counted.
"""
from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q, QuerySet
from tqdm import tqdm

from review.embedding import crops_of, detection_box
from review.models import EMBEDDING_DIM, Correction, ReviewItem
from vision.console import RawOutput
from workers.pipeline.catalogue import ModelFileError
from workers.pipeline.embedder import Embedder

T = TypeVar("T")


def _stale(queryset: QuerySet[Any], name: str, version: str) -> QuerySet[Any]:
    return queryset.exclude(Q(embedding_model=name) & Q(embedding_version=version))


class Command(BaseCommand):
    help = "Re-embed review items and corrections made by another embedding model (resumable)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--model", default=None, help="catalogue embedding model (default: VIGIL_EMBEDDING_MODEL)")
        parser.add_argument("--batch", type=int, default=64, help="crops per embedder call and per commit")

    def handle(self, *args: Any, model: str | None, batch: int, **options: Any) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        try:
            embedder = Embedder.from_catalogue(
                settings.VIGIL_MODEL_DIR, model or settings.VIGIL_EMBEDDING_MODEL, providers=settings.VIGIL_PROVIDERS
            )
        except ModelFileError as err:
            raise CommandError(str(err)) from err
        if embedder.dim != EMBEDDING_DIM:
            raise CommandError(f"{embedder.spec.name} makes {embedder.dim}-d vectors; the columns hold {EMBEDDING_DIM}")
        name, version = embedder.spec.name, embedder.spec.version
        skipped = self._items(embedder, batch)
        skipped += self._corrections(embedder, batch)
        left = _stale(ReviewItem.objects.all(), name, version).count()
        left += _stale(Correction.objects.all(), name, version).count()
        self.stdout.write(f"embeddings are {name} {version}; {skipped} skipped (frame missing), {left} left")

    def _progress(self, total: int, what: str) -> tqdm:
        return tqdm(total=total, unit=what, desc=f"re-embedding {what}s", file=RawOutput(self.stderr))

    def _items(self, embedder: Embedder, batch: int) -> int:
        spec = embedder.spec
        todo = _stale(ReviewItem.objects.all(), spec.name, spec.version).select_related("detection").order_by("pk")
        skipped, after = 0, 0
        with self._progress(todo.count(), "item") as bar:
            while chunk := list(todo.filter(pk__gt=after)[:batch]):
                after = chunk[-1].pk
                found, missing = _readable(embedder, chunk, [(item, detection_box(item)) for item in chunk])
                with transaction.atomic():
                    for item, vector in found:
                        item.embedding, item.embedding_model, item.embedding_version = vector, spec.name, spec.version
                        item.novelty = None  # distances to the other model's vectors are meaningless
                    ReviewItem.objects.bulk_update(
                        [item for item, _ in found], ["embedding", "embedding_model", "embedding_version", "novelty"]
                    )
                skipped += missing
                bar.update(len(chunk))
        return skipped

    def _corrections(self, embedder: Embedder, batch: int) -> int:
        spec = embedder.spec
        todo = _stale(Correction.objects.all(), spec.name, spec.version)
        todo = todo.select_related("item__detection").order_by("pk")
        skipped, after = 0, 0
        with self._progress(todo.count(), "correction") as bar:
            while chunk := list(todo.filter(pk__gt=after)[:batch]):
                after = chunk[-1].pk
                found, missing = _readable(embedder, chunk, [(c.item, c.after["box"]) for c in chunk])
                with transaction.atomic():
                    for correction, vector in found:
                        correction.embedding = vector
                        correction.embedding_model, correction.embedding_version = spec.name, spec.version
                    Correction.objects.bulk_update(
                        [c for c, _ in found], ["embedding", "embedding_model", "embedding_version"]
                    )
                skipped += missing
                bar.update(len(chunk))
        return skipped


def _readable(embedder: Embedder, owners: Sequence[T], wanted: list[tuple[ReviewItem, Any]]) -> tuple[
    list[tuple[T, list[float]]], int
]:
    """Embeddings of the ``wanted`` (item, box) pairs whose frames can be read, in one embedder
    call, each with its owner; and how many could not be read."""
    crops = crops_of(wanted)
    kept = [(owner, crop) for owner, crop in zip(owners, crops, strict=True) if crop is not None]
    vectors = embedder.embed([crop for _, crop in kept])
    return [(owner, vector.tolist()) for (owner, _), vector in zip(kept, vectors, strict=True)], len(wanted) - len(kept)
