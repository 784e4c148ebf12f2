"""RetroChat settings: every value comes from the environment (see `.env.example`).

The embedded default (no environment at all) is a development server on SQLite with the
in-memory channel layer, so `make run` works on a fresh machine without PostgreSQL or Redis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


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
]

MIDDLEWARE = [
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
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

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
AUTH_COOKIE_SAMESITE = env.str("COOKIE_SAMESITE", default="Lax")
AUTH_COOKIE_DOMAIN = env.str("COOKIE_DOMAIN", default="") or None
AUTH_RATE_LIMIT_ENABLED = env.bool("AUTH_RATE_LIMIT", default=True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Serve MEDIA_ROOT from the app itself unless a CDN/bucket serves it.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
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

OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")

# Realtime engine (Engine.IO v4 / Socket.IO v5): see retrochat/realtime/limits.py.
REALTIME_PING_INTERVAL_MS = env.int("REALTIME_PING_INTERVAL_MS", default=25000)
REALTIME_PING_TIMEOUT_MS = env.int("REALTIME_PING_TIMEOUT_MS", default=20000)
REALTIME_MAX_PAYLOAD = env.int("REALTIME_MAX_PAYLOAD", default=1_000_000)
# Conformance mode serves the official Engine.IO/Socket.IO test-suite behaviour instead of RetroChat.
REALTIME_CONFORMANCE = env.bool("REALTIME_CONFORMANCE", default=False)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^$", r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "retrochat": {"level": LOG_LEVEL},
        "chat": {"level": LOG_LEVEL},
        "groups": {"level": LOG_LEVEL},
        "aifriend": {"level": LOG_LEVEL},
    },
}
