"""httpx's transport interface over urllib3's connection pools, and requests that skip httpx's objects.

Two clients send most of a run's requests: the Naver client (2,401 pages for 100,000 bookings, up to
`fetch_concurrency` of them in flight to one host) and the SENS client (one POST per SMS, `send_concurrency` at
once). httpcore's pool looks at every pooled connection on every request (whether each has expired: a `poll` on
each socket, under the pool's lock), so with 16 connections it cost about a third of a steady run's fetch CPU in
the profile of 100,000 bookings; urllib3 takes one idle connection from a queue and checks only that one.

`Urllib3Transport.request` goes further: it sends exactly the headers httpx would (`wire_headers` once, then
`HeaderTemplate` for the values that change per request) and gives an `Answer` - status, headers, the decoded
body - which the clients read as they read an `httpx.Response` (`Answered`), without an `httpx.Request` and
`httpx.Response` around it: with httpx's URL and header handling a third of a Naver page's instructions
(bench/page_instructions.py), and of a SENS send's (bench/send_instructions.py). Any other transport (a test's,
a proxy's client) keeps `handle_request`.

Failures are the httpx exceptions the clients read, and only what surely happened before a byte of the request
was sent is a connect error (`ConnectError`, `ConnectTimeout`: what the SENS client may retry without a look-up):
a refused or unreachable connection, no such name, a timeout while connecting, a certificate that does not
verify. Every other failure - a dropped connection, a read timeout, any other TLS error - may come after the
request reached the server, and is given as one that may have (a read or protocol error). urllib3 retries
nothing here and follows no redirect (the callers decide).

Trust is httpx's (`httpx.create_ssl_context()`: certifi's CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`); a
proxy in the environment is left to `httpx.Client` (http_direct.DirectHttp), which never uses this transport then.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

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

from naver_sms.config.settings import MAX_FETCH_CONCURRENCY, MAX_SEND_CONCURRENCY

#: idle connections kept per host: the most requests a run has in flight to one (stores fetched, SMS sent)
POOL_SIZE = max(MAX_FETCH_CONCURRENCY, MAX_SEND_CONCURRENCY)


class Answered(Protocol):
    """What the Naver and SENS clients read of an answer: an `httpx.Response`, or `Answer`."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    @property
    def is_redirect(self) -> bool: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


#: the statuses httpx counts as a redirect (`httpx.codes.is_redirect`)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as the clients read one: the status, the body decoded as httpx decodes it, and the headers as
    http.client reads them - case-insensitive, a repeated one joined by ", " (as httpx), a value beyond ASCII
    read as latin-1 (httpx tries UTF-8 first): the clients read only `Location`, `Retry-After` and
    `Content-Type`, and only for ASCII (`is_login_url`, `parse_retry_after`, the charset of `text`)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_redirect(self) -> bool:
        return self.status_code in _REDIRECTS and "location" in self.headers

    def json(self) -> Any:
        """The body as JSON, as `httpx.Response.json` reads it (the standard library's `json.loads`)."""
        return json.loads(self.content)

    @property
    def text(self) -> str:
        """The body as text, decoded by httpx itself (the charset of `Content-Type`, else UTF-8 with errors
        replaced): read only for an error's message."""
        kind = self.headers.get("content-type")
        # handed on as the bytes http.client read (latin-1), as `handle_request` does: httpx would refuse text
        # beyond ASCII, and an answer's odd header must not fail the send that got it
        headers = [(b"content-type", kind.encode("latin-1"))] if kind else None
        return httpx.Response(200, headers=headers, content=self.content).text


def wire_headers(
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str],
    *,
    method: str = "GET",
    content: bytes | None = None,
) -> urllib3.HTTPHeaderDict:
    """The headers httpx would send with a `method` request to `url` from `client` (its defaults, then
    `headers`, the `Host` it adds first and the `Content-Length` of `content` last), for
    `Urllib3Transport.request`: the same request on the wire, names in their case and values byte for byte
    (http.client writes a header as latin-1)."""
    merged = httpx.Headers(client.headers)
    merged.update(headers)
    wire = urllib3.HTTPHeaderDict()
    for name, value in httpx.Request(method, url, headers=merged, content=content).headers.raw:
        wire.add(name.decode("latin-1"), value.decode("latin-1"))
    return wire


@dataclass(frozen=True, slots=True)
class HeaderTemplate:
    """`wire_headers` worked out once, for requests whose headers differ only in some values (SENS: the
    timestamp, the signature, the body's length): the headers in httpx's order, and each request's values
    filled in (`filled`)."""

    items: tuple[tuple[str, str, str], ...]  #: (name, its lower case, value)

    @classmethod
    def of(cls, wire: urllib3.HTTPHeaderDict) -> HeaderTemplate:
        return cls(tuple((name, name.lower(), value) for name, value in wire.iteritems()))

    def filled(self, values: Mapping[str, str]) -> urllib3.HTTPHeaderDict:
        """The headers with `values` (by lower-case name) in place of the template's; the others as they are."""
        wire = urllib3.HTTPHeaderDict()
        for name, lower, value in self.items:
            wire.add(name, values.get(lower, value))
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
        for name, value in request.headers.raw:  # as httpx's transport writes them: case and bytes kept
            headers.add(name.decode("latin-1"), value.decode("latin-1"))
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

    def request(
        self,
        method: str,
        url: str,
        headers: urllib3.HTTPHeaderDict,
        timeouts: Mapping[str, float | None],
        *,
        body: bytes | None = None,
    ) -> Answer:
        """A `method` request of `url` (its query encoded) with exactly `headers` (`wire_headers`: what httpx
        would send) and `body`, read as the clients read an answer - without an `httpx.Request` and
        `httpx.Response` around it. A body with a `Content-Encoding` is decoded by httpx itself, so exactly as
        httpx would (the encodings it asked for in `accept-encoding`, a list of them, `identity`, one it does
        not know; `DecodingError` for one that does not decode); failures are the same httpx exceptions as
        `handle_request`'s."""
        answer = self._open(method, url, headers, timeouts, body=body, request=None)
        content = answer.data
        encoding = answer.headers.get("content-encoding")
        if encoding is not None and content:
            content = httpx.Response(
                200,
                headers=[(b"content-encoding", encoding.encode("latin-1"))],
                stream=httpx.ByteStream(content),
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
