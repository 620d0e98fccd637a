"""Fetching a finished image: tried a few times, with backoff, before a paid result is given up.

By the time a result is downloaded the image exists and is usually charged, so one bad answer
must not fail the job: a 404 (a CDN that has not caught up yet), a 5xx, a timeout or a broken
connection is tried again. Only a link that still answers 404 after every try is "expired";
any other lasting failure says what the last try got. Both API families use this.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable

from bot.errors import ResultUnavailableError, TransientUpstreamError, UpstreamError
from bot.i18n import Text, _, _n
from bot.providers._http import Sleep

log = logging.getLogger(__name__)

DOWNLOAD_ATTEMPTS = 5  # the first try and four more
DOWNLOAD_BACKOFF = 1.0  # seconds before the second try, then doubled (with jitter)
DOWNLOAD_BACKOFF_CAP = 15.0
_GONE = frozenset({404, 410})


def worth_another_try(error: UpstreamError) -> bool:
    """A missing file, a server error, a timeout or a broken connection; not a 403 or a 400."""
    if isinstance(error, TransientUpstreamError):
        return True
    return isinstance(error, ResultUnavailableError) and error.status in _GONE


async def download_with_retries(
    once: Callable[[], Awaitable[bytes]],
    *,
    url: str,
    provider: str,
    sleep: Sleep,
    attempts: int = DOWNLOAD_ATTEMPTS,
    backoff: float = DOWNLOAD_BACKOFF,
) -> bytes:
    """``once()`` until it returns, at most ``attempts`` times; then the error that says why."""
    attempts = max(1, attempts)
    last: UpstreamError | None = None
    for attempt in range(attempts):
        try:
            return await once()
        except (TransientUpstreamError, ResultUnavailableError) as exc:
            if not worth_another_try(exc):
                raise
            last = exc
            if attempt + 1 == attempts:
                break
            delay = min(DOWNLOAD_BACKOFF_CAP, backoff * 2.0**attempt) * random.uniform(0.75, 1.0)
            retry_after = exc.retry_after if isinstance(exc, TransientUpstreamError) else None
            if retry_after is not None:
                delay = max(delay, min(retry_after, DOWNLOAD_BACKOFF_CAP))
            log.warning(
                "%s result download failed (%s); try %d/%d in %.1fs: %s",
                provider,
                exc,
                attempt + 2,
                attempts,
                delay,
                url,
            )
            await sleep(delay)
    assert last is not None
    raise _gave_up(last, attempts, provider)


def _gave_up(last: UpstreamError, attempts: int, provider: str) -> ResultUnavailableError:
    if last.status in _GONE:
        message = _n(
            "The result link expired or is gone (HTTP {status} after {count} try); run the "
            "request again.",
            "The result link expired or is gone (HTTP {status} after {count} tries); run the "
            "request again.",
            attempts,
            status=str(last.status),
        )
    else:
        what: Text | str
        if last.status is not None:
            what = f"HTTP {last.status}"
        elif last.code == "timeout":
            what = _("it timed out")
        else:
            what = _("the connection broke")
        message = _n(
            "The finished image could not be downloaded ({what} after {count} try); run the "
            "request again.",
            "The finished image could not be downloaded ({what} after {count} tries); run the "
            "request again.",
            attempts,
            what=what,
        )
    return ResultUnavailableError(
        message, provider=provider, status=last.status, code=last.code, detail=last.detail
    )
