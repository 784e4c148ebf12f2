"""RetroChat settings: every value comes from the environment (see `.env.example`).

The embedded default (no environment at all) is a development server on SQLite with the
in-memory channel layer, so `make run` works on a fresh machine without PostgreSQL or Redis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from retrochat.observability.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Values from a `.env` file fill in what the real environment does not set. ENV_FILE picks another
# file; ENV_FILE="" reads none (the settings tests do that so a developer's .env cannot leak in).
_env_file = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    environ.Env.read_env(_env_file, overwrite=False)


def _origin_list(*names: str) -> list[str]:
    """Union of comma-separated origin variables, trimmed, without trailing slashes."""
    seen: dict[str, None] = {}
    for name in names:
        for raw in env.str(name, default="").split(","):
            origin = raw.strip().rstrip("/")
            if origin:
                seen[origin] = None
    return list(seen)


DEBUG = env.bool("DEBUG", default=True)

_secret = env.str("SECRET_KEY", default="") or env.str("BETTER_AUTH_SECRET", default="")
if not _secret:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or BETTER_AUTH_SECRET) must be set when DEBUG is off.")
    _secret = "insecure-development-key-do-not-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = _secret

PORT = env.int("PORT", default=3001)
BACKEND_URL = env.str("BETTER_AUTH_URL", default=f"http://localhost:{PORT}").rstrip("/")

# One allow-list for CORS, the auth origin check and the realtime origin check.
ALLOWED_ORIGINS = _origin_list("FRONTEND_URL", "ALLOWED_ORIGINS", "BETTER_AUTH_CLIENT_URL")
if not ALLOWED_ORIGINS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FRONTEND_URL, ALLOWED_ORIGINS or BETTER_AUTH_CLIENT_URL must name the frontend origin when DEBUG is off."
        )
    ALLOWED_ORIGINS = ["http://localhost:3000"]
_backend_origin = "{0.scheme}://{0.netloc}".format(urlsplit(BACKEND_URL))
# The backend's own origin is trusted (Better-auth trusts its baseURL implicitly).
TRUSTED_ORIGINS = [*ALLOWED_ORIGINS, *([_backend_origin] if _backend_origin not in ALLOWED_ORIGINS else [])]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "0.0.0.0"])  # noqa: S104
CSRF_TRUSTED_ORIGINS = TRUSTED_ORIGINS

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "channels",
    "chat",
    "groups",
    "aifriend",
    "retrochat.realtime",
]

MIDDLEWARE = [
    # Request id, HTTP metrics and the access line (retrochat/observability/middleware.py).
    "retrochat.observability.middleware.RequestMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "retrochat.urls"
ASGI_APPLICATION = "retrochat.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads of one process write; wait instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"].setdefault("TEST", {})["NAME"] = BASE_DIR / "var" / "test.sqlite3"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="retrochat"),
                "capacity": 5000,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}}

# The cache holds rate-limit counters: shared through Redis when there is one (several workers
# must count together), process-local otherwise.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default=env.str("CHANNEL_LAYER_PREFIX", default="retrochat"))
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "retrochat",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

AUTH_USER_MODEL = "chat.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# RetroChat sessions (Better-auth compatible) — see chat/sessions.py.
AUTH_SESSION_TTL_SECONDS = 7 * 24 * 3600
AUTH_SESSION_REFRESH_AGE_SECONDS = 24 * 3600
AUTH_COOKIE_SECURE = env.bool("COOKIE_SECURE", default=BACKEND_URL.startswith("https://"))
AUTH_COOKIE_SAMESITE = env.str("COOKIE_SAMESITE", default="Lax").strip().capitalize()
if AUTH_COOKIE_SAMESITE not in ("Lax", "Strict", "None"):
    raise ImproperlyConfigured(f"COOKIE_SAMESITE must be Lax, Strict or None, not {AUTH_COOKIE_SAMESITE!r}.")
if AUTH_COOKIE_SAMESITE == "None" and not AUTH_COOKIE_SECURE:
    raise ImproperlyConfigured("COOKIE_SAMESITE=None needs COOKIE_SECURE=1 (browsers drop such cookies otherwise).")
AUTH_COOKIE_DOMAIN = env.str("COOKIE_DOMAIN", default="") or None


def _rate(name: str, default: str) -> tuple[int, int]:
    """``"<requests>/<seconds>"`` → (requests, seconds)."""
    raw = env.str(name, default=default)
    count, _, seconds = raw.partition("/")
    try:
        parsed = int(count), int(seconds)
    except ValueError:
        parsed = (0, 0)
    if parsed[0] < 1 or parsed[1] < 1:
        raise ImproperlyConfigured(f"{name} must look like '<requests>/<seconds>', e.g. '10/60', not {raw!r}.")
    return parsed


# Sign-in/sign-up throttling (chat/ratelimit.py): per client IP and endpoint, and per e-mail
# address (sign-up attempts; failed sign-ins). AUTH_RATE_LIMIT=0 turns it off (load tests).
AUTH_RATE_LIMIT_ENABLED = env.bool("AUTH_RATE_LIMIT", default=True)
AUTH_RATE_LIMIT_IP = _rate("AUTH_RATE_LIMIT_IP", "10/60")
AUTH_RATE_LIMIT_ACCOUNT = _rate("AUTH_RATE_LIMIT_ACCOUNT", "5/300")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Serve MEDIA_ROOT (and, with DEBUG off, the collected static files) from the app unless a CDN does.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
# Profile pictures (POST /api/profile/picture): enforced while the upload is read.
PROFILE_PICTURE_MAX_BYTES = 5 * 1024 * 1024
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if env.str("MEDIA_STORAGE", default="local") == "s3":
    # Optional S3-compatible storage; needs `pip install django-storages[s3]`.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "custom_domain": env.str("S3_CUSTOM_DOMAIN", default="") or None,
            "querystring_auth": False,
        },
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CORS (contract §1.3): exact origins, credentials, every /api path and the polling transport.
CORS_ALLOWED_ORIGINS = ALLOWED_ORIGINS
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/(api|socket\.io)/.*$"
CORS_ALLOW_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
# Lets the auth client read how long to wait after a 429.
CORS_EXPOSE_HEADERS = ["X-Retry-After", "Retry-After"]

OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")

# The AI friend and the group AI (docs/AI.md). AI_PROVIDER: "local" (offline, the default when no
# OPENAI_API_KEY is set) or "openai" (any OpenAI-compatible server: OpenAI, Ollama, vLLM, ...).
AI_PROVIDER = env.str("AI_PROVIDER", default="").strip().lower() or ("openai" if OPENAI_API_KEY else "local")
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=30.0)
OPENAI_MAX_RETRIES = env.int("OPENAI_MAX_RETRIES", default=2)
AI_REPLY_DEADLINE_SECONDS = env.float("AI_REPLY_DEADLINE_SECONDS", default=90.0)
AI_RATE_LIMIT_PER_MINUTE = env.int("AI_RATE_LIMIT_PER_MINUTE", default=20)
AI_LOCAL_CHUNK_DELAY_MS = env.int("AI_LOCAL_CHUNK_DELAY_MS", default=35)
# Fire-and-forget style-profile checks of one profile are at least this far apart (coalesced).
AI_STYLE_CHECK_INTERVAL_SECONDS = env.float("AI_STYLE_CHECK_INTERVAL_SECONDS", default=5.0)

# Realtime engine (Engine.IO v4 / Socket.IO v5): see retrochat/realtime/limits.py.
REALTIME_PING_INTERVAL_MS = env.int("REALTIME_PING_INTERVAL_MS", default=25000)
REALTIME_PING_TIMEOUT_MS = env.int("REALTIME_PING_TIMEOUT_MS", default=20000)
REALTIME_MAX_PAYLOAD = env.int("REALTIME_MAX_PAYLOAD", default=1_000_000)
# Optional engine limits; unset means the default in retrochat/realtime/limits.py.
REALTIME_CONNECT_TIMEOUT_MS = env.int("REALTIME_CONNECT_TIMEOUT_MS", default=None)
REALTIME_EVENTS_PER_SECOND = env.float("REALTIME_EVENTS_PER_SECOND", default=None)
REALTIME_EVENT_BURST = env.int("REALTIME_EVENT_BURST", default=None)
REALTIME_MAX_SOCKETS_PER_USER = env.int("REALTIME_MAX_SOCKETS_PER_USER", default=None)
# Conformance mode serves the official Engine.IO/Socket.IO test-suite behaviour instead of RetroChat.
REALTIME_CONFORMANCE = env.bool("REALTIME_CONFORMANCE", default=False)
# Presence (chat/presence_store.py): with Redis, a killed worker's users go offline within this many
# seconds (entries live 4/5 of it after their last refresh; each worker refreshes and sweeps every 1/5).
PRESENCE_TTL_SECONDS = env.float("PRESENCE_TTL_SECONDS", default=30.0)
# How long a worker may answer user:check-status from its cached friend list (changes invalidate it).
FRIEND_CACHE_TTL_SECONDS = env.float("FRIEND_CACHE_TTL_SECONDS", default=10.0)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^$", r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a deliberate, hard-to-undo commitment for the whole domain; off by default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Operations (docs/OPERATIONS.md).
# GET /metrics (Prometheus): METRICS_TOKEN set → `Authorization: Bearer <token>` required; unset →
# loopback clients only. The server entry point (retrochat/serve.py) keeps the values of every
# worker process in METRICS_DIR (prometheus_client multiprocess mode; workers of one host share it).
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="") or str(BASE_DIR / "var" / "metrics")
# SIGTERM: stop accepting, finish in-flight handler calls, tell clients to reconnect elsewhere,
# end the sockets (presence), exit — within this many seconds (then whatever is left is forced).
SHUTDOWN_TIMEOUT_SECONDS = env.float("SHUTDOWN_TIMEOUT_SECONDS", default=10.0)

# Logs go to stderr: human-readable text in development, JSON lines in production (DEBUG=0), each
# line with the request or connection id and the user id when known (retrochat/observability/logs.py).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
