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

import httpx

from naver_sms.proxies import environment_proxies

#: parsed URLs a `DirectHttp` keeps, at most (then it forgets them all and starts again)
_KEPT_URLS = 64


class DirectHttp:
    """`request` over `client` - past its layers to `transport` when there is one."""

    def __init__(self, client: httpx.Client, transport: httpx.BaseTransport | None, *, owns: bool) -> None:
        self.client = client
        self.transport = transport
        self._owns = owns
        self._timeout = client.timeout.as_dict()
        #: URLs requested without a query, parsed once: a run sends to the same SENS URL again and again, and
        #: parsing was 7 % of a send's CPU (py-spy of bench/scale.py). An `httpx.URL` is immutable (its `copy_*`
        #: return new ones), so one serves every request to it. Kept here, not process-wide, so a URL holding a
        #: token (Telegram's) goes with its client; bounded, as look-ups put ids in their URLs.
        self._urls: dict[str, httpx.URL] = {}

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

    @property
    def timeouts(self) -> dict[str, float | None]:
        """The client's timeouts (connect, read, write, pool), as a request's `timeout` extension holds them."""
        return dict(self._timeout)

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
        # a URL is parsed once and kept when it will be asked again (SENS's send URL); one with a query (a
        # Naver page, a look-up) is asked once, and with `params` httpx builds it anew anyway
        target = url if params is not None or "?" in url else self._parsed(url)
        request = httpx.Request(
            method,
            target,
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

    def _parsed(self, url: str) -> httpx.URL:
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= _KEPT_URLS:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    def close(self) -> None:
        """Close the client (and its transport) if it was made here."""
        self._urls.clear()
        if self._owns:
            self.client.close()

    def __repr__(self) -> str:
        return f"DirectHttp(direct={self.transport is not None})"
