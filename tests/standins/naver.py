"""A stand-in of Naver: the login pages and the booking partner API (external-apis.md §1), on 127.0.0.1.

Login (same host as the API, so the browser's cookies work for plain HTTP calls too):
    GET  /nidlogin.login                the form: inputs `id` and `pw`, button `log.login`, POSTs to itself
    POST /nidlogin.login                by `login_mode`: "ok" (NID_AUT / NID_SES cookies, redirect to `url`),
                                        "captcha" (the form again with a captcha challenge), "two_factor"
                                        (redirect to /login/ext/deviceConfirm); a wrong password shows the
                                        form again with the `err_common` message
    GET  /user2/help/myInfoV2           the session check page: redirects to the login page without a session
API (every call needs a valid session cookie, `x-booking-naver-role: OWNER`, `accept: */*`, a Chrome user
agent, the referer of the store's booking list and the web app's query parameters):
    GET /v3.1/businesses/{id}/bookings/count   {"count": N}
    GET /api/businesses/{id}/bookings          a page of bookings (JSON array), by `page` and `size`
Status filter `bookingStatusCodes` (comma list), date filter `startDateTime` / `endDateTime` on
`snapshotJson.startDateTime` (both inclusive), 422 when the range is over 31 days. 401 without a session
(or a redirect to the login page with `redirect_unauthenticated`).

Faults are injected per store (`fail`), latency per request (`latency`), and a limit of requests answered at
once (`concurrency_limit`: one more is answered 429, as a rate-limited service would).
Every request is recorded in `calls` for assertions. All data is synthetic.
"""

from __future__ import annotations

import html
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from naver_sms.domain.clock import KST
from tests.standins.server import serve_wsgi

__all__ = ["Call", "Fault", "NaverStandIn", "make_booking", "naver_standin", "synthetic_bookings"]

REQUIRED_PARAMS = {
    "bizItemTypes": "STANDARD",
    "dateDropdownType": "ENTIRE",
    "dateFilter": "USEDATE",
    "maxDays": "31",
    "nPayChargedStatusCodes": "",
    "orderBy": "",
    "orderByStartDate": "ASC",
    "paymentStatusCodes": "",
    "searchValue": "",
}

_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = [
    "민준",
    "서연",
    "도윤",
    "하은",
    "지호",
    "수아",
    "예준",
    "지우",
    "시우",
    "서윤",
    "하준",
    "민서",
    "지민",
    "채원",
]
_OPTIONS = [
    ("110분/1~4인촬영/2,4,6,9컷무료편집/5색배경지", 35000, "REQUIRED"),
    ("50분 촬영", 30000, "REQUIRED"),
    ("무료 인화지 (네이버 포토리뷰 약속 시)", 0, "CUSTOM"),
    ("인스타 팔로우 이벤트", 0, "CUSTOM"),
    ("원본 전체 제공", 10000, "CUSTOM"),
    ("전문가 보정", 5000, "CUSTOM"),
]


def make_booking(
    booking_id: int,
    business_id: int,
    start: datetime,
    *,
    status: str = "RC03",
    name: str = "홍길동",
    phone: str = "01000000001",
    options: Iterable[tuple[str, int, str]] = (_OPTIONS[0],),
    minutes: int = 110,
) -> dict[str, Any]:
    """One booking object shaped like the partner API's (see shared/fixtures/naver-bookings-sample.json)."""
    start_utc = start.astimezone(UTC)
    end_utc = start_utc + timedelta(minutes=minutes)
    option_json = [
        {"optionId": i + 1, "name": n, "price": p, "bookingCount": 1, "categoryTypeCode": c}
        for i, (n, p, c) in enumerate(options)
    ]
    registered = (start - timedelta(days=3)).astimezone(KST).isoformat(timespec="seconds")
    item = f"{minutes}min / 1-4 persons"
    return {
        "bookingId": booking_id,
        "businessId": business_id,
        "businessName": f"Example Studio {business_id}",
        "bizItemId": 7000000 + business_id % 1000,
        "bizItemType": "STANDARD",
        "bizItemName": item,
        "bookingStatusCode": status,
        "adminBookingStatusCode": "AB00",
        "nPayChargedStatusCode": "CT02",
        "name": name,
        "phone": phone,
        "email": f"customer{booking_id}@example.com",
        "startDate": start.astimezone(KST).strftime("%Y-%m-%d"),
        "endDate": start.astimezone(KST).strftime("%Y-%m-%d"),
        "bookingCount": 1,
        "price": sum(p for _, p, _ in options),
        "totalPrice": sum(p for _, p, _ in options),
        "regDateTime": registered,
        "confirmedDateTime": registered,
        "isCompleted": status == "RC08",
        "snapshotJson": {
            "bookingId": booking_id,
            "businessId": business_id,
            "bizItemName": item,
            "startDateTime": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": end_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "globalTimezone": "Asia/Seoul",
            "name": name,
            "phone": phone,
            "bookingOptionJson": option_json,
            "couponJson": [],
        },
        "bookingOptionJson": option_json,
    }


