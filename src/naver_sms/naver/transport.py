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

The run's own GETs do not even build httpx's objects: `Urllib3Transport.get` sends the headers httpx would
(`wire_headers`) and gives an `Answer` - status, headers, the decoded body - which `NaverApi` reads as it reads an
`httpx.Response` (`Answered`). Any other transport (a test's, a proxy's client) keeps `handle_request`.

Trust is httpx's (`httpx.create_ssl_context()`: certifi's CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`); a
proxy in the environment is left to `httpx.Client` (http_direct.DirectHttp), which never uses this transport then.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

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


class Answered(Protocol):
    """What `NaverApi` reads of an answer: an `httpx.Response`, or `Answer`."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    @property
    def is_redirect(self) -> bool: ...


#: the statuses httpx counts as a redirect (`httpx.codes.is_redirect`)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as `NaverApi` reads one: the status, the body decoded as httpx decodes it, and the headers as
    http.client reads them - case-insensitive, a repeated one joined by ", " (as httpx), a value beyond ASCII
    read as latin-1 (httpx tries UTF-8 first): `NaverApi` reads only `Location` and `Retry-After`, and only
    for ASCII (`is_login_url`, `parse_retry_after`)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_redirect(self) -> bool:
        return self.status_code in _REDIRECTS and "location" in self.headers


def wire_headers(client: httpx.Client, url: str, headers: Mapping[str, str]) -> urllib3.HTTPHeaderDict:
    """The headers httpx would send with a request to `url` from `client` (its defaults, then `headers`, and
    the `Host` it adds first), for `Urllib3Transport.get`: the same request on the wire."""
    merged = httpx.Headers(client.headers)
    merged.update(headers)
    wire = urllib3.HTTPHeaderDict()
    for name, value in httpx.Request("GET", url, headers=merged).headers.multi_items():
        wire.add(name, value)
    return wire


class Urllib3Transport(httpx.BaseTransport):
    """`httpx.BaseTransport` over a `urllib3.PoolManager`: no retries, no redirects (the caller decides),
    the body read whole and handed to httpx undecoded (httpx decodes gzip as it would its own)."""

    def __init__(self, *, pool_size: int = POOL_SIZE, ssl_context: ssl.SSLContext | None = None) -> None:
        context = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=pool_size, block=False, retries=False, ssl_context=context
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = urllib3.HTTPHeaderDict()
        for name, value in request.headers.multi_items():
            headers.add(name, value)
        answer = self._open(
            request.method,
            str(request.url),
            headers,
            request.extensions.get("timeout", {}),
            body=request.read() or None,
            request=request,
        )
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

    def get(self, url: str, headers: urllib3.HTTPHeaderDict, timeouts: Mapping[str, float | None]) -> Answer:
        """A GET of `url` (its query encoded) with exactly `headers` (`wire_headers`: what httpx would send),
        read as `NaverApi` reads an answer - without an `httpx.Request` and `httpx.Response` around it, which
        with httpx's URL and header handling were a third of a page's instructions
        (bench/page_instructions.py). A body with a `Content-Encoding` is decoded by httpx itself, so exactly
        as httpx would (the encodings it asked for in `accept-encoding`, a list of them, `identity`, one it does
        not know; `DecodingError` for one that does not decode); failures are the same httpx exceptions as
        `handle_request`'s."""
        answer = self._open("GET", url, headers, timeouts, body=None, request=None)
        content = answer.data
        encoding = answer.headers.get("content-encoding")
        if encoding is not None and content:
            content = httpx.Response(
                200, headers=[("content-encoding", encoding)], stream=httpx.ByteStream(content)
            ).read()
        return Answer(answer.status, answer.headers, content)

    def _open(
        self,
        method: str,
        url: str,
        headers: urllib3.HTTPHeaderDict,
        timeouts: Mapping[str, float | None],
        *,
        body: bytes | None,
        request: httpx.Request | None,
    ) -> urllib3.BaseHTTPResponse:
        """The answer read whole and undecoded (httpx decodes it), or the httpx exception for the failure."""
        try:
            return self._pool.urlopen(
                method,
                url,
                body=body,
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

    def close(self) -> None:
        self._pool.clear()


def _certificate_refused(exc: SSLError) -> bool:
    """Whether urllib3's TLS error is a certificate that did not verify (refused in the handshake)."""
    causes = [*exc.args, exc.__cause__, exc.__context__]
    return any(isinstance(c, ssl.SSLCertVerificationError | ssl.CertificateError) for c in causes)
