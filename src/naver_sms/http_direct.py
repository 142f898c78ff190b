"""One HTTP request at httpx's transport, past the `httpx.Client` layers a run's clients do not use.

A request through `httpx.Client` passes the client's URL, header and cookie merging, its auth and redirect
loops, the cookie jar's look at every answer and an INFO log line: a fifth to a quarter of the CPU of one
SENS send on a local socket (bench/http_direct.py), and a first run makes one per SMS. The SENS, Telegram,
Slack and Naver clients set their own headers and cookies and never follow a redirect, so `DirectHttp` builds
the same `httpx.Request` the client would (the client's default headers, then the caller's; the query encoded
by httpx; the client's timeout) and hands it to the transport the client itself would use. What reaches the
wire is the same bytes, the answer is the same `httpx.Response` and a failure the same `httpx` exception -
raised by the same transport, so a failure before the request went out is still told from one after it.

The client is used as it is (nothing bypassed) when it was given by the caller, or when a proxy is configured
in the environment (`HTTPS_PROXY`, `ALL_PROXY`, ...: the client mounts its proxy transports from them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

import httpx

from naver_sms.proxies import environment_proxies


@lru_cache(maxsize=1024)
def _parsed(url: str) -> httpx.URL:
    """`httpx.URL(url)`, parsed once: a run requests the same few URLs (SENS's send, a store's pages) again and
    again, and parsing is 7 % of a
    send's CPU (bench/scale.py under py-spy). An `httpx.URL` is immutable (its `copy_*` methods
    return new ones), so one can be shared by every request to it."""
    return httpx.URL(url)


class DirectHttp:
    """`request` over `client` - past its layers to `transport` when there is one."""

    def __init__(self, client: httpx.Client, transport: httpx.BaseTransport | None, *, owns: bool) -> None:
        self.client = client
        self.transport = transport
        self._owns = owns
        self._timeout = client.timeout.as_dict()

    @classmethod
    def make(
        cls,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float,
        default: Callable[[], httpx.BaseTransport] = httpx.HTTPTransport,
    ) -> DirectHttp:
        """A client given (`http`) is used as it is and not closed here. Otherwise one is made, and requests go
        straight to `transport` (the test seam, style.md §2) or to `default()` (`httpx.HTTPTransport`, what
        `httpx.Client` itself would make, unless the caller names another); with a proxy configured, and no
        transport given, every request goes through the client, which mounts its proxy transports."""
        if http is not None:
            return cls(http, None, owns=False)
        if transport is None and not environment_proxies():
            transport = default()
        # redirects are not followed (httpx's default): a redirect is an answer the callers read
        client = httpx.Client(transport=transport, timeout=timeout)
        return cls(client, transport, owns=True)

    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The answer, read; `httpx.TransportError` when there is none (as `httpx.Client.request`)."""
        if self.transport is None:
            return self.client.request(method, url, content=content, params=params, headers=headers)
        merged = httpx.Headers(self.client.headers)
        if headers:
            merged.update(headers)
        request = httpx.Request(
            method,
            _parsed(url),
            content=content,
            params=params,
            headers=merged,
            extensions={"timeout": self._timeout},
        )
        response = self.transport.handle_request(request)
        response.request = request
        try:
            response.read()
        except BaseException:
            response.close()
            raise
        return response

    def close(self) -> None:
        """Close the client (and its transport) if it was made here."""
        if self._owns:
            self.client.close()

    def __repr__(self) -> str:
        return f"DirectHttp(direct={self.transport is not None})"
