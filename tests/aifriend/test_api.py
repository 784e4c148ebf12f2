"""REST: /api/ai-friend/message, /profile and /reset (contract §3.6) — statuses, keys and rows."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from aifriend import conf, services
from aifriend.models import StyleProfile
from chat.models import DirectMessage
from tests.aifriend.conftest import SAM_SAYS, client_for, make_person, say_direct

PROFILE_KEYS = [
    "userId",
    "messageCount",
    "commonPhrases",
    "emojiUsage",
    "averageMessageLength",
    "toneIndicators",
    "lastUpdated",
    "hasMinimumData",
]


def post_json(client: Client, path: str, body: Any = None) -> Any:
    data = "" if body is None else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


@pytest.mark.django_db
def test_routes_need_a_session() -> None:
    anonymous = Client()
    for method, path in (("get", "/api/ai-friend/profile"), ("post", "/api/ai-friend/reset")):
        response = getattr(anonymous, method)(path, content_type="application/json")
        assert response.status_code == 401
        assert response.json() == {"code": "UNAUTHORIZED", "message": "Unauthorized"}
    response = post_json(anonymous, "/api/ai-friend/message", {"content": "hi"})
    assert response.status_code == 401


@pytest.mark.django_db
def test_profile_is_404_until_the_first_message() -> None:
    client = client_for(make_person("sam"))
    response = client.get("/api/ai-friend/profile")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": conf.PROFILE_NOT_FOUND, "error": "Not Found"}


@pytest.mark.django_db
def test_profile_shape_without_the_internal_prompt() -> None:
    sam = make_person("sam")
    say_direct(sam, make_person("kim"), SAM_SAYS)
    services.style_profile_refresh(user_id=sam.id)
    response = client_for(sam).get("/api/ai-friend/profile")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == PROFILE_KEYS  # stylePrompt is not exposed (contract §8 item 32)
    assert body["userId"] == sam.id
    assert body["messageCount"] == 12
    assert body["hasMinimumData"] is True
    assert "honestly the" in body["commonPhrases"]
    assert body["emojiUsage"] == {"🍕": 4}
    assert isinstance(body["averageMessageLength"], int)
    assert set(body["toneIndicators"]) == {"casual", "formal", "enthusiastic"}
    assert body["lastUpdated"].endswith("Z")
    assert len(body["lastUpdated"]) == 24


@pytest.mark.django_db
def test_profile_has_minimum_data_follows_the_stored_count() -> None:
    sam = make_person("sam")
    StyleProfile.objects.create(user=sam, message_count=9, emoji_usage={"🔥": 1, "😂": 5, "✨": 3})
    body = client_for(sam).get("/api/ai-friend/profile").json()
    assert body["hasMinimumData"] is False
    assert list(body["emojiUsage"]) == ["😂", "✨", "🔥"]  # most used first, whatever the storage order
    assert body["commonPhrases"] is None
    assert body["toneIndicators"] is None
    StyleProfile.objects.filter(user=sam).update(message_count=10)
    assert client_for(sam).get("/api/ai-friend/profile").json()["hasMinimumData"] is True


@pytest.mark.django_db
def test_reset_is_200_and_empties_the_profile() -> None:
    sam = make_person("sam")
    say_direct(sam, make_person("kim"), SAM_SAYS, start=timezone.now() - timedelta(minutes=5))
    services.style_profile_refresh(user_id=sam.id)
    client = client_for(sam)
    response = post_json(client, "/api/ai-friend/reset")  # body-less JSON POST
    assert response.status_code == 200
    assert response.json() == {"message": "AI Friend style profile has been reset successfully"}
    body = client.get("/api/ai-friend/profile").json()
    assert body["messageCount"] == 0
    assert body["commonPhrases"] == []
    assert body["emojiUsage"] == {}
    assert body["toneIndicators"] == {"casual": 0, "formal": 0, "enthusiastic": 0}
    assert body["hasMinimumData"] is False
    assert StyleProfile.objects.get(user=sam).reset_at is not None
    # Without a profile, reset is a no-op with the same answer.
    other = make_person("lee")
    response = post_json(client_for(other), "/api/ai-friend/reset")
    assert response.status_code == 200
    assert not StyleProfile.objects.filter(user=other).exists()


@pytest.mark.django_db(transaction=True)
def test_message_returns_both_messages_with_200() -> None:
    sam = make_person("sam")
    say_direct(sam, make_person("kim"), SAM_SAYS)
    response = post_json(client_for(sam), "/api/ai-friend/message", {"content": "  pizza tonight?  "})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["userMessage", "aiResponse"]
    user_message, ai_response = body["userMessage"], body["aiResponse"]
    assert user_message["fromUserId"] == sam.id
    assert user_message["toUserId"] == "kirhost"
    assert user_message["content"] == "pizza tonight?"
    assert user_message["isAIGenerated"] is False
    assert ai_response["fromUserId"] == "kirhost"
    assert ai_response["toUserId"] == sam.id
    assert ai_response["isAIGenerated"] is True
    assert ai_response["isRead"] is False
    assert ai_response["content"] not in (conf.FRIEND_LEARNING_TEXT, conf.FAILURE_TEXT, "")
    stored = DirectMessage.objects.filter(from_user_id="kirhost", to_user_id=sam.id)
    assert [str(m.id) for m in stored] == [ai_response["id"]]
    # The profile was checked and updated before answering (awaited on this path).
    assert StyleProfile.objects.get(user=sam).message_count == 13


@pytest.mark.django_db(transaction=True)
def test_message_for_a_new_user_is_the_still_learning_text() -> None:
    sam = make_person("sam")
    response = post_json(client_for(sam), "/api/ai-friend/message", {"content": "hello"})
    assert response.status_code == 200
    assert response.json()["aiResponse"]["content"] == conf.FRIEND_LEARNING_TEXT


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({}, ["content should not be empty"]),
        ({"content": ""}, ["content should not be empty"]),
        ({"content": "   "}, ["content should not be empty"]),
        ({"content": "x" * 2001}, ["content must be shorter than or equal to 2000 characters"]),
        ({"content": 5}, ["content must be a string"]),
        ({"content": "hi", "extra": 1}, ["property extra should not exist"]),
    ],
)
def test_message_validation(body: Any, messages: list[str]) -> None:
    sam = make_person("sam")
    response = post_json(client_for(sam), "/api/ai-friend/message", body)
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": messages, "error": "Bad Request"}
    assert not DirectMessage.objects.filter(from_user_id=sam.id).exists()


@pytest.mark.django_db(transaction=True)
def test_message_is_rate_limited(settings: Any) -> None:
    settings.AI_RATE_LIMIT_PER_MINUTE = 1
    sam = make_person("sam")
    client = client_for(sam)
    assert post_json(client, "/api/ai-friend/message", {"content": "one"}).status_code == 200
    response = post_json(client, "/api/ai-friend/message", {"content": "two"})
    assert response.status_code == 429
    assert response.json()["message"] == conf.RATE_LIMITED
    assert response["Retry-After"] == "60"
    assert list(DirectMessage.objects.filter(from_user_id=sam.id).values_list("content", flat=True)) == ["one"]
