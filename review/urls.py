"""Routes of the review API, mounted at /api/review/."""
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from review import api

router = SimpleRouter()
router.register("items", api.ReviewItemViewSet, basename="review-item")
router.register("corrections", api.CorrectionViewSet, basename="review-correction")
router.register("suppressions", api.SuppressionViewSet, basename="review-suppression")

urlpatterns = [
    path("queue/", api.QueueView.as_view(), name="review-queue"),
    path("similar/", api.SimilarView.as_view(), name="review-similar"),
    path("bulk/", api.BulkView.as_view(), name="review-bulk"),
    path("bulk/<uuid:batch>/undo/", api.BulkUndoView.as_view(), name="review-bulk-undo"),
    path("precision/", api.PrecisionView.as_view(), name="review-precision"),
    path("", include(router.urls)),
]
