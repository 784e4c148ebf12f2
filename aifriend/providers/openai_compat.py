"""Replies from any server that speaks OpenAI's chat-completions API (OpenAI, Ollama, vLLM, llama.cpp).

One request per reply, streamed: system = the stored style prompt, user = what was just said,
temperature 0.9, at most 150 tokens (contract §6.1). The SDK's own retries are switched off and
replaced by ours, which only retry while nothing has been received yet: rate limits (429),
server errors (5xx), timeouts and dropped connections, a bounded number of times with exponential
back-off (honouring ``Retry-After`` up to a cap). Once the first token has arrived, a failure
ends the reply (`ProviderError`); the caller decides what the user sees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import openai

from aifriend import conf
from aifriend.providers.base import GenerationRequest, ProviderError

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 5.0
# A key is required by the SDK; local servers such as Ollama accept any value.
PLACEHOLDER_KEY = "not-needed"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    # Timeouts, refused or dropped connections, a stream cut before its first token.
    return isinstance(exc, (openai.APIConnectionError, openai.APIResponseValidationError, OSError)) or (
        type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2")
    )


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    raw = headers.get("retry-after")
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(raw))) if raw is not None else None
    except ValueError:
        return None


class OpenAICompatProvider:
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        model: str = "gpt-4o-mini",
        timeout: float = 30.0,
        max_retries: int = 2,
        retry_base_delay: float = 0.5,
        temperature: float = conf.TEMPERATURE,
        max_tokens: int = conf.MAX_TOKENS,
    ) -> None:
        self.api_key = api_key or PLACEHOLDER_KEY
        self.base_url = base_url or None
        self.model = model
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_base_delay = max(0.0, retry_base_delay)
        self.temperature = temperature
        self.max_tokens = max_tokens

    def _client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(api_key=self.api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    def _messages(self, request: GenerationRequest) -> list[Any]:
        return [
            {"role": "system", "content": request.style.system_prompt},
            {"role": "user", "content": request.prompt},
        ]

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        attempt = 0
        while True:
            received = False
            try:
                async with self._client() as client:
                    stream = await client.chat.completions.create(
                        model=self.model,
                        messages=self._messages(request),
                        temperature=self.temperature,
                        max_tokens=self.max_tokens,
                        stream=True,
                    )
                    finished = False
                    try:
                        async for event in stream:
                            if not event.choices:
                                continue
                            choice = event.choices[0]
                            finished = finished or choice.finish_reason is not None
                            content = choice.delta.content if choice.delta else None
                            if content:
                                received = True
                                yield content
                    finally:
                        await stream.close()
                    if not finished:
                        if not received:
                            # The body ended before anything useful: same as a dropped connection.
                            raise ConnectionResetError("stream ended before the first token")
                        logger.warning("AI provider %s: stream ended without a finish reason", self.name)
                return
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:
                if received:
                    raise ProviderError(f"stream broke after the first token: {exc!r}") from exc
                if not _retryable(exc) or attempt >= self.max_retries:
                    raise ProviderError(f"request failed after {attempt + 1} attempt(s): {exc!r}") from exc
                delay = _retry_after(exc)
                if delay is None:
                    delay = self.retry_base_delay * (2**attempt)
                attempt += 1
                logger.warning(
                    "AI provider %s: attempt %d failed (%s), retrying in %.2fs", self.name, attempt, exc, delay
                )
                await asyncio.sleep(delay)
