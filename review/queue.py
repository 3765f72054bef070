"""The review queue: what is most worth a reviewer's time, first.

Unreviewed items outside the random sample are ranked by

    score = W_UNCERTAINTY * uncertainty + W_NOVELTY * novelty

``uncertainty`` (fixed when the item is sampled) is 1 at the alert threshold and 0 a
band away; ``novelty`` is the cosine distance to the nearest reviewed item (capped at
1: nothing like it reviewed yet), so a reviewer is not shown the hundredth copy of what
they already judged. Every ``RANDOM_EVERY``-th position holds instead the next item of
the uniform random sample (in ``random_key`` order); those are flagged, so precision
figures can use them alone.

Novelty is cached on the item with the newest correction id it saw
(``novelty_as_of``). A review can only lower other items' novelty, so a stale value is
an upper bound of the true one: the queue takes the best page by cached scores,
recomputes the stale ones among them (one HNSW query each, on the index of reviewed
items), and repeats until the page is all fresh, the lazy way of keeping a top-k under
scores that only fall. The cost follows the page, not the size of the queue. An undo
can raise novelty: it clears the cached value of the items concerned
(:func:`review.services.forget_novelty_near`).
"""
from __future__ import annotations

from django.db.models import F, FloatField, Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Least
from pgvector.django import CosineDistance

from review.models import Correction, ItemStatus, ReviewItem

W_UNCERTAINTY = 1.0
W_NOVELTY = 1.0
RANDOM_EVERY = 10
MAX_DEPTH = 2000
"""Deepest position the queue serves: reviewers work from the top."""
MAX_REFRESH_ROUNDS = 10

SCORE = W_UNCERTAINTY * F("uncertainty") + W_NOVELTY * Coalesce(F("novelty"), Value(1.0))


def random_before(position: int, scored: int, randoms: int, every: int = RANDOM_EVERY) -> int:
    """How many random-sample items come before ``position`` when ``scored`` and ``randoms`` items are merged.

    Nominally every ``every``-th position is a random one; when either list runs out the
    other fills the rest.
    """
    return max(min(randoms, position // every), position - scored)


def slots(offset: int, limit: int, scored: int, randoms: int, every: int = RANDOM_EVERY) -> list[bool]:
    """For each position of the page, whether it holds a random-sample item (``True``) or a ranked one."""
    end = min(offset + limit, scored + randoms)
    return [
        random_before(p + 1, scored, randoms, every) > random_before(p, scored, randoms, every)
        for p in range(offset, end)
    ]


def refresh_novelty(item_ids: list[int], as_of: int) -> None:
    """Recompute the novelty of ``item_ids`` against the reviewed items of their own embedding model."""
    nearest_reviewed = (
        ReviewItem.objects.filter(
            status=ItemStatus.REVIEWED,
            embedding_model=OuterRef("embedding_model"),
            embedding_version=OuterRef("embedding_version"),
        )
        .annotate(distance=CosineDistance("embedding", OuterRef("embedding")))
        .order_by("distance")
        .values("distance")[:1]
    )
    ReviewItem.objects.filter(pk__in=item_ids).update(
        novelty=Least(Value(1.0), Coalesce(Subquery(nearest_reviewed, output_field=FloatField()), Value(1.0))),
        novelty_as_of=as_of,
    )


def ranked(candidates: QuerySet[ReviewItem], count: int) -> list[ReviewItem]:
    """The ``count`` best-scored of ``candidates``, with fresh novelty, best first; each has ``score``."""
    as_of = Correction.objects.aggregate(newest=Max("pk"))["newest"] or 0
    by_score = candidates.annotate(score=SCORE).order_by("-score", "-pk")
    top = list(by_score[:count])
    for _ in range(MAX_REFRESH_ROUNDS):
        stale = [item.pk for item in top if item.novelty is None or item.novelty_as_of < as_of]
        if not stale:
            break
        refresh_novelty(stale, as_of)
        top = list(by_score[:count])
    return top


def queue_page(candidates: QuerySet[ReviewItem], offset: int, limit: int) -> tuple[list[ReviewItem], int]:
    """One page of the queue over unreviewed ``candidates`` and the queue's length.

    Random-sample items have ``score`` ``None``.
    """
    scored_qs = candidates.filter(in_random_sample=False)
    random_qs = candidates.filter(in_random_sample=True).order_by("random_key", "pk")
    scored_total, random_total = scored_qs.count(), random_qs.count()
    kinds = slots(offset, limit, scored_total, random_total)
    randoms_from = random_before(offset, scored_total, random_total)
    scored_from = offset - randoms_from
    randoms = iter(random_qs[randoms_from : randoms_from + sum(kinds)] if any(kinds) else [])
    scored_count = len(kinds) - sum(kinds)
    scored = iter(ranked(scored_qs, scored_from + scored_count)[scored_from:] if scored_count else [])
    page = []
    for is_random in kinds:
        item = next(randoms) if is_random else next(scored)
        if is_random:
            item.score = None  # type: ignore[attr-defined]
        page.append(item)
    return page, scored_total + random_total
