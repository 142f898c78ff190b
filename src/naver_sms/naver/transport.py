"""The Naver client's HTTP transport: httpx's transport interface over urllib3's connection pools.

A run fetches many stores at once (up to `fetch_concurrency` requests in flight to one host). httpcore's pool
looks at every pooled connection on every request (whether each has expired: a `poll` on each socket, under
the pool's lock), so with 16 connections it cost about a third of a steady run's fetch CPU in the profile of
100,000 bookings; urllib3 takes one idle connection from a queue and checks only that one. The Naver calls are
GETs - every failure to get an answer is retried the same way - so the distinction the SMS clients need (was a
request sent before the connection failed?) does not arise here; failures are still given as the httpx
exceptions `NaverApi` reads (`httpx.ConnectError`, `httpx.ReadTimeout`, ...).

Trust is httpx's (`httpx.create_ssl_context()`: certifi's CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`); a
proxy in the environment is left to `httpx.Client` (http_direct.DirectHttp), which never uses this transport then.
"""

from __future__ import annotations

import httpx
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

#: idle connections kept per host: at least the most stores fetched at once (settings `fetch_concurrency` <= 32)
POOL_SIZE = 32


class Urllib3Transport(httpx.BaseTransport):
    """`httpx.BaseTransport` over a `urllib3.PoolManager`: no retries, no redirects (the caller decides),
    the body read whole and handed to httpx undecoded (httpx decodes gzip as it would its own)."""

    def __init__(self, *, pool_size: int = POOL_SIZE, ssl_context: object | None = None) -> None:
        context = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=pool_size, block=False, retries=False, ssl_context=context
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        headers = urllib3.HTTPHeaderDict()
        for name, value in request.headers.multi_items():
            headers.add(name, value)
        try:
            answer = self._pool.urlopen(
                request.method,
                str(request.url),
                body=request.read() or None,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=True,
                decode_content=False,
                timeout=urllib3.Timeout(connect=timeouts.get("connect"), read=timeouts.get("read")),
            )
        except NewConnectionError as exc:  # refused, unreachable, no such name: nothing was sent
            raise httpx.ConnectError(str(exc), request=request) from exc
        except ConnectTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc), request=request) from exc
        except ReadTimeoutError as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except SSLError as exc:
            raise httpx.ConnectError(f"TLS: {exc}", request=request) from exc
        except ProtocolError as exc:  # the connection dropped, or an answer that is not HTTP
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except HTTPError as exc:
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from exc
        return httpx.Response(
            answer.status,
            headers=list(answer.headers.iteritems()),
            content=answer.data,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (answer.reason or "").encode("latin-1"),
            },
            request=request,
        )

    def close(self) -> None:
        self._pool.clear()
