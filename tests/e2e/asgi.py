"""The application the e2e servers run: RetroChat's plus the test-only ``e2e:*`` handlers."""

from retrochat.asgi import application
from tests.e2e import probe_handlers  # noqa: F401  (registers the e2e:* handlers)

__all__ = ["application"]
