"""Configure logging once, for the bot and the command line.

Two formats: text for people, and ``LOG_FORMAT=json`` for log collectors (one object a line:
``ts``, ``level``, ``logger``, ``message``, and on a job's lines ``job_id``, ``guild_id`` and
``provider``, read from the job the logging task works on). Known secret values (tokens, keys)
are replaced in every line, whatever logged them. discord.py's gateway reconnects become one
line with the cause instead of a traceback each time.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr

from bot.jobs.context import current_job
from bot.network import network_cause

JOB_FIELDS = ("job_id", "guild_id", "provider")
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8  # shorter values (a test key "test") would blank out ordinary words
# discord.py's gateway retries (client, shard, and an AutoShardedClient's first connection).
RECONNECT_MESSAGES = ("Attempting a reconnect", "Failed to connect for shard_id")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str = "INFO", *, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Log to stderr (Docker collects it); keep discord.py's HTTP chatter at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    inner: logging.Formatter = (
        JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT, "%Y-%m-%d %H:%M:%S")
    )
    handler.setFormatter(RedactingFormatter(inner, secrets))
    handler.addFilter(JobFields())
    handler.addFilter(OneLineReconnects())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become log lines (in JSON too), never raw stderr
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    logging.getLogger("discord.gateway").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def secret_values(settings: Any) -> list[str]:
    """Every ``SecretStr`` value among the settings' fields (new secret settings included)."""
    found = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr) and value.get_secret_value():
            found += _secret_parts(value.get_secret_value())
    return found


def _secret_parts(secret: str) -> list[str]:
    """What to hide of a secret: a URL's password (a ``DATABASE_URL``), else the whole value."""
    if "://" not in secret:
        return [secret]
    password = urlsplit(secret).password
    return [password] if password else []


class JobFields(logging.Filter):
    """Adds the job's id, server and provider to lines logged while a job's task runs.

    Values passed with ``extra=`` win; the context holds the record itself, so the provider
    that took the job after a failover is the one named.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        job = current_job.get()
        if job is not None:
            fields = {"job_id": job.id, "guild_id": job.guild_id, "provider": job.provider}
            for key, value in fields.items():
                if getattr(record, key, None) is None:
                    setattr(record, key, value)
        return True


class OneLineReconnects(logging.Filter):
    """discord.py logs every gateway reconnect with a full traceback; make it one line.

    The cause (refused, DNS, timeout, a close code) stays; the reconnect itself is discord.py's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        reconnect = message.startswith(RECONNECT_MESSAGES)
        if not (record.name.startswith("discord.") and reconnect):
            return True
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            code = getattr(exc, "code", None)  # discord.py's ConnectionClosed carries one
            if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError) or code is None:
                cause = network_cause(exc).text
            else:
                cause = f"closed with code {code}"
            record.msg = f"Discord gateway connection failed ({cause}); {message[0].lower()}"
            record.msg += message[1:]
            record.exc_info = None
            record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in JOB_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner``, then blanks out every known secret (tracebacks included)."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        kept = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        escaped = {json.dumps(s, ensure_ascii=False)[1:-1] for s in kept}  # as JSON lines show it
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted(kept | escaped, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
