"""Mentions resolve to member user ids (contract §3.8 item 6, §8 item 22)."""

from __future__ import annotations

import pytest

from groups.services import resolve_mentions

AI = "group-ai-1"
MEMBERS = [
    ("u-bob", "bob", "Bob"),
    ("u-bobby", "bobby", "Bobby Tables"),
    ("u-carol", "carol_x", "Carol 🎸 Jones"),
    ("u-dan", "dan", "Dan"),
    ("u-dan2", "dan2", "Dan"),
    (AI, AI, "🤖 Group AI"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no mentions here", []),
        ("@bob hi", ["u-bob"]),
        ("hi @BOB!", ["u-bob"]),
        ("@bobby and @bob", ["u-bobby", "u-bob"]),
        ("@bobby tables, look", ["u-bobby"]),
        ("@Carol 🎸 Jones you rock", ["u-carol"]),
        ("@carol_x?", ["u-carol"]),
        ("@carol is not a username", []),
        ("@bobcat is nobody", []),
        ("mail bob@bob.com", []),
        ("@ai what do you think", [AI]),
        ("@AI", [AI]),
        ("@🤖 Group AI tell a joke", [AI]),
        ("@aide is not the AI", []),
        ("@dan", ["u-dan"]),  # the username wins over the display name "Dan" that u-dan2 shares
        ("@dan2", ["u-dan2"]),
        ("@bob @bob @BOB", ["u-bob"]),
        ("@", []),
        ("@@bob", ["u-bob"]),
    ],
)
def test_resolve_mentions(text: str, expected: list[str]) -> None:
    assert resolve_mentions(text, MEMBERS, ai_user_id=AI) == expected


def test_same_display_name_mentions_everyone_who_has_it() -> None:
    members = [("u-1", "ann1", "Ann Lee"), ("u-2", "ann2", "Ann Lee")]
    assert resolve_mentions("@ann lee hi", members, ai_user_id=AI) == ["u-1", "u-2"]


def test_at_ai_needs_the_ai_to_be_a_member() -> None:
    assert resolve_mentions("@ai hello", [("u-bob", "bob", "Bob")], ai_user_id=AI) == []


def test_members_without_profile_are_skipped() -> None:
    assert resolve_mentions("@ hi @bob", [("u-x", None, None), ("u-bob", "bob", "Bob")], ai_user_id=AI) == ["u-bob"]
