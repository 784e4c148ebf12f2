"""The one small interface every reply generator implements.

A provider turns "what the user just said" plus a description of a writing style into a reply,
streamed as text chunks. Providers never touch the database: the services hand them everything
they need in a `GenerationRequest`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

Audience = Literal["friend", "group"]


@dataclass(frozen=True)
class StyleContext:
    """The learned style a reply should imitate."""

    system_prompt: str
    # Recent messages of the person (AI friend) or of the group's members, oldest first.
    corpus: tuple[str, ...] = ()
    common_phrases: tuple[str, ...] = ()
    emoji_usage: Mapping[str, int] = field(default_factory=dict)
    average_message_length: int = 0


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    style: StyleContext
    audience: Audience = "friend"


class ProviderError(Exception):
    """The provider could not produce (the rest of) a reply."""


class ReplyProvider(Protocol):
    """Streams a reply: an async iterator of non-empty text chunks; raises `ProviderError` on failure."""

    name: str

    def stream(self, request: GenerationRequest) -> AsyncIterator[str]: ...
