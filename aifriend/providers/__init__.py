"""Reply providers: which one serves a reply is decided by settings at call time (docs/AI.md)."""

from __future__ import annotations

from django.conf import settings

from aifriend import conf
from aifriend.providers.base import GenerationRequest, ProviderError, ReplyProvider, StyleContext
from aifriend.providers.local import LocalStyleProvider
from aifriend.providers.openai_compat import OpenAICompatProvider

__all__ = [
    "GenerationRequest",
    "LocalStyleProvider",
    "OpenAICompatProvider",
    "ProviderError",
    "ReplyProvider",
    "StyleContext",
    "get_provider",
]


def get_provider() -> ReplyProvider:
    """The configured provider: OpenAI-compatible when chosen (or a key is set), else the local one."""
    if conf.provider_name() == "openai":
        return OpenAICompatProvider(
            api_key=settings.OPENAI_API_KEY or None,
            base_url=settings.OPENAI_BASE_URL,
            model=settings.OPENAI_MODEL or "gpt-4o-mini",
            timeout=conf.openai_timeout(),
            max_retries=conf.openai_max_retries(),
            retry_base_delay=conf.openai_retry_base_delay(),
        )
    return LocalStyleProvider()
