# RetroChat backend: daphne serving REST, /api/auth and Socket.IO on port 3001.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENV_FILE="" \
    PORT=3001 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/retrochat-metrics

WORKDIR /app
RUN useradd --create-home --uid 10001 retrochat

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# Admin CSS/JS, served by the app (SERVE_MEDIA) or a proxy; DEBUG=1 only for this build step.
RUN DEBUG=1 python manage.py collectstatic --noinput \
    && rm -rf "$PROMETHEUS_MULTIPROC_DIR" \
    && mkdir -p /app/media \
    && chown -R retrochat /app/media /app/var

USER retrochat
EXPOSE 3001
# retrochat.serve: daphne plus graceful shutdown on SIGTERM (docker stop), multiprocess metrics, JSON logs.
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "exec python -m retrochat.serve --bind 0.0.0.0 --port \"$PORT\" --proxy-headers retrochat.asgi:application"]
