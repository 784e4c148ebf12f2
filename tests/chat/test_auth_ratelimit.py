"""Sign-in/sign-up rate limits: per IP and endpoint, per e-mail address (contract §2.1, 429 row).

The counters live in the Django cache (Redis when REDIS_URL is set), so every test uses its own
random client IPs and addresses.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from chat import ratelimit
from chat.services.auth import SignedIn
from retrochat.errors import RateLimited
from tests.chat.conftest import post_json, row_counts
from tests.conftest import DEFAULT_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.ratelimit]

TOO_MANY = {"message": "Too many requests. Please try again later."}


def random_ip() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def email() -> str:
    return f"rl-{uuid.uuid4().hex[:12]}@example.com"


def sign_up(ip: str, address: str) -> Any:
    body = {"name": "Rate Limited", "email": address, "password": "Secret123!"}
    return post_json(Client(REMOTE_ADDR=ip), "/api/auth/sign-up/email", body)


def sign_in(ip: str, address: str, password: str) -> Any:
    return post_json(Client(REMOTE_ADDR=ip), "/api/auth/sign-in/email", {"email": address, "password": password})


def assert_429(response: Any, window: int) -> None:
    assert response.status_code == 429
    assert response.json() == TOO_MANY
    assert 1 <= int(response["X-Retry-After"]) <= window
    assert response["Retry-After"] == response["X-Retry-After"]


def test_the_wait_is_readable_cross_origin(settings: Any) -> None:
    settings.AUTH_RATE_LIMIT_IP = (1, 60)
    ip = random_ip()
    sign_up(ip, email())
    client = Client(REMOTE_ADDR=ip, headers={"Origin": "http://localhost:3000"})
    blocked = post_json(client, "/api/auth/sign-up/email", {"name": "X", "email": email(), "password": "Secret123!"})
    assert blocked.status_code == 429
    assert blocked["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "x-retry-after" in blocked["Access-Control-Expose-Headers"].lower()


def test_sign_up_per_ip(settings: Any) -> None:
    settings.AUTH_RATE_LIMIT_IP = (3, 60)
    ip = random_ip()
    for _ in range(3):
        assert sign_up(ip, email()).status_code == 200
    before = row_counts()

    blocked = sign_up(ip, email())

    assert_429(blocked, 60)
    assert row_counts() == before
    assert sign_up(random_ip(), email()).status_code == 200  # other clients are not affected


def test_ip_budgets_are_per_endpoint(settings: Any, account: SignedIn) -> None:
    settings.AUTH_RATE_LIMIT_IP = (2, 60)
    ip = random_ip()
    sign_up(ip, email())
    sign_up(ip, email())
    assert sign_up(ip, email()).status_code == 429
    assert sign_in(ip, "ada@example.com", DEFAULT_PASSWORD).status_code == 200


def test_failed_sign_ins_lock_the_address_across_ips(settings: Any, new_account: Callable[..., SignedIn]) -> None:
    settings.AUTH_RATE_LIMIT_ACCOUNT = (3, 300)
    address = email()
    other = email()
    new_account(email=address)
    new_account(email=other)
    for _ in range(3):
        assert sign_in(random_ip(), address, "Wrong-password1").status_code == 401
    before = row_counts()

    blocked = sign_in(random_ip(), address.upper(), DEFAULT_PASSWORD)  # even the right password, any case

    assert_429(blocked, 300)
    assert row_counts() == before
    assert sign_in(random_ip(), other, DEFAULT_PASSWORD).status_code == 200


def test_unknown_addresses_are_limited_the_same_way(settings: Any) -> None:
    settings.AUTH_RATE_LIMIT_ACCOUNT = (2, 300)
    address = email()
    assert sign_in(random_ip(), address, "x").status_code == 401
    assert sign_in(random_ip(), address, "x").status_code == 401
    assert_429(sign_in(random_ip(), address, "x"), 300)


def test_successful_sign_ins_do_not_count(settings: Any, new_account: Callable[..., SignedIn]) -> None:
    settings.AUTH_RATE_LIMIT_ACCOUNT = (2, 300)
    address = email()
    new_account(email=address)
    for _ in range(5):
        assert sign_in(random_ip(), address, DEFAULT_PASSWORD).status_code == 200


def test_sign_up_attempts_per_address(settings: Any) -> None:
    settings.AUTH_RATE_LIMIT_ACCOUNT = (3, 300)
    address = email()
    assert sign_up(random_ip(), address).status_code == 200
    assert sign_up(random_ip(), address).status_code == 422
    assert sign_up(random_ip(), address).status_code == 422
    assert_429(sign_up(random_ip(), address), 300)


def test_switched_off(settings: Any) -> None:
    settings.AUTH_RATE_LIMIT_ENABLED = False
    settings.AUTH_RATE_LIMIT_IP = (1, 60)
    ip = random_ip()
    for _ in range(3):
        assert sign_up(ip, email()).status_code == 200


def test_windows_reset_and_retry_after_counts_down() -> None:
    limit = ratelimit.Limit(f"test-{uuid.uuid4().hex}", requests=2, seconds=60)
    with mock.patch("chat.ratelimit.time.time", return_value=6_000_000 + 45.2):
        limit.hit("client")
        limit.hit("client")
        with pytest.raises(RateLimited) as refused:
            limit.hit("client")
        assert refused.value.retry_after == 15  # ceil(60 - 45.2)
    with mock.patch("chat.ratelimit.time.time", return_value=6_000_000 + 60):
        limit.hit("client")  # a new window


def test_check_does_not_count() -> None:
    limit = ratelimit.Limit(f"test-{uuid.uuid4().hex}", requests=1, seconds=60)
    for _ in range(5):
        limit.check("client")
    limit.hit("client")
    with pytest.raises(RateLimited):
        limit.check("client")
