"""CORS for every /api path (contract §1.3): exact origin, credentials, PATCH/DELETE, content-type."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.services.auth import SignedIn
from tests.conftest import FRONTEND_ORIGIN, client_with_session

pytestmark = pytest.mark.django_db

PATHS = [
    ("POST", "/api/auth/sign-up/email"),
    ("POST", "/api/auth/sign-in/email"),
    ("GET", "/api/auth/get-session"),
    ("POST", "/api/auth/sign-out"),
    ("GET", "/api/profile/some-user-id"),
    ("POST", "/api/profile/setup"),
    ("PATCH", "/api/profile"),
    ("POST", "/api/profile/picture"),
    ("GET", "/api/users/search"),
    ("POST", "/api/friends/request"),
    ("GET", "/api/messages/kirhost"),
    ("DELETE", "/api/groups/3f2a8c1e-8d1b-4c38-a4a5-2a3b4c5d6e7f"),
    ("PATCH", "/api/groups/3f2a8c1e-8d1b-4c38-a4a5-2a3b4c5d6e7f/ai/toggle"),
    ("GET", "/api/docs"),
]


def preflight(path: str, method: str, origin: str, headers: str = "content-type") -> Any:
    return Client().options(
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_preflight_from_the_frontend_is_allowed(method: str, path: str) -> None:
    response = preflight(path, method, FRONTEND_ORIGIN)
    assert 200 <= response.status_code < 300
    assert response["Access-Control-Allow-Origin"] == FRONTEND_ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed_methods = {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"} <= allowed_methods
    allowed_headers = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert "content-type" in allowed_headers
    assert "origin" in response["Vary"].lower()


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:3001.evil.example", "null"])
@pytest.mark.parametrize(("method", "path"), PATHS[:6])
def test_foreign_origins_get_no_cors_headers(method: str, path: str, origin: str) -> None:
    response = preflight(path, method, origin)
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_configured_origins_are_trimmed_and_exact(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:3000", "https://chat.example.com"]
    assert preflight("/api/profile", "PATCH", "https://chat.example.com")["Access-Control-Allow-Origin"] == (
        "https://chat.example.com"
    )
    assert "Access-Control-Allow-Origin" not in preflight("/api/profile", "PATCH", "https://chat.example.com:8443")


def test_actual_credentialed_responses_carry_the_headers(account: SignedIn) -> None:
    client = client_with_session(account.token)
    for response in (
        client.get("/api/auth/get-session"),
        client.get(f"/api/profile/{account.user.pk}"),
        client.get("/api/users/search", {"q": ""}),  # errors too
        Client(headers={"Origin": FRONTEND_ORIGIN}).get("/api/profile/x"),  # 401 too
    ):
        assert response["Access-Control-Allow-Origin"] == FRONTEND_ORIGIN
        assert response["Access-Control-Allow-Credentials"] == "true"


def test_multipart_upload_without_preflight_still_gets_cors_headers(
    account: SignedIn, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    response = client_with_session(account.token).post(
        "/api/profile/picture", {"file": SimpleUploadedFile("a.png", png, content_type="image/png")}
    )
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == FRONTEND_ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"


def test_health_and_admin_are_not_cors_enabled() -> None:
    response = preflight("/healthz", "GET", FRONTEND_ORIGIN)
    assert "Access-Control-Allow-Origin" not in response
