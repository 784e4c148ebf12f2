"""The Django admin keeps its own login (Django sessions), separate from the Better-auth cookie."""

from __future__ import annotations

import pytest
from django.test import Client

from chat.models import AuthSession, User

pytestmark = pytest.mark.django_db


def test_superuser_logs_into_the_admin_with_email_and_password() -> None:
    User.objects.create_superuser("root@example.com", "Adm1n-password")
    client = Client()
    login_page = client.get("/admin/login/")
    assert login_page.status_code == 200

    response = client.post(
        "/admin/login/?next=/admin/", {"username": "ROOT@example.com", "password": "Adm1n-password", "next": "/admin/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert "sessionid" in client.cookies
    assert not AuthSession.objects.exists()  # no RetroChat session was opened


def test_admin_refuses_a_wrong_password_and_non_staff() -> None:
    User.objects.create_superuser("root@example.com", "Adm1n-password")
    User.objects.create_user("plain@example.com", "Secret123!", name="Plain")
    client = Client()
    for username, password in (("root@example.com", "wrong"), ("plain@example.com", "Secret123!")):
        response = client.post("/admin/login/", {"username": username, "password": password})
        assert response.status_code == 200  # the form again, with an error
        assert client.get("/admin/").status_code == 302
