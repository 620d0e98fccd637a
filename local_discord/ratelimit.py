"""Per-bucket rate limits that answer 429 with Discord's body and X-RateLimit-* headers."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from local_discord.clock import Clock
from local_discord.errors import DiscordError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """``limit`` requests per fixed ``per``-second window and bucket.

    ``headers=True`` advertises the bucket in ``X-RateLimit-*`` headers, so discord.py paces itself
    (few or no 429s). ``headers=False`` behaves like Discord's hidden sub-limits: successes carry
    only generic headers and the client learns of the limit from the 429 (then waits and retries).
    """

    limit: int
    per: float
    headers: bool = True


@dataclass(slots=True)
class Limits:
    """Which rules apply; ``None`` turns a rule off. Mutable so tests can tighten them live."""

    # PATCH of a message: keyed per message on channel routes, per interaction token on webhooks.
    message_edit: RateLimitRule | None = field(default_factory=lambda: RateLimitRule(5, 5.0))
    # POST of a message: keyed per channel on channel routes, per interaction token on webhooks.
    message_create: RateLimitRule | None = None


class RateLimited(DiscordError):
    """The 429 Discord sends: no ``code``, ``retry_after`` in seconds, ``global`` false."""

    def __init__(self, retry_after: float, headers: dict[str, str]) -> None:
        super().__init__(429, 0, "You are being rate limited.", headers=headers)
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """Discord's 429 body."""
        return {"message": self.message, "retry_after": self.retry_after, "global": False}


@dataclass(slots=True)
class _Bucket:
    remaining: int
    reset_at: float


@functools.lru_cache(maxsize=1024)  # route templates (paths of 404s), hashed on every answer
def bucket_hash(name: str) -> str:
    """A stable opaque hash per bucket name, like Discord's ``X-RateLimit-Bucket``."""
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:32]


def generic_headers(route: str) -> dict[str, str]:
    """Headers for routes without a tight rule: a huge bucket, so discord.py never serialises them.

    (Without any ``X-RateLimit-*`` header discord.py's HTTPClient treats a route as limit 1 and
    sends its requests one at a time.)
    """
    return {
        "X-RateLimit-Limit": "10000",
        "X-RateLimit-Remaining": "9999",
        "X-RateLimit-Reset": f"{time.time() + 1.0:.3f}",
        "X-RateLimit-Reset-After": "1.000",
        "X-RateLimit-Bucket": bucket_hash(route),
    }


class RateLimiter:
    """Fixed-window counters per (rule name, key), measured on the LocalDiscord clock."""

    __slots__ = ("_buckets", "_clock", "hits")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, Hashable], _Bucket] = {}
        self.hits = 0

    def check(self, name: str, rule: RateLimitRule, key: Hashable) -> dict[str, str]:
        """Take one token or raise ``RateLimited``; returns headers to add to the success.

        The ``X-RateLimit-Bucket`` header is left to the server, which derives it from the route
        so a route never changes hash between limited and unlimited answers.
        """
        now = self._clock.now()
        bkey = (name, key)
        bucket = self._buckets.get(bkey)
        if bucket is None or now >= bucket.reset_at:
            if bucket is None and len(self._buckets) > 4096:
                self._prune(now)
            bucket = _Bucket(rule.limit, now + rule.per)
            self._buckets[bkey] = bucket
        reset_after = max(bucket.reset_at - now, 0.001)
        if bucket.remaining <= 0:
            self.hits += 1
            retry_after = math.ceil(reset_after * 1000) / 1000
            headers = self._headers(rule, 0, reset_after)
            headers["Retry-After"] = str(max(1, math.ceil(reset_after)))
            headers["X-RateLimit-Scope"] = "user"
            headers["Via"] = "1.1 google"
            log.debug("429 on %s %r (retry_after %.3f)", name, key, retry_after)
            raise RateLimited(retry_after, headers)
        bucket.remaining -= 1
        if not rule.headers:
            return {}
        return self._headers(rule, bucket.remaining, reset_after)

    def reset(self) -> None:
        """Forget every bucket (tests that change rules mid-way)."""
        self._buckets.clear()

    def _prune(self, now: float) -> None:
        for k in [k for k, b in self._buckets.items() if now >= b.reset_at]:
            del self._buckets[k]

    @staticmethod
    def _headers(rule: RateLimitRule, remaining: int, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }


class Throttle:
    """The rules in force (``Limits``, which tests tighten live) applied by one ``RateLimiter``."""

    __slots__ = ("_limiter", "_limits")

    def __init__(self, limits: Callable[[], Limits], limiter: RateLimiter) -> None:
        self._limits = limits
        self._limiter = limiter

    def __call__(
        self, kind: Literal["message_edit", "message_create"], key: Hashable
    ) -> dict[str, str]:
        """Count one request of ``kind`` in bucket ``key``: its headers, or ``RateLimited``."""
        rule: RateLimitRule | None = getattr(self._limits(), kind)
        if rule is None:
            return {}
        return self._limiter.check(kind, rule, key)
