"""Observability: Prometheus metrics, structured logs with request/connection context.

- `metrics`: every metric RetroChat exports and the small functions the engine, the AI streaming
  and the rate limiters call (one counter increment each; children are cached, no locks of ours).
- `context`: the context variables (request id, connection, socket, user) that log lines carry.
- `logs`: the logging filter and the two formatters (human-readable text, JSON lines).
- `middleware`: request id, HTTP metrics and one access line per HTTP request.
- `views`: ``GET /metrics`` (bearer token or loopback only).

docs/OPERATIONS.md lists the metrics and log fields.
"""
