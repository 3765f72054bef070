"""Vigil settings. Every value comes from an environment variable (see README)."""
from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from vision import embedded
from vision.env import (
    EnvError,
    celery_broker_url,
    check_redis_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("VIGIL_DATA_DIR", BASE_DIR / ".data")
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = env_str("VIGIL_SECRET_KEY")
    if configured:
        return configured
    # Development default: a random key kept in the data folder, so sessions and
    # encrypted camera credentials survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("VIGIL_DEBUG", False)
ALLOWED_HOSTS = env_list("VIGIL_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("VIGIL_CSRF_TRUSTED_ORIGINS", [])

embedded.ensure_environment(DATA_DIR)
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = check_redis_url(env_str("REDIS_URL"))

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "cameras",
    "events",
    "review",
    "workers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "vision.middleware.VigilLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "vision.urls"
ASGI_APPLICATION = "vision.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": parse_database_url(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("VIGIL_DB_CONN_MAX_AGE", 0, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["TEST"] = {"NAME": env_str("VIGIL_TEST_DATABASE", "test_vigil")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("VIGIL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("VIGIL_MEDIA_ROOT", DATA_DIR / "media")
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("VIGIL_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)

# --- Redis: Channels layer, Celery broker, leases, live frames -------------------------
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # channels-redis waits on BZPOPMIN for 5 s; redis-py 8 gives up reading after 5 s
            # by default, so without a longer socket timeout an idle socket's consumer dies.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "capacity": 1000,
            "expiry": 30,
        },
    }
}
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = celery_broker_url(REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON log format of LOGGING
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["vision.permissions.RoleModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Vigil API",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Self-hosted: the docs page loads Swagger UI from this server, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "EventStatusEnum": "events.models.EventStatus.choices",
        "CameraStatusEnum": "cameras.models.CameraStatus.choices",
        "ReviewActionEnum": "review.models.Action.choices",
        "ReviewItemActionEnum": "review.models.ITEM_ACTION_CHOICES",
        "ReviewBulkActionEnum": "review.models.BULK_ACTION_CHOICES",
        "ReviewItemStatusEnum": "review.models.ItemStatus.choices",
    },
}

# --- Vision pipeline -----------------------------------------------------------------
VIGIL_MODEL_DIR = env_path("VIGIL_MODEL_DIR", DATA_DIR / "models")
VIGIL_DETECTOR_MODEL = env_str("VIGIL_DETECTOR_MODEL", "yolox_nano")
VIGIL_EMBEDDING_MODEL = env_str("VIGIL_EMBEDDING_MODEL", "mobilenetv2_embed")
VIGIL_PROVIDERS = env_list("VIGIL_PROVIDERS", ["auto"])
VIGIL_VIDEO_DIR = env_path("VIGIL_VIDEO_DIR", DATA_DIR / "videos")
VIGIL_STREAM_CAPACITY = env_int("VIGIL_STREAM_CAPACITY", 16, minimum=1)
VIGIL_LEASE_TTL = env_float("VIGIL_LEASE_TTL", 15.0, minimum=2.0)
VIGIL_CONFIG_POLL_SECONDS = env_float("VIGIL_CONFIG_POLL_SECONDS", 2.0, minimum=0.1)
VIGIL_DEFAULT_DETECT_FPS = env_float("VIGIL_DEFAULT_DETECT_FPS", 5.0, minimum=0.1)
VIGIL_BATCH_SIZE = env_int("VIGIL_BATCH_SIZE", 8, minimum=1)
VIGIL_MOTION_GATING = env_bool("VIGIL_MOTION_GATING", True)
VIGIL_LIVE_FPS = env_float("VIGIL_LIVE_FPS", 5.0, minimum=0.1)
VIGIL_INFERENCE_THREADS = env_int("VIGIL_INFERENCE_THREADS", 0, minimum=0)  # 0: one per core on CPU, 2 on GPU
VIGIL_DECODE_THREADS = env_int("VIGIL_DECODE_THREADS", 1, minimum=0)  # per camera; 0: FFmpeg chooses
VIGIL_MODEL_RETRY_SECONDS = env_float("VIGIL_MODEL_RETRY_SECONDS", 30.0, minimum=0.1)  # a stream worker whose model cannot load
VIGIL_SINK_BUFFER_MB = env_int("VIGIL_SINK_BUFFER_MB", 256, minimum=1)  # frames kept while PostgreSQL is away
VIGIL_WORKER_NAME = env_str("VIGIL_WORKER_NAME", "")
# Event clips (workers/event_clips.py): H.264 MP4 from before to after each event; needs ffmpeg.
VIGIL_CLIPS = env_bool("VIGIL_CLIPS", True)
VIGIL_CLIP_PRE_SECONDS = env_float("VIGIL_CLIP_PRE_SECONDS", 5.0, minimum=0.0)
VIGIL_CLIP_POST_SECONDS = env_float("VIGIL_CLIP_POST_SECONDS", 5.0, minimum=0.0)
if not 0 < VIGIL_CLIP_PRE_SECONDS + VIGIL_CLIP_POST_SECONDS <= 60:
    raise EnvError("VIGIL_CLIP_PRE_SECONDS + VIGIL_CLIP_POST_SECONDS must be between 0 and 60")

# --- Review sampling (workers/pipeline/review_sampling.py) ---------------------------------
VIGIL_REVIEW_BAND = env_float("VIGIL_REVIEW_BAND", 0.1, minimum=0.0)
VIGIL_REVIEW_NEAR_EVERY_SECONDS = env_float("VIGIL_REVIEW_NEAR_EVERY_SECONDS", 10.0, minimum=0.0)
VIGIL_REVIEW_RANDOM_FRACTION = env_float("VIGIL_REVIEW_RANDOM_FRACTION", 0.002, minimum=0.0)
if VIGIL_REVIEW_RANDOM_FRACTION > 1:
    raise EnvError("VIGIL_REVIEW_RANDOM_FRACTION must be between 0 and 1")

# --- Rule actions (events/actions.py) --------------------------------------------------
# Where Vigil is reached from outside, e.g. https://vigil.example.com: makes snapshot URLs
# in webhook and MQTT messages absolute. Empty: they stay relative.
VIGIL_PUBLIC_URL = env_str("VIGIL_PUBLIC_URL", "").rstrip("/")
if VIGIL_PUBLIC_URL and urlsplit(VIGIL_PUBLIC_URL).scheme not in {"http", "https"}:
    raise EnvError("VIGIL_PUBLIC_URL must be an http:// or https:// URL")
# mqtt://user:pass@host:1883 or mqtts://host:8883; empty: MQTT topics of rules are ignored.
VIGIL_MQTT_URL = env_str("VIGIL_MQTT_URL", "")
if VIGIL_MQTT_URL:
    _mqtt = urlsplit(VIGIL_MQTT_URL)
    if _mqtt.scheme not in {"mqtt", "mqtts"} or not _mqtt.hostname:
        raise EnvError("VIGIL_MQTT_URL must be mqtt://[user:pass@]host[:port] or mqtts://...")
VIGIL_ACTION_TIMEOUT = env_float("VIGIL_ACTION_TIMEOUT", 5.0, minimum=0.1)
VIGIL_ACTION_MAX_ATTEMPTS = env_int("VIGIL_ACTION_MAX_ATTEMPTS", 8, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "vision.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env_str("VIGIL_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
    },
}

CELERY_BEAT_SCHEDULE = {
    "mark-orphaned-cameras": {"task": "workers.mark_orphaned_cameras", "schedule": 15.0},
    "enqueue-pending-actions": {
        "task": "workers.enqueue_pending_actions",
        "schedule": env_float("VIGIL_ACTIONS_SWEEP_SECONDS", 15.0, minimum=1.0),
    },
}
