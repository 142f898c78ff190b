"""The Naver booking partner API (external-apis.md §1): the count and paged list of one store's bookings, with
the exact parameters and headers the partner web app sends. The queries it asks are `naver.windows`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import urllib3

from naver_sms.errors import BookingSourceError, StoreFetchError
from naver_sms.http_direct import DirectHttp
from naver_sms.http_urllib3 import Answered, Urllib3Transport, wire_headers
from naver_sms.json_codec import loads, loads_checked
from naver_sms.naver.throttle import Throttle
from naver_sms.naver.windows import COMPLETED as COMPLETED
from naver_sms.naver.windows import CONFIRMED as CONFIRMED
from naver_sms.naver.windows import MAX_RANGE_DAYS as MAX_RANGE_DAYS
from naver_sms.naver.windows import Window as Window
from naver_sms.naver.windows import changes_windows as changes_windows
from naver_sms.naver.windows import completed_windows as completed_windows
from naver_sms.naver.windows import confirmed_windows as confirmed_windows
from naver_sms.naver.windows import format_api_time as format_api_time
from naver_sms.naver.windows import split_range as split_range
from naver_sms.naver.wire import read_page
from naver_sms.retry import Again, RetryPolicy, parse_retry_after, retry_call

log = logging.getLogger("naver_sms.naver.api")

PAGE_SIZE = 50  # the partner web app's page size; the count call says how many pages there are

#: A desktop Chrome: the count call is refused without a browser-like user agent (external-apis.md §1).
CHROME_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


class SessionRejected(BookingSourceError):
    """401 / 403 or a redirect to the login page: the cookies do not give a session (log in again, once)."""


class MalformedPage(BookingSourceError):
    """A list page that is not a JSON array: reported and skipped, the other pages go on."""


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def cookie_header(cookies: Sequence[Mapping[str, Any]], url: str, *, now: float | None = None) -> str:
    """The `Cookie` header a browser would send to `url`: domain-matched, unexpired, `Secure` only over https
    (or to a loopback stand-in)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    now = time.time() if now is None else now
    pairs = []
    for cookie in cookies:
        name, value = cookie.get("name"), cookie.get("value")
        if not isinstance(name, str) or not isinstance(value, str) or not name:
            continue
        domain = str(cookie.get("domain") or host).lower().lstrip(".")
        if host != domain and not host.endswith("." + domain):
            continue
        expiry = cookie.get("expiry")
        if isinstance(expiry, int | float) and 0 < expiry < now:
            continue
        if cookie.get("secure") and parts.scheme != "https" and host not in _LOOPBACK:
            continue
        pairs.append(f"{name}={value}")
    return "; ".join(pairs)


def is_login_url(url: str) -> bool:
    """A redirect target that means "not logged in" (external-apis.md §1)."""
    lowered = url.lower()
    return "nid.naver.com" in lowered or "login" in lowered


