# Easel: a slim runtime image. Dependencies exactly as locked (hashes checked), no dev
# dependencies, a non-root user, and all state on the /data volume.
#   docker build --build-arg GIT_SHA=$(git rev-parse --short HEAD) -t easel .
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The locked dependencies first: this layer is reused until a lock changes (python3 dev.py lock).
COPY requirements.lock requirements-build.lock ./
RUN python -m venv /opt/easel \
    && /opt/easel/bin/pip install --require-hashes -r requirements.lock \
    && python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes -r requirements-build.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY cogs ./cogs
COPY local_discord ./local_discord
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/easel/bin/pip install --no-deps /wheels/*.whl

FROM python:3.11-slim
ARG GIT_SHA=unknown
# EASEL_IN_CONTAINER: state must be on the volume (a relative DATABASE_URL is refused).
# HTTP_HOST: /healthz, /readyz and /metrics reachable through a published port.
ENV PATH=/opt/easel/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EASEL_IN_CONTAINER=1 \
    EASEL_GIT_SHA=$GIT_SHA \
    DATA_DIR=/data \
    HTTP_HOST=0.0.0.0
RUN useradd --create-home --uid 10001 easel && mkdir /data && chown easel:easel /data
COPY --from=build /opt/easel /opt/easel
USER easel
WORKDIR /home/easel
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "bot"]
# `run` needs DISCORD_TOKEN (bare `python -m bot` without one would open the local playground).
CMD ["run"]
