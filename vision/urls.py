from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from cameras import config_views, views as camera_views
from cameras.api import CameraViewSet, ConfigExportView, ConfigImportView, RegionViewSet, RuleViewSet
from events import views as event_views
from events.api import DetectionViewSet, EventViewSet
from review import views as review_views
from vision.health import healthz

router = DefaultRouter()
router.register("cameras", CameraViewSet)
router.register("regions", RegionViewSet)
router.register("rules", RuleViewSet)
router.register("events", EventViewSet)
router.register("detections", DetectionViewSet)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard", permanent=False)),
    path("healthz", login_not_required(healthz), name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", event_views.dashboard, name="dashboard"),
    path("cameras/", camera_views.camera_list, name="camera-index"),
    path("cameras/add/", camera_views.camera_add, name="camera-add"),
    path("cameras/<int:pk>/edit/", camera_views.camera_edit, name="camera-edit"),
    path("cameras/<int:pk>/delete/", camera_views.camera_delete, name="camera-delete"),
    path("cameras/<int:pk>/toggle/", camera_views.camera_toggle, name="camera-toggle"),
    path("cameras/<int:pk>/configure/", config_views.camera_configure, name="camera-configure"),
    path("cameras/<int:pk>/live.jpg", event_views.live_frame, name="camera-live"),
    path("events/<int:pk>/", event_views.event_detail, name="event-page"),
    path("media/<path:path>", event_views.media, name="media"),
    path("review/", review_views.review_screen, name="review-screen"),
    path("review/similar/", review_views.similar_page, name="review-similar-page"),
    path("review/suppressed/", review_views.suppressed_page, name="review-suppressed-page"),
    path("api/config/export/", ConfigExportView.as_view(), name="config-export"),
    path("api/config/import/", ConfigImportView.as_view(), name="config-import"),
    path("api/review/", include("review.urls")),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/api/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    path("admin/", admin.site.urls),
]
