"""ASGI entry point: HTTP goes to Django, WebSockets to Channels consumers (session auth)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vision.settings")
django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import path  # noqa: E402

from events.consumers import EventsConsumer  # noqa: E402
from events.live_consumer import LiveConsumer  # noqa: E402

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi()),  # alerts and their handling (events/consumers.py)
    path("ws/live/", LiveConsumer.as_asgi()),  # live frames, zones and health (events/live_consumer.py)
]

application = ProtocolTypeRouter(
    {
        # Static files are small and few; serving them from Daphne keeps one process.
        "http": ASGIStaticFilesHandler(django_http),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
