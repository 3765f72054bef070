"""pgvector on the real database: nearest neighbours, the false-positive memory, novelty and the queue."""
import numpy as np
import pytest
from django.db import connection, transaction
from pgvector.django import CosineDistance

from cameras.services import add_camera
from review import services
from review.memory import match_false_positive
from review.models import ItemStatus, ReviewItem
from review.queue import RANDOM_EVERY, queue_page, random_before, ranked, slots
from review.vectors import nearest
from tests.review_data import car_clip, items, lot, store_items  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

MODEL = ("mobilenetv2_embed", "12-int8-embed")


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_it_finds_the_nearest_items_exactly_under_a_selective_filter(items, lot, media_root, car_clip):
    other = add_camera(name="Gate", stream_url="rtsp://gate.example/1")
    store_items(other, car_clip[:5], media_root)
    source = items[3]
    found = nearest(ReviewItem.objects.filter(camera=lot, class_name="cell phone").exclude(pk=source.pk),
                    source.embedding, limit=5)
    expected = sorted(
        (cosine(source.embedding, i.embedding), i.pk) for i in items if i.class_name == "cell phone" and i != source
    )[:5]
    assert [item.pk for item, _ in found] == [pk for _, pk in expected]
    assert [d for _, d in found] == pytest.approx([d for d, _ in expected], abs=1e-5)
    assert all(item.camera_id == lot.pk for item, _ in found)


def test_it_uses_the_hnsw_index_when_the_candidates_are_many(items):
    source = items[0]
    with transaction.atomic():
        connection.cursor().execute("SET LOCAL enable_seqscan = off")  # a big table, as far as the planner knows
        plan = ReviewItem.objects.annotate(d=CosineDistance("embedding", source.embedding)).order_by("d")[:5].explain()
        by_index = nearest(ReviewItem.objects.all(), source.embedding, limit=5, exact_max=0)
    exact = nearest(ReviewItem.objects.all(), source.embedding, limit=5)
    assert "review_item_embedding_hnsw" in plan
    assert [i.pk for i, _ in by_index] == [i.pk for i, _ in exact]
    assert by_index[0] == (source, pytest.approx(0.0, abs=1e-5))


def test_it_matches_a_false_positive_on_the_same_camera_and_class_only(items, lot, reviewer, media_root, car_clip):
    phones = [i for i in items if i.class_name == "cell phone"]
    rejected = services.correct(phones[1].pk, reviewer, "reject")
    query = phones[2].embedding  # the same car three frames later
    distance = cosine(phones[1].embedding, query)
    match = match_false_positive(lot.pk, "cell phone", query, threshold=distance + 0.01, model=MODEL)
    assert match is not None and match.correction_id == rejected.pk
    assert match.distance == pytest.approx(distance, abs=1e-5)
    assert match_false_positive(lot.pk, "cell phone", query, threshold=distance - 0.01, model=MODEL) is None
    assert match_false_positive(lot.pk, "car", query, threshold=1.0, model=MODEL) is None
    assert match_false_positive(lot.pk + 1, "cell phone", query, threshold=1.0, model=MODEL) is None
    assert match_false_positive(lot.pk, "cell phone", query, threshold=0.0, model=MODEL) is None  # memory off
    assert match_false_positive(lot.pk, "cell phone", query, threshold=1.0, model=("other", "1")) is None
    services.undo(rejected.pk, reviewer)
    assert match_false_positive(lot.pk, "cell phone", query, threshold=1.0, model=MODEL) is None


def test_it_interleaves_the_random_sample_every_tenth_position():
    assert slots(0, 20, scored=100, randoms=100) == [p % RANDOM_EVERY == RANDOM_EVERY - 1 for p in range(20)]
    assert slots(0, 5, scored=2, randoms=10) == [False, False, True, True, True]  # ranked ones ran out
    assert slots(0, 30, scored=100, randoms=1).count(True) == 1  # random ones ran out
    for offset in range(0, 40, 7):  # pages agree with the whole
        assert slots(offset, 7, 25, 8) == slots(0, 40, 25, 8)[offset : offset + 7]
    assert random_before(33, scored=25, randoms=8) == 8


def test_it_ranks_by_uncertainty_and_novelty_and_refreshes_novelty_after_reviews(items, reviewer):
    fresh = ranked(ReviewItem.objects.all(), 5)
    assert all(i.novelty == 1.0 for i in fresh)  # nothing reviewed yet: everything is new
    assert [i.score for i in fresh] == sorted((i.score for i in fresh), reverse=True)
    reviewed = items[2]
    services.correct(reviewed.pk, reviewer, "confirm")
    top = ranked(ReviewItem.objects.filter(status=ItemStatus.UNREVIEWED), len(items))
    for item in top:
        assert item.novelty == pytest.approx(min(1.0, cosine(item.embedding, reviewed.embedding)), abs=1e-4)
        assert item.score == pytest.approx(item.uncertainty + item.novelty, abs=1e-6)
    neighbour = min(top, key=lambda i: i.novelty)
    assert neighbour.novelty < 0.2  # the same car a frame away is no longer new
    assert neighbour.pk in {items[1].pk, items[3].pk}


def test_it_forgets_novelty_that_rested_on_an_undone_review(items, reviewer):
    correction = services.correct(items[2].pk, reviewer, "confirm")
    ranked(ReviewItem.objects.filter(status=ItemStatus.UNREVIEWED), len(items))
    services.undo(correction.pk, reviewer)
    assert ReviewItem.objects.get(pk=items[3].pk).novelty is None  # it was nearest the undone review
    assert ReviewItem.objects.get(pk=items[2].pk).novelty is None  # back in the queue
    assert all(i.novelty == 1.0 for i in ranked(ReviewItem.objects.filter(status=ItemStatus.UNREVIEWED), 40))


def test_it_serves_pages_of_the_queue_with_the_random_sample_flagged(lot, car_clip, media_root):
    store_items(lot, car_clip[:25], media_root)
    store_items(lot, car_clip[25:], media_root, reason="random", in_random_sample=True)
    candidates = ReviewItem.objects.filter(status=ItemStatus.UNREVIEWED)
    page, total = queue_page(candidates, 0, 20)
    assert total == len(car_clip)
    assert [i.in_random_sample for i in page] == slots(0, 20, 25, len(car_clip) - 25)
    randoms = [i for i in page if i.in_random_sample]
    assert [i.random_key for i in randoms] == sorted(i.random_key for i in randoms)
    assert all(i.score is None for i in randoms)
    second, _ = queue_page(candidates, 20, 20)
    assert not {i.pk for i in page} & {i.pk for i in second}
    assert len(page) + len(second) == total
