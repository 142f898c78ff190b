"""The Naver client's HTTP transport: httpx's transport interface over urllib3's connection pools.

A run fetches many stores at once (up to `fetch_concurrency` requests in flight to one host). httpcore's pool
looks at every pooled connection on every request (whether each has expired: a `poll` on each socket, under
the pool's lock), so with 16 connections it cost about a third of a steady run's fetch CPU in the profile of
100,000 bookings; urllib3 takes one idle connection from a queue and checks only that one. The Naver calls are
GETs - every failure to get an answer is retried the same way - so the distinction the SMS clients need (was a
request sent before the connection failed?) is not needed here, and this transport is only for idempotent
requests: never for a send. Failures are still given as the httpx exceptions `NaverApi` reads, and only what
surely happened before a byte was sent as a connect error: a refused or unreachable connection, a timeout
while connecting, a certificate that does not verify.

Trust is httpx's (`httpx.create_ssl_context()`: certifi's CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`); a
proxy in the environment is left to `httpx.Client` (http_direct.DirectHttp), which never uses this transport then.
"""

from __future__ import annotations

import http.client
import ssl

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

from naver_sms.config.settings import MAX_FETCH_CONCURRENCY

#: idle connections kept per host: the most stores a run fetches at once
POOL_SIZE = MAX_FETCH_CONCURRENCY


class Urllib3Transport(httpx.BaseTransport):
    """`httpx.BaseTransport` over a `urllib3.PoolManager`: no retries, no redirects (the caller decides),
    the body read whole and handed to httpx undecoded (httpx decodes gzip as it would its own)."""

    def __init__(self, *, pool_size: int = POOL_SIZE, ssl_context: ssl.SSLContext | None = None) -> None:
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
        except SSLError as exc:  # a TLS failure may come after the request went out - but a bad certificate
            if _certificate_refused(exc):
                raise httpx.ConnectError(f"TLS: {exc}", request=request) from exc
            raise httpx.ReadError(f"TLS: {exc}", request=request) from exc
        except ProtocolError as exc:  # the connection dropped, or an answer that is not HTTP
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except HTTPError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
        except (ValueError, http.client.HTTPException) as exc:  # e.g. a header value holding a line break
            raise httpx.LocalProtocolError(f"{type(exc).__name__}: {exc}", request=request) from exc
        return httpx.Response(
            answer.status,
            # http.client reads header bytes as latin-1: handed on as those bytes (httpx encodes text as ASCII)
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.iteritems()],
            content=answer.data,
            extensions={
                "http_version": answer.version_string.encode("ascii", "replace"),
                "reason_phrase": (answer.reason or "").encode("latin-1", "replace"),
            },
            request=request,
        )

    def close(self) -> None:
        self._pool.clear()


def _certificate_refused(exc: SSLError) -> bool:
    """Whether urllib3's TLS error is a certificate that did not verify (refused in the handshake)."""
    causes = [*exc.args, exc.__cause__, exc.__context__]
    return any(isinstance(c, ssl.SSLCertVerificationError | ssl.CertificateError) for c in causes)
