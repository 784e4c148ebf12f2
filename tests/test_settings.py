"""Settings come from the environment (issue 2 "Settings from the environment").

Each case loads `retrochat.settings` in a fresh interpreter with an explicit environment
(ENV_FILE="" so a developer's .env cannot leak in).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG_SECRET = "k3y-" + "x7Qp9Lm2Zr8Vt5Nc1Hb4" * 4
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": STRONG_SECRET,
    "FRONTEND_URL": "https://chat.example.com",
    "BETTER_AUTH_URL": "https://api.example.com",
    "ALLOWED_HOSTS": "api.example.com",
    "COOKIE_DOMAIN": ".example.com",
}

DUMP = """
import json
import re
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG, "PORT": s.PORT, "SECRET_KEY": s.SECRET_KEY,
    "ALLOWED_ORIGINS": s.ALLOWED_ORIGINS, "TRUSTED_ORIGINS": s.TRUSTED_ORIGINS,
    "CORS_ALLOWED_ORIGINS": s.CORS_ALLOWED_ORIGINS, "CSRF_TRUSTED_ORIGINS": s.CSRF_TRUSTED_ORIGINS,
    "DB_ENGINE": s.DATABASES["default"]["ENGINE"], "DB_NAME": str(s.DATABASES["default"]["NAME"]),
    "DB_HOST": s.DATABASES["default"].get("HOST"),
    "LAYER": s.CHANNEL_LAYERS["default"]["BACKEND"], "LAYER_CONFIG": s.CHANNEL_LAYERS["default"].get("CONFIG"),
    "CACHE": s.CACHES["default"]["BACKEND"], "CACHE_LOCATION": s.CACHES["default"].get("LOCATION"),
    "CACHE_PREFIX": s.CACHES["default"].get("KEY_PREFIX"),
    "COOKIE_SECURE": s.AUTH_COOKIE_SECURE, "COOKIE_SAMESITE": s.AUTH_COOKIE_SAMESITE,
    "COOKIE_DOMAIN": s.AUTH_COOKIE_DOMAIN, "HASHER": s.PASSWORD_HASHERS[0],
    "RATE_IP": s.AUTH_RATE_LIMIT_IP, "RATE_ACCOUNT": s.AUTH_RATE_LIMIT_ACCOUNT, "RATE_ON": s.AUTH_RATE_LIMIT_ENABLED,
    "MEDIA_ROOT": str(s.MEDIA_ROOT), "MEDIA_URL": s.MEDIA_URL, "STORAGE": s.STORAGES["default"]["BACKEND"],
    "OPENAI_MODEL": s.OPENAI_MODEL, "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
}))
"""


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", ""), "ENV_FILE": "", "DJANGO_SETTINGS_MODULE": "retrochat.settings"}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def settings_with(env: dict[str, str]) -> dict[str, Any]:
    result = run(env, "-c", "import django; django.setup()\n" + DUMP)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_embedded_defaults() -> None:
    s = settings_with({})
    assert s["DEBUG"] is True
    assert s["PORT"] == 3001
    assert s["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert s["DB_NAME"] == str(ROOT / "db.sqlite3")
    assert s["LAYER"] == "channels.layers.InMemoryChannelLayer"
    assert s["CACHE"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["ALLOWED_ORIGINS"] == ["http://localhost:3000"]
    assert s["CORS_ALLOWED_ORIGINS"] == ["http://localhost:3000"]
    assert s["TRUSTED_ORIGINS"] == ["http://localhost:3000", "http://localhost:3001"]
    assert s["COOKIE_SECURE"] is False
    assert s["COOKIE_SAMESITE"] == "Lax"
    assert s["COOKIE_DOMAIN"] is None
    assert s["HASHER"] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert s["RATE_ON"] is True
    assert s["RATE_IP"] == [10, 60]
    assert s["RATE_ACCOUNT"] == [5, 300]
    assert s["MEDIA_ROOT"] == str(ROOT / "media")
    assert s["STORAGE"] == "django.core.files.storage.FileSystemStorage"


def test_origin_variables_are_one_trimmed_allow_list() -> None:
    s = settings_with(
        {
            "FRONTEND_URL": "https://chat.example.com/",
            "ALLOWED_ORIGINS": "https://a.example.com, https://b.example.com ,,https://chat.example.com",
            "BETTER_AUTH_CLIENT_URL": " https://c.example.com",
            "BETTER_AUTH_URL": "https://api.example.com/",
        }
    )
    expected = ["https://chat.example.com", "https://a.example.com", "https://b.example.com", "https://c.example.com"]
    assert s["ALLOWED_ORIGINS"] == expected
    assert s["CORS_ALLOWED_ORIGINS"] == expected
    assert s["TRUSTED_ORIGINS"] == [*expected, "https://api.example.com"]
    assert s["CSRF_TRUSTED_ORIGINS"] == s["TRUSTED_ORIGINS"]
    assert s["COOKIE_SECURE"] is True  # an https backend URL means Secure cookies (__Secure- name)


def test_services_from_urls() -> None:
    s = settings_with(
        {
            "DATABASE_URL": "postgres://rc:pw@db.internal:5432/retrochat",
            "REDIS_URL": "redis://cache.internal:6379/2",
            "CHANNEL_LAYER_PREFIX": "rc_test",
        }
    )
    assert s["DB_ENGINE"] == "django.db.backends.postgresql"
    assert (s["DB_NAME"], s["DB_HOST"]) == ("retrochat", "db.internal")
    assert s["LAYER"] == "channels_redis.core.RedisChannelLayer"
    assert s["LAYER_CONFIG"]["hosts"] == ["redis://cache.internal:6379/2"]
    assert s["LAYER_CONFIG"]["prefix"] == "rc_test"
    assert s["CACHE"] == "django.core.cache.backends.redis.RedisCache"
    assert s["CACHE_LOCATION"] == "redis://cache.internal:6379/2"
    assert s["CACHE_PREFIX"] == "rc_test"


def test_better_auth_secret_is_an_alias_and_secret_key_wins() -> None:
    assert settings_with({"BETTER_AUTH_SECRET": "from-better-auth"})["SECRET_KEY"] == "from-better-auth"
    both = settings_with({"BETTER_AUTH_SECRET": "from-better-auth", "SECRET_KEY": "from-secret-key"})
    assert both["SECRET_KEY"] == "from-secret-key"


def test_cookie_and_rate_limit_knobs() -> None:
    s = settings_with(
        {
            "COOKIE_SECURE": "1",
            "COOKIE_SAMESITE": "none",
            "COOKIE_DOMAIN": ".example.com",
            "AUTH_RATE_LIMIT_IP": "3/10",
            "AUTH_RATE_LIMIT_ACCOUNT": "20/900",
            "AUTH_RATE_LIMIT": "0",
        }
    )
    assert (s["COOKIE_SECURE"], s["COOKIE_SAMESITE"], s["COOKIE_DOMAIN"]) == (True, "None", ".example.com")
    assert (s["RATE_IP"], s["RATE_ACCOUNT"], s["RATE_ON"]) == ([3, 10], [20, 900], False)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0", "FRONTEND_URL": "https://chat.example.com"}, "SECRET_KEY (or BETTER_AUTH_SECRET) must be set"),
        ({"DEBUG": "0", "SECRET_KEY": STRONG_SECRET}, "FRONTEND_URL, ALLOWED_ORIGINS or BETTER_AUTH_CLIENT_URL"),
        ({"COOKIE_SAMESITE": "None"}, "COOKIE_SAMESITE=None needs COOKIE_SECURE=1"),
        ({"COOKIE_SAMESITE": "sometimes"}, "COOKIE_SAMESITE must be Lax, Strict or None"),
        ({"AUTH_RATE_LIMIT_IP": "ten per minute"}, "AUTH_RATE_LIMIT_IP must look like '<requests>/<seconds>'"),
    ],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(env: dict[str, str], message: str) -> None:
    result = run(env, "manage.py", "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_like_env_passes_check_deploy() -> None:
    result = run(PRODUCTION, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings() -> None:
    s = settings_with(PRODUCTION)
    assert s["DEBUG"] is False
    assert s["COOKIE_SECURE"] is True
    assert s["COOKIE_DOMAIN"] == ".example.com"
    assert s["ALLOWED_HOSTS"] == ["api.example.com"]
    assert s["TRUSTED_ORIGINS"] == ["https://chat.example.com", "https://api.example.com"]


def settings_variables() -> set[str]:
    """Every environment variable `retrochat/settings.py` reads."""
    source = (ROOT / "retrochat" / "settings.py").read_text()
    names = set(re.findall(r'(?:env\.\w+|_rate|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]*)"', source))
    for call in re.findall(r"_origin_list\(([^)]*)\)", source):
        names.update(re.findall(r'"([A-Z][A-Z0-9_]*)"', call))
    return names


def test_readme_and_env_example_document_every_variable() -> None:
    names = settings_variables()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FRONTEND_URL", "S3_BUCKET"} <= names  # the scan works
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    assert sorted(n for n in names if f"`{n}`" not in readme) == []
    in_example = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert sorted(names - in_example - {"ENV_FILE"}) == []
