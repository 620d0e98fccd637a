# Easel: a slim runtime image. No dev dependencies; runs as a non-root user; state on a volume.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY local_discord ./local_discord
RUN python -m venv /opt/easel && /opt/easel/bin/pip install --no-compile .

FROM python:3.11-slim
ARG GIT_SHA=unknown
ENV PATH=/opt/easel/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EASEL_GIT_SHA=$GIT_SHA \
    DATABASE_URL=sqlite:////data/easel.sqlite3
RUN useradd --create-home --uid 10001 easel && mkdir /data && chown easel:easel /data
COPY --from=build /opt/easel /opt/easel
USER easel
WORKDIR /home/easel
VOLUME ["/data"]
ENTRYPOINT ["python", "-m", "bot"]
# `run` needs DISCORD_TOKEN (bare `python -m bot` without one would open the local playground).
CMD ["run"]