def synthetic_bookings(
    business_id: int,
    count: int,
    *,
    first_day: datetime,
    days: int = 60,
    status: str = "RC03",
    seed: int = 0,
    first_id: int | None = None,
) -> list[dict[str, Any]]:
    """`count` bookings of one store spread over `days` days from `first_day` (KST), on whole hours 10-20."""
    rng = random.Random(f"{business_id}-{seed}-{status}")
    if first_id is None:  # distinct ids per store, status and seed
        status_offset = {"RC03": 0, "RC08": 40_000, "RC02": 70_000, "RC04": 80_000}.get(status, 90_000)
        first_id = 900_000_000 + (business_id % 1000) * 100_000 + status_offset + seed * 5_000
    day0 = first_day.astimezone(KST).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for i in range(count):
        start = day0 + timedelta(days=rng.randrange(days), hours=rng.randrange(10, 21))
        options = [_OPTIONS[rng.randrange(2)], *rng.sample(_OPTIONS[2:], rng.randrange(3))]
        out.append(
            make_booking(
                first_id + i,
                business_id,
                start,
                status=status,
                name=rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                phone=f"0100000{rng.randrange(10_000):04d}",
                options=options,
            )
        )
    return out


@dataclass
class Fault:
    """Answer `status` (with `body` and `headers`) to the next `times` matching requests of a store.

    `kind` picks the call: "count", "list" or None for both; `page` only that list page.
    """

    store_id: str
    status: int = 500
    times: int = 1
    kind: str | None = None
    page: int | None = None
    body: str = '{"error": "injected"}'
    headers: Mapping[str, str] = field(default_factory=dict)

    def matches(self, store_id: str, kind: str, page: int) -> bool:
        return (
            self.times > 0
            and self.store_id == store_id
            and (self.kind is None or self.kind == kind)
            and (self.page is None or self.page == page)
        )


@dataclass(frozen=True)
class Call:
    """One request the stand-in answered."""

    method: str
    path: str
    args: MultiDict[str, str]
    headers: Mapping[str, str]
    status: int
    at: float


