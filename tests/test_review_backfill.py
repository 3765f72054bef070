"""``manage.py embed_backfill``: re-embeds what another model embedded, resumably."""
import io

import numpy as np
import pytest
from django.core.management import call_command

from cameras.services import add_camera
from review import services
from review.models import Correction, ReviewItem
from tests.review_data import car_clip, store_items  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

CURRENT = ("mobilenetv2_embed", "12-int8-embed")


def test_it_re_embeds_items_and_corrections_of_another_model(car_clip, media_root, reviewer):
    lot = add_camera(name="Parking lot", stream_url="rtsp://lot.example/1")
    items = store_items(lot, car_clip[:6], media_root)
    original = {item.pk: np.asarray(item.embedding) for item in items}
    x1, y1, x2, y2 = items[1].box
    adjusted = services.correct(items[1].pk, reviewer, "adjust_box", box=[x1 + 15, y1 + 15, x2 - 15, y2 - 15])
    confirmed = services.correct(items[2].pk, reviewer, "confirm")
    ReviewItem.objects.update(embedding_model="old_embedder", embedding_version="1", embedding=[0.0] * 1279 + [1.0])
    Correction.objects.update(embedding_model="old_embedder", embedding_version="1", embedding=[1.0] + [0.0] * 1279)
    (media_root / items[5].frame).unlink()  # retention took this one's frame

    out, err = io.StringIO(), io.StringIO()
    call_command("embed_backfill", batch=2, stdout=out, stderr=err)
    assert "1 skipped (frame missing), 1 left" in out.getvalue()
    assert "re-embedding items" in err.getvalue()  # the progress bar
    for item in ReviewItem.objects.exclude(pk=items[5].pk):
        assert (item.embedding_model, item.embedding_version) == CURRENT and item.novelty is None
        # cut again from the stored JPEG frame: the same crop, give or take compression
        assert float(np.asarray(item.embedding) @ original[item.pk]) > 0.97
    stale = ReviewItem.objects.get(pk=items[5].pk)
    assert stale.embedding_model == "old_embedder"
    for correction in Correction.objects.all():
        assert (correction.embedding_model, correction.embedding_version) == CURRENT
    similarity = float(np.asarray(Correction.objects.get(pk=confirmed.pk).embedding) @ original[items[2].pk])
    assert similarity > 0.97  # a confirm keeps the detection's box
    moved = float(np.asarray(Correction.objects.get(pk=adjusted.pk).embedding) @ original[items[1].pk])
    assert 0.5 < moved < similarity  # the adjusted box's crop

    again = io.StringIO()
    call_command("embed_backfill", stdout=again, stderr=io.StringIO())
    assert "1 skipped (frame missing), 1 left" in again.getvalue()
