"""``GET /healthz``: database + pgvector, Redis, and the live stream workers."""
from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from cameras.models import Camera
from events.live import load_heartbeats
from vision.redis_client import get_redis


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except Exception as err:  # any driver error means "down", and says why
        return {"ok": False, "error": f"{type(err).__name__}: {err}".strip()[:300]}
    if row is None:
        return {"ok": False, "error": "the pgvector extension is not installed (run migrate)"}
    return {"ok": True, "pgvector": row[0]}


def _redis() -> dict[str, Any]:
    try:
        get_redis().ping()
    except Exception as err:
        return {"ok": False, "error": f"{type(err).__name__}: {err}"[:300]}
    return {"ok": True}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Monitoring endpoint: 200 when all is well, 503 with the reason otherwise.

    ``?component=web`` checks only what the web process itself needs (for container
    health checks that must not fail while workers start).
    """
    database, cache = _database(), _redis()
    body: dict[str, Any] = {"database": database, "redis": cache}
    healthy = database["ok"] and cache["ok"]
    if request.GET.get("component") != "web":
        workers = load_heartbeats(get_redis()) if cache["ok"] else []
        body["workers"] = workers
        if database["ok"]:
            enabled = Camera.objects.filter(enabled=True).count()
            body["cameras_enabled"] = enabled
            if enabled and not workers:
                body["streams"] = {"ok": False, "error": f"{enabled} enabled camera(s) but no live stream worker"}
                healthy = False
    body["status"] = "ok" if healthy else "down"
    return JsonResponse(body, status=200 if healthy else 503)
