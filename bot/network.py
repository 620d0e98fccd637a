"""Why a connection failed, in words a host can act on: DNS, refused, TLS, timeout.

aiohttp's exceptions say it in a class hierarchy and an ``OSError`` buried inside; a host reading
a log line wants "the name does not resolve" or "nothing listens there". Used by ``check``, by
the bot while it waits for Discord at start, and to label failed requests in the metrics.
"""

from __future__ import annotations

import errno
import ssl
from typing import Literal, NamedTuple

import aiohttp

CauseKind = Literal["dns", "refused", "tls", "timeout", "disconnected", "http", "network"]


class NetworkCause(NamedTuple):
    """One failed connection: a short ``kind`` (a metric label) and a sentence for a log."""

    kind: CauseKind
    text: str


def network_cause(exc: BaseException, *, timeout: float | None = None) -> NetworkCause:
    """Name the cause of ``exc``, raised while connecting to or talking with a server."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return NetworkCause("dns", f"the name {exc.host!r} does not resolve (DNS: {_os(exc)})")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return NetworkCause("tls", f"the TLS certificate is not trusted ({exc.certificate_error})")
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return NetworkCause("tls", f"the TLS handshake failed ({_ssl_reason(exc)})")
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        after = f" after {timeout:g} s" if timeout is not None else ""
        return NetworkCause("timeout", f"no answer{after} (timed out)")
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError) or exc.os_error.errno in (
            errno.ECONNREFUSED,
        ):
            where = f"{exc.host}:{exc.port}"
            return NetworkCause("refused", f"connection refused (nothing listens on {where})")
        return NetworkCause("network", f"cannot connect to {exc.host}:{exc.port} ({_os(exc)})")
    if isinstance(exc, aiohttp.ServerDisconnectedError | ConnectionResetError):
        return NetworkCause("disconnected", "the server closed the connection without answering")
    if isinstance(exc, aiohttp.ClientResponseError):  # a websocket handshake answered, say, 503
        return NetworkCause("http", f"the server answered HTTP {exc.status} {exc.message}".strip())
    if isinstance(exc, ConnectionRefusedError):
        return NetworkCause("refused", "connection refused")
    text = str(exc) or type(exc).__name__
    return NetworkCause("network", f"{type(exc).__name__}: {text}")


def _os(exc: aiohttp.ClientConnectorError) -> str:
    os_error = exc.os_error
    return os_error.strerror or str(os_error) or type(os_error).__name__


def _ssl_reason(exc: BaseException) -> str:
    """The OpenSSL reason (``WRONG_VERSION_NUMBER``, say) rather than the whole repr."""
    inner = exc
    if isinstance(exc, aiohttp.ClientConnectorError):
        inner = exc.os_error
    reason = getattr(inner, "reason", None)
    if isinstance(reason, str) and reason:
        return reason.replace("_", " ").lower()
    return str(inner) or type(inner).__name__