class NaverStandIn:
    """The WSGI app and its state. Thread-safe; tests tweak it between (or during) requests."""

    def __init__(self, *, user_id: str = "owner-id", password: str = "owner-password") -> None:
        self.user_id = user_id
        self.password = password
        self.login_mode = "ok"  # "ok" | "captcha" | "two_factor"
        self.redirect_unauthenticated = False
        self.expire_after: int | None = None  # end every session after this many more API calls
        self.latency = 0.0  # seconds per request (the bench's 50 ms; tests of concurrency a little)
        #: API requests answered at once, at most: one more is answered 429 with `Retry-After: 1`
        self.concurrency_limit: int | None = None
        self.refused = 0  # API requests answered 429 for being over `concurrency_limit`
        self.bookings: dict[str, list[Any]] = {}
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.sessions: set[str] = set()
        self.logins = 0  # successful form logins
        self.second_factor_asked = threading.Event()  # set when a login waits for the owner's approval
        self._second_factor: dict[str, bool] = {}  # pending token -> approved
        self.base_url = ""
        self.in_flight = 0  # requests being answered now
        self.max_in_flight = 0  # the most answered at once
        self._lock = threading.Lock()

    # -- set-up --

    def add(self, store_id: str, bookings: Iterable[Any]) -> None:
        with self._lock:
            self.bookings.setdefault(str(store_id), []).extend(bookings)

    def fail(self, store_id: str, status: int = 500, **options: Any) -> Fault:
        fault = Fault(str(store_id), status, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def issue_session(self) -> list[dict[str, Any]]:
        """Valid session cookies without a browser, in Selenium's format (as the session cache holds them)."""
        token = secrets.token_hex(16)
        with self._lock:
            self.sessions.add(token)
        return [
            {
                "name": "NID_AUT",
                "value": "aut-" + token[:8],
                "domain": "127.0.0.1",
                "path": "/",
                "secure": False,
                "httpOnly": True,
            },
            {
                "name": "NID_SES",
                "value": token,
                "domain": "127.0.0.1",
                "path": "/",
                "secure": False,
                "httpOnly": True,
            },
        ]

    def approve_second_factor(self) -> None:
        """The owner approves every pending login in the Naver app (two-factor mode)."""
        with self._lock:
            for token in self._second_factor:
                self._second_factor[token] = True

    def expire_sessions(self) -> None:
        """Every session ends (as when Naver logs the account out elsewhere)."""
        with self._lock:
            self.sessions.clear()

    # -- what happened --

    def api_calls(self, kind: str | None = None, store_id: str | None = None) -> list[Call]:
        def wanted(c: Call) -> bool:
            if "/businesses/" not in c.path:
                return False
            if kind == "count" and not c.path.endswith("/count"):
                return False
            if kind == "list" and c.path.endswith("/count"):
                return False
            return store_id is None or f"/businesses/{store_id}/" in c.path

        return [c for c in list(self.calls) if wanted(c)]

    # -- WSGI --

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            limit = self.concurrency_limit
            over = limit is not None and self.in_flight > limit and "/businesses/" in request.path
            self.refused += over
        try:
            if self.latency:
                time.sleep(self.latency)  # injected latency: the bench's 50 ms per request
            if over:
                response = _json({"message": "too many requests"}, 429)
                response.headers["Retry-After"] = "1"
            else:
                response = self._route(request)
        finally:
            with self._lock:
                self.in_flight -= 1
        with self._lock:
            self.calls.append(
                Call(
                    request.method,
                    request.path,
                    request.args,
                    dict(request.headers),
                    response.status_code,
                    time.monotonic(),
                )
            )
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/nidlogin.login":
            return self._login(request)
        if path == "/user2/help/myInfoV2":
            if not self._has_session(request):
                return self._to_login(request)
            return _page("내정보", "<h1>내정보</h1><p>네이버 아이디 보안 설정</p>")
        if path.startswith("/login/ext/deviceConfirm"):
            return self._second_factor_page(request)
        if path == "/":
            return _page("NAVER", "<h1>NAVER</h1><p>Synthetic home page of the stand-in.</p>")
        parts = path.strip("/").split("/")
        if len(parts) == 5 and parts[:2] == ["v3.1", "businesses"] and parts[3:] == ["bookings", "count"]:
            return self._api(request, parts[2], "count")
        if len(parts) == 4 and parts[:2] == ["api", "businesses"] and parts[3] == "bookings":
            return self._api(request, parts[2], "list")
        return Response("not found", status=404)

    # -- login --

    def _login(self, request: Request) -> Response:
        target = request.args.get("url") or request.form.get("url") or "/"
        if request.method == "GET":
            return _login_form(target)
        user, password = request.form.get("id", ""), request.form.get("pw", "")
        if self.login_mode == "captcha":
            return _login_form(target, captcha=True)
        if user != self.user_id or password != self.password:
            return _login_form(
                target,
                error="아이디(로그인 전용 아이디) 또는 비밀번호를 잘못 입력했습니다. "
                "입력하신 내용을 다시 확인해주세요.",
            )
        if self.login_mode == "two_factor":
            token = secrets.token_hex(8)
            with self._lock:
                self._second_factor[token] = False
            self.second_factor_asked.set()
            return _redirect(f"/login/ext/deviceConfirm?token={token}")
        cookies = self.issue_session()
        with self._lock:
            self.logins += 1
        response = _redirect(target if target.startswith("/") else "/")
        for cookie in cookies:  # host-only cookies: the browser sends them back to 127.0.0.1 on any port
            response.set_cookie(cookie["name"], cookie["value"], path="/", httponly=True)
        return response

    def _second_factor_page(self, request: Request) -> Response:
        """Like Naver's: the page polls until the owner approves in the app, then finishes the login."""
        token = request.args.get("token", "")
        with self._lock:
            approved = self._second_factor.get(token)
        if approved is None:
            return _redirect("/nidlogin.login?mode=form")
        if request.path.endswith("/status"):
            return _json({"approved": approved})
        if request.path.endswith("/finish"):
            if not approved:
                return _redirect(f"/login/ext/deviceConfirm?token={token}")
            with self._lock:
                del self._second_factor[token]
                self.logins += 1
            response = _redirect("/")
            for cookie in self.issue_session():
                response.set_cookie(cookie["name"], cookie["value"], path="/", httponly=True)
            return response
        # the page navigates once: two polls answered "approved" before the navigation began would otherwise
        # finish twice, and the second finish (its token used up) lands on the login form - a flaky test
        poll = (
            "<script>let leaving = false; setInterval(async () => {"
            "if (leaving) return;"
            f"const r = await fetch('/login/ext/deviceConfirm/status?token={token}');"
            "if ((await r.json()).approved && !leaving) {"
            f"leaving = true; location.href = '/login/ext/deviceConfirm/finish?token={token}'; }}"
            "}, 100);</script>"
        )
        return _page(
            "2단계 인증",
            "<h1>2단계 인증</h1><p>네이버 앱에서 로그인 요청을 확인해 주세요. "
            "새로운 기기(브라우저)에서 로그인이 시도되었습니다.</p>" + poll,
        )

    def _has_session(self, request: Request) -> bool:
        token = request.cookies.get("NID_SES")
        with self._lock:
            return bool(token) and token in self.sessions and bool(request.cookies.get("NID_AUT"))

    def _to_login(self, request: Request) -> Response:
        return _redirect(f"/nidlogin.login?mode=form&url={quote(request.url, safe='')}")

    # -- the partner API --

    def _api(self, request: Request, store_id: str, kind: str) -> Response:
        with self._lock:
            if self.expire_after is not None:
                if self.expire_after <= 0:
                    self.sessions.clear()
                    self.expire_after = None
                else:
                    self.expire_after -= 1
        if not self._has_session(request):
            if self.redirect_unauthenticated:
                return self._to_login(request)
            return _json({"message": "로그인이 필요합니다."}, 401)
        problem = self._check_request(request, store_id)
        if problem:
            return _json({"message": problem}, 400 if "parameter" in problem else 403)
        page = _int(request.args.get("page"), -1)
        size = _int(request.args.get("size"), -1)
        if page < 0 or not 1 <= size <= 100:
            return _json({"message": "bad parameter page/size"}, 400)
        with self._lock:
            for fault in self.faults:
                if fault.matches(store_id, kind, page):
                    fault.times -= 1
                    return Response(
                        fault.body,
                        status=fault.status,
                        headers=dict(fault.headers),
                        content_type="application/json",
                    )
            items = list(self.bookings.get(store_id, []))
        try:
            items = self._filter(items, request)
        except _RangeTooLong:
            return _json({"message": "조회 기간은 최대 31일입니다."}, 422)
        except ValueError as exc:
            return _json({"message": f"bad parameter: {exc}"}, 400)
        if kind == "count":
            return _json({"count": len(items)})
        return _json(items[page * size : (page + 1) * size])

    def _check_request(self, request: Request, store_id: str) -> str | None:
        headers = request.headers
        if headers.get("x-booking-naver-role") != "OWNER":
            return "x-booking-naver-role: OWNER is required"
        if headers.get("accept") != "*/*":
            return "accept: */* is required"
        agent = headers.get("user-agent", "")
        if "Chrome/" not in agent or "python" in agent.lower() or "httpx" in agent.lower():
            return "a browser user agent is required"
        expected_referer = f"{request.host_url}bizes/{store_id}/booking-list-view"
        if headers.get("referer") != expected_referer:
            return f"referer must be {expected_referer}"
        for name, value in REQUIRED_PARAMS.items():
            if request.args.get(name) != value:
                return f"bad parameter {name}"
        for name in ("bookingStatusCodes", "noCache"):
            if not request.args.get(name):
                return f"bad parameter {name}"
        if not request.args["noCache"].isdigit():
            return "bad parameter noCache"
        return None

    @staticmethod
    def _filter(items: list[Any], request: Request) -> list[Any]:
        # one code or a comma list of them (`RC02,RC04`), as the partner web app sends (external-apis.md §1)
        statuses = {code.strip() for code in request.args["bookingStatusCodes"].split(",")}
        if not all(re.fullmatch(r"RC[0-9]{2}", code) for code in statuses):
            raise ValueError("bookingStatusCodes is a status code or a comma list of them")
        start_text, end_text = request.args.get("startDateTime"), request.args.get("endDateTime")
        start = _api_time(start_text) if start_text else None
        end = _api_time(end_text) if end_text else None
        if (start is None) != (end is None):
            raise ValueError("startDateTime and endDateTime go together")
        if start is not None and end is not None and end - start > timedelta(days=31):
            raise _RangeTooLong
        kept = []
        for item in items:
            if not isinstance(item, dict):
                if start is None:  # malformed test data goes through undated queries as is
                    kept.append(item)
                continue
            if item.get("bookingStatusCode") not in statuses:
                continue
            if start is not None and end is not None:
                when = _booking_start(item)
                if when is None or not start <= when <= end:
                    continue
            kept.append(item)
        kept.sort(
            key=lambda i: (
                str(i.get("snapshotJson", {}).get("startDateTime", "")) if isinstance(i, dict) else ""
            )
        )
        return kept


class _RangeTooLong(Exception):
    pass


def _api_time(text: str) -> datetime:
    if not text.endswith(".000Z") or len(text) != 24:
        raise ValueError(f"expected YYYY-MM-DDTHH:MM:SS.000Z, got {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)


def _booking_start(item: Mapping[str, Any]) -> datetime | None:
    snapshot = item.get("snapshotJson")
    value = snapshot.get("startDateTime") if isinstance(snapshot, Mapping) else None
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


def _redirect(location: str) -> Response:
    return Response("", status=302, headers={"Location": location})


def _page(title: str, body: str) -> Response:
    return Response(
        f"<!doctype html><html lang='ko'><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body>{body}</body></html>",
        content_type="text/html; charset=utf-8",
    )


def _login_form(target: str, *, error: str = "", captcha: bool = False) -> Response:
    challenge = ""
    if captcha:
        challenge = (
            "<div id='captcha_wrap'><p>보안을 위해 자동입력 방지 문자를 입력해주세요.</p>"
            "<img id='captchaimg' alt='자동입력 방지 문자' width='200' height='60'>"
            "<input type='text' id='captcha' name='chptcha' placeholder='자동입력 방지 문자'></div>"
        )
    error_box = f"<div id='err_common' role='alert'><p>{html.escape(error)}</p></div>" if error else ""
    body = f"""
<form id="frmNIDLogin" name="frmNIDLogin" method="POST" action="/nidlogin.login">
  <input type="hidden" name="url" value="{html.escape(target)}">
  <input type="hidden" name="mode" value="form">
  <input type="text" id="id" name="id" placeholder="아이디" maxlength="41">
  <input type="password" id="pw" name="pw" placeholder="비밀번호" maxlength="16">
  {challenge}
  {error_box}
  <button type="submit" id="log.login" class="btn_login"><span>로그인</span></button>
</form>"""
    return _page("네이버 : 로그인", body)


@contextmanager
def naver_standin(**options: Any) -> Iterator[NaverStandIn]:
    """A running stand-in; `standin.base_url` is its address."""
    standin = NaverStandIn(**options)
    with serve_wsgi(standin) as base_url:
        standin.base_url = base_url
        yield standin