class NaverApi:
    """Count and list calls for one account's cookies; 401/403/a login redirect is `SessionRejected`."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        epoch_ms: Callable[[], int] | None = None,
        timeout: float = 20.0,
        user_agent: str = CHROME_USER_AGENT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Redirects are not followed: a redirect to the login page is the answer (not logged in).
        self._http = DirectHttp.make(
            http=client, transport=transport, timeout=timeout, default=Urllib3Transport
        )
        #: the run's own transport: requests go to it without httpx's request and answer objects
        #: (`Urllib3Transport.request`); any other (a caller's client, a proxy, a test's) gets them as before
        self._urllib3 = self._http.transport if isinstance(self._http.transport, Urllib3Transport) else None
        self._timeouts = self._http.timeouts
        self._wire: dict[tuple[str, str], urllib3.HTTPHeaderDict] = {}
        self._sleep = sleep
        #: the requests allowed in flight, and the wait every request shares after a 429 (naver.throttle)
        self.throttle = Throttle(sleep=sleep, clock=monotonic)
        self.retry = retry or RetryPolicy.for_naver(rng)
        self._epoch_ms = epoch_ms or (lambda: int(time.time() * 1000))
        self._user_agent = user_agent
        self._cookies: str = ""
        self._count_lock = threading.Lock()
        self._queries: dict[Window, tuple[str, str, str]] = {}
        self._requests = 0
        #: Every wait taken before a retry, in seconds (for reports and tests).
        self.waits: list[float] = []

    def set_cookies(self, cookies: Sequence[Mapping[str, Any]]) -> None:
        """Use these browser cookies from now on (one atomic swap: in-flight requests keep the old ones)."""
        self._cookies = cookie_header(cookies, self.base_url)

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requests

    def close(self) -> None:
        self._http.close()

    def count(self, store_id: str, window: Window) -> int:
        """How many bookings the window holds (`{"count": N}`)."""
        what = f"count {window.describe()}"
        response = self._get(self._count_url(store_id), store_id, window, page=0, what=what)
        try:
            body = loads(response.content)
        except ValueError as exc:
            raise StoreFetchError(f"{what}: the answer is not JSON", store_id=store_id) from exc
        count = body.get("count") if isinstance(body, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise StoreFetchError(f"{what}: no count in the answer", store_id=store_id)
        return count

    def page(self, store_id: str, window: Window, page: int) -> list[Any]:
        """One page (0-based) of `PAGE_SIZE` bookings, as raw JSON objects."""
        what = f"{window.describe()} page {page}"
        return self._json_page(self._page(store_id, window, page, what), store_id, what)[0]

    def checked_page(self, store_id: str, window: Window, page: int) -> tuple[list[Any], bool]:
        """One page's booking objects, to be mapped by `wire.map_object`: `WireBooking`s when the page
        reads that way (naver.wire: only the fields a booking maps are built), raw JSON objects
        otherwise; and whether every text in them is known to encode (True for `WireBooking`s; for JSON objects
        `json_codec.loads_checked`'s answer), so mapping need not look for a lone surrogate."""
        what = f"{window.describe()} page {page}"
        content = self._page(store_id, window, page, what)
        wire = read_page(content)
        if wire is not None:
            return wire, True
        return self._json_page(content, store_id, what)

    def _page(self, store_id: str, window: Window, page: int, what: str) -> bytes:
        return self._get(self._list_url(store_id), store_id, window, page=page, what=what).content

    @staticmethod
    def _json_page(content: bytes, store_id: str, what: str) -> tuple[list[Any], bool]:
        try:
            body, encodable = loads_checked(content)
        except ValueError as exc:
            raise MalformedPage(f"store {store_id}, {what}: the answer is not JSON") from exc
        if not isinstance(body, list):
            raise MalformedPage(f"store {store_id}, {what}: expected a JSON array, got {type(body).__name__}")
        return body, encodable

    def check_session(self, cookies: Sequence[Mapping[str, Any]], store_id: str) -> bool | None:
        """One count call with `cookies`, not retried: True = a session, False = rejected, None = cannot tell."""
        header = cookie_header(cookies, self.base_url)
        window = Window(CONFIRMED)
        try:
            self._get(
                self._count_url(store_id),
                store_id,
                window,
                page=0,
                what="session check",
                cookies=header,
                attempts=1,
            )
        except SessionRejected:
            return False
        except StoreFetchError as exc:
            log.warning("session check inconclusive: %s", exc)
            return None
        return True

    def _count_url(self, store_id: str) -> str:
        return f"{self.base_url}/v3.1/businesses/{store_id}/bookings/count"

    def _list_url(self, store_id: str) -> str:
        return f"{self.base_url}/api/businesses/{store_id}/bookings"

    def _target(self, url: str, window: Window, page: int) -> str:
        """`url` with the query of `_params(window, page)`, as httpx encodes it (tests/naver/test_api.py: the
        same string): the parts that do not change from page to page are encoded once per window. httpx
        encoding a query of 13-15 parameters, then parsing the URL again with it, was a fifth of the CPU of a
        page (bench/http_direct.py)."""
        parts = self._queries.get(window)
        if parts is None:
            params = self._params(window, 0)
            keys = list(params)
            at = keys.index("page")
            before = str(httpx.QueryParams({k: params[k] for k in keys[:at]}))
            rest = {k: params[k] for k in keys[at + 3 :]}  # after page, size and noCache: the dates, if any
            after = f"&{httpx.QueryParams(rest)}" if rest else ""
            if len(self._queries) >= 64:  # a run asks 2-4 windows; a long-lived client must not grow
                self._queries.clear()
            parts = self._queries[window] = (f"?{before}&page=", f"&size={PAGE_SIZE}&noCache=", after)
        head, middle, tail = parts
        return f"{url}{head}{page}{middle}{self._epoch_ms()}{tail}"

    def _params(self, window: Window, page: int) -> dict[str, str]:
        # The exact set the partner web app sends, in its order (external-apis.md §1).
        params = {
            "bizItemTypes": "STANDARD",
            "bookingStatusCodes": window.status,
            "dateDropdownType": "ENTIRE",
            "dateFilter": "USEDATE",
            "maxDays": str(MAX_RANGE_DAYS),
            "nPayChargedStatusCodes": "",
            "orderBy": "",
            "orderByStartDate": "ASC",
            "paymentStatusCodes": "",
            "searchValue": "",
            "page": str(page),
            "size": str(PAGE_SIZE),
            "noCache": str(self._epoch_ms()),
        }
        if window.start is not None and window.end is not None:
            params["startDateTime"] = format_api_time(window.start)
            params["endDateTime"] = format_api_time(window.end)
        return params

    def _request(self, url: str, target: str, store_id: str, cookies: str) -> Answered:
        """GET `target` (`url` with its query) with the store's headers, as `DirectHttp.request` sends it."""
        if self._urllib3 is None:
            return self._http.request("GET", target, headers=self._headers(store_id, cookies))
        key = (store_id, cookies)
        wire = self._wire.get(key)
        if wire is None:  # a store's headers change only with a login: worked out once, kept (bounded)
            if len(self._wire) >= 1024:
                self._wire.clear()
            wire = self._wire[key] = wire_headers(self._http.client, url, self._headers(store_id, cookies))
        return self._urllib3.request("GET", target, wire, self._timeouts)

    def _headers(self, store_id: str, cookies: str) -> dict[str, str]:
        headers = {
            "accept": "*/*",
            "referer": f"{self.base_url}/bizes/{store_id}/booking-list-view",
            "x-booking-naver-role": "OWNER",
            "user-agent": self._user_agent,
        }
        if cookies:
            headers["cookie"] = cookies
        return headers

    def _get(
        self,
        url: str,
        store_id: str,
        window: Window,
        *,
        page: int,
        what: str,
        cookies: str | None = None,
        attempts: int | None = None,
    ) -> Answered:
        max_attempts = attempts or self.retry.max_attempts
        throttle = self.throttle
        refused = [False]  # the last answer was a 429: its wait is every request's (naver.throttle)
        tries = [0]

        def shared_wait(hint: float | None) -> float | None:
            """The least wait a 429 is retried after (the retry's own, drawn, extends it), from now on every
            request's: None when none is taken."""
            if tries[0] >= max_attempts or (hint is not None and hint > self.retry.max_hint):
                return None
            return hint if hint is not None else self.retry.least_backoff(tries[0])

        def attempt() -> Answered | Again:
            with self._count_lock:
                self._requests += 1
            tries[0] += 1
            session = self._cookies if cookies is None else cookies
            hint: float | None = None
            try:
                with throttle.slot() as started_under:
                    response = self._request(url, self._target(url, window, page), store_id, session)
                    status = response.status_code
                    if status == 429 or status >= 500:
                        hint = parse_retry_after(response.headers.get("retry-after"), time.time())
                    if status == 429:  # still in its slot: no request starts before the mark
                        throttle.refused(started_under, shared_wait(hint))
            except (httpx.TransportError, httpx.DecodingError) as exc:  # none, or none that can be read
                refused[0] = False
                problem = f"no answer ({type(exc).__name__})"
                return Again(
                    problem,
                    lambda tries: StoreFetchError(
                        f"{what}: {problem} after {tries} tries", store_id=store_id
                    ),
                )
            refused[0] = status == 429
            location = response.headers.get("location", "")
            if status in (401, 403) or (response.is_redirect and is_login_url(location)):
                raise SessionRejected(f"store {store_id}, {what}: HTTP {status}, not logged in")
            if status == 200:
                throttle.answered()
                return response
            if status != 429 and status < 500:
                raise StoreFetchError(f"{what}: HTTP {status}", store_id=store_id)
            problem = f"HTTP {status}"
            if hint is not None and hint > self.retry.max_hint:
                too_long = StoreFetchError(
                    f"{what}: {problem}, Naver asks to wait {hint:.0f}s - giving up for this run",
                    store_id=store_id,
                )
                return Again(problem, lambda tries: too_long, hint=hint)
            return Again(
                problem,
                lambda tries: StoreFetchError(f"{what}: {problem} after {tries} tries", store_id=store_id),
                hint=hint,
            )

        def log_wait(tries: int, again: Again, wait: float) -> None:
            self.waits.append(wait)
            log.warning(
                "store %s, %s: %s; retrying in %.2fs (try %d of %d)",
                store_id,
                what,
                again.reason,
                wait,
                tries + 1,
                max_attempts,
            )

        def wait(seconds: float) -> None:
            if refused[0]:
                throttle.pacer.hold(seconds)  # every request waits with this one
            else:
                self._sleep(seconds)

        return retry_call(attempt, self.retry, sleep=wait, on_wait=log_wait, max_attempts=max_attempts)
