"""The AI features' knobs and fixed rules, in one place.

Tunables come from Django settings (env-driven, see `retrochat/settings.py` and docs/AI.md) and are
read at call time, so tests can override them. The thresholds and user-facing strings are part of
the contract (§5.3, §6.3, §6.6) and are constants.
"""

from __future__ import annotations

from django.conf import settings

from retrochat.validation import MESSAGE_MAX_LENGTH

# Thresholds (contract §6.3): messages before mimicking, and the recompute interval.
FRIEND_MIN_MESSAGES = 10
FRIEND_UPDATE_STEP = 10
GROUP_MIN_MESSAGES = 20
GROUP_UPDATE_STEP = 20

# Analysis looks at this many of the most recent counted messages (bounded work per update).
STYLE_SAMPLE_SIZE = 300
# The local generator learns from this many recent messages.
LOCAL_CORPUS_SIZE = 300

# Model parameters (contract §6.1).
TEMPERATURE = 0.9
MAX_TOKENS = 150

CONTENT_MAX_LENGTH = MESSAGE_MAX_LENGTH

# User-facing texts (contract §6.6), exact.
FRIEND_LEARNING_TEXT = (
    "I'm still learning your chat style! Keep chatting with your friends, and after 10 messages, "
    "I'll be able to chat just like you! 😊"
)
GROUP_LEARNING_TEXT = (
    "I'm still learning your group's chat style! Keep chatting, and after 20 messages, "
    "I'll be able to chat just like you all! 😊"
)
FRIEND_ANALYZING_TEXT = "I'm still analyzing your chat style. Send me a few more messages!"
GROUP_ANALYZING_TEXT = "I'm still analyzing your group's chat style. Send a few more messages!"
EMPTY_REPLY_TEXT = "Sorry, I couldn't generate a response right now. Try again!"
FAILURE_TEXT = "Oops! Something went wrong. Let's try that again!"

GENERATION_FAILED = "Failed to generate AI response"
NOT_A_MEMBER = "You are not a member of this group"
GROUP_AI_DISABLED = "The group AI is turned off in this group"
REPLY_IN_PROGRESS = "Please wait until the current AI reply has finished"
GROUP_REPLY_IN_PROGRESS = "The group AI is already answering in this group"
RATE_LIMITED = "You are sending messages to the AI too fast. Please wait a moment."
PROFILE_NOT_FOUND = "Style profile not found. Start chatting to create one!"
PROFILE_RESET_DONE = "AI Friend style profile has been reset successfully"
GROUP_PROFILE_RESET_DONE = "Group AI style reset successfully"


def provider_name() -> str:
    """``"openai"`` or ``"local"`` (settings.AI_PROVIDER, defaulting on whether a key is set)."""
    configured = str(getattr(settings, "AI_PROVIDER", "") or "").strip().lower()
    if configured in ("openai", "local"):
        return configured
    return "openai" if getattr(settings, "OPENAI_API_KEY", "") else "local"


def openai_timeout() -> float:
    return float(getattr(settings, "OPENAI_TIMEOUT_SECONDS", 30.0))


def openai_max_retries() -> int:
    return max(0, int(getattr(settings, "OPENAI_MAX_RETRIES", 2)))


def openai_retry_base_delay() -> float:
    return float(getattr(settings, "OPENAI_RETRY_BASE_DELAY", 0.5))


def reply_deadline() -> float:
    """Upper bound on one whole reply (all retries and the stream), in seconds."""
    return float(getattr(settings, "AI_REPLY_DEADLINE_SECONDS", 90.0))


def rate_limit_per_minute() -> int:
    """AI requests one user may make per minute (0 disables the limit)."""
    return max(0, int(getattr(settings, "AI_RATE_LIMIT_PER_MINUTE", 20)))


def local_chunk_delay() -> float:
    """Pause between two chunks of the local generator, in seconds (a typing rhythm)."""
    return max(0.0, int(getattr(settings, "AI_LOCAL_CHUNK_DELAY_MS", 35)) / 1000)
