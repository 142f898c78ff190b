"""The live booking source against the Naver stand-in, over real sockets on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import timedelta

import httpx
import pytest

from naver_sms.config.settings import Settings
from naver_sms.database.sqlite_repository import SqliteSessionRepository
from naver_sms.domain.booking import Booking
from naver_sms.errors import ConfigError, LoginBlocked
from naver_sms.naver.api import COMPLETED, CONFIRMED, MAX_RANGE_DAYS, PAGE_SIZE, NaverApi, RetryPolicy, Window
from naver_sms.naver.live import NaverBookingSource
from naver_sms.naver.session import SessionManager
from tests.naver.conftest import NOW, STORES, RecordingSleep, StandInLogin
from tests.standins.naver import NaverStandIn, make_booking, synthetic_bookings

pytestmark = pytest.mark.integration

STORE = STORES[0]


def given_bookings(naver: NaverStandIn, store_id: str, confirmed: int, completed: int = 0) -> None:
    naver.add(store_id, synthetic_bookings(int(store_id), confirmed, first_day=NOW, days=40))
    naver.add(
        store_id,
        synthetic_bookings(
            int(store_id), completed, first_day=NOW - timedelta(days=3), days=3, status="RC08"
        ),
    )


def given_logged_in(naver: NaverStandIn, sessions: SqliteSessionRepository) -> None:
    sessions.save_cookies(naver.issue_session())


# --- what is asked ------------------------------------------------------------------------------------------


def test_every_call_carries_the_partner_web_apps_headers_and_parameters(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN a store with bookings and a cached session
    given_bookings(naver, STORE.id, confirmed=3, completed=1)
    given_logged_in(naver, sessions)
    # WHEN the source fetches
    source.fetch([STORE], NOW)
    # THEN every call has the headers and parameters of external-apis.md §1 (the stand-in refuses others)
    calls = naver.api_calls()
    assert calls and all(c.status == 200 for c in calls)
    first = calls[0]
    assert first.headers["X-Booking-Naver-Role"] == "OWNER"
    assert first.headers["Accept"] == "*/*"
    assert first.headers["Referer"] == f"{naver.base_url}/bizes/{STORE.id}/booking-list-view"
    assert "Chrome/" in first.headers["User-Agent"]
    assert first.args["size"] == "50" and first.args["page"] == "0" and first.args["noCache"].isdigit()
    assert "Cookie" in first.headers and "NID_SES=" in first.headers["Cookie"]


@pytest.mark.parametrize(
    "window",
    [
        Window(CONFIRMED),
        Window("RC02,RC04", NOW - timedelta(days=3), NOW),  # a comma and colons: encoded
        Window(COMPLETED, NOW - timedelta(days=3), NOW.replace(hour=23, minute=59, second=59)),
    ],
)
@pytest.mark.parametrize("page", [0, 7, 123])
def test_the_url_of_a_request_is_the_one_httpx_builds_from_the_web_apps_parameters(
    api: NaverApi, window: Window, page: int
) -> None:
    # GIVEN a clock for noCache  WHEN a request's URL is built (the fixed part encoded once per window)
    api._epoch_ms = lambda: 1796348315700
    url = api._list_url(STORE.id)
    built = [api._target(url, window, page) for _ in range(2)]  # the second from what was kept
    # THEN it is byte for byte what httpx makes of the parameters, in their order
    expected = str(httpx.Request("GET", url, params=api._params(window, page)).url)
    assert built == [expected, expected]
    assert str(httpx.URL(built[0])) == expected  # and httpx leaves it as it is


def test_confirmed_are_asked_undated_and_completed_within_the_recent_window(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN a store with both kinds of bookings
    given_bookings(naver, STORE.id, confirmed=3, completed=2)
    given_logged_in(naver, sessions)
    # WHEN fetched at 2026-11-26 18:40 KST
    source.fetch([STORE], NOW)
    # THEN RC03 is asked without dates, RC08 from 2026-11-23 00:00 KST (UTC 11-22 15:00) to now
    counts = naver.api_calls("count")
    rc03 = [c for c in counts if c.args["bookingStatusCodes"] == "RC03"]
    rc08 = [c for c in counts if c.args["bookingStatusCodes"] == "RC08"]
    assert len(rc03) == 2  # the session check, then the fetch
    assert all("startDateTime" not in c.args for c in rc03)
    assert [(c.args["startDateTime"], c.args["endDateTime"]) for c in rc08] == [
        ("2026-11-22T15:00:00.000Z", "2026-11-26T09:40:00.000Z")
    ]


@pytest.mark.parametrize("bookings", [0, 1, 50, 51, 200, 201])
def test_pages_follow_the_count(
    bookings: int, naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN a store with N confirmed bookings
    given_bookings(naver, STORE.id, confirmed=bookings)
    given_logged_in(naver, sessions)
    # WHEN fetched
    result = source.fetch([STORE], NOW)
    # THEN ceil(N / 50) list pages were asked, 0-based, and every booking came back once
    pages = [int(c.args["page"]) for c in naver.api_calls("list")]
    assert pages == list(range(math.ceil(bookings / PAGE_SIZE)))
    assert len(result.bookings) == bookings
    assert len({b.booking_num for b in result.bookings}) == bookings
    assert all(isinstance(b, Booking) and b.store_id == STORE.id for b in result.bookings)


def test_the_longest_completed_window_is_split_and_never_answered_422(
    naver: NaverStandIn, api: NaverApi, login: StandInLogin, sessions: SqliteSessionRepository
) -> None:
    # GIVEN completed bookings from 33 days ago to 2 days ahead, and a source looking back the maximum 31 days
    naver.add(
        STORE.id,
        synthetic_bookings(int(STORE.id), 80, first_day=NOW - timedelta(days=33), days=36, status="RC08"),
    )
    given_logged_in(naver, sessions)
    source = NaverBookingSource(
        api, SessionManager(sessions, login, api.check_session), completed_window_days=MAX_RANGE_DAYS
    )
    # WHEN fetched
    result = source.fetch([STORE], NOW)
    # THEN two dated windows were asked, no call was refused with 422, and every booking in range came back
    rc08 = {
        c.args["startDateTime"] for c in naver.api_calls("count") if c.args["bookingStatusCodes"] == "RC08"
    }
    assert len(rc08) == 2
    assert all(c.status != 422 for c in naver.calls)
    first_day = (NOW - timedelta(days=31)).replace(hour=0, minute=0)
    seeded = [Booking.from_naver(b) for b in naver.bookings[STORE.id]]
    expected = {b.booking_num for b in seeded if first_day <= b.reserve_at <= NOW}
    assert 0 < len(expected) < len(seeded)  # the seed has bookings on both sides of the window's ends
    assert {b.booking_num for b in result.bookings} == expected


def test_a_dated_confirmed_horizon_is_split_and_never_answered_422(
    naver: NaverStandIn, api: NaverApi, login: StandInLogin, sessions: SqliteSessionRepository
) -> None:
    # GIVEN confirmed bookings over 40 days and a source with a 62-day horizon
    given_bookings(naver, STORE.id, confirmed=30)
    given_logged_in(naver, sessions)
    source = NaverBookingSource(
        api, SessionManager(sessions, login, api.check_session), confirmed_horizon_days=62
    )
    # WHEN fetched  THEN two dated RC03 windows, no 422, all 30 bookings
    result = source.fetch([STORE], NOW)
    dated = [c for c in naver.api_calls("count") if "startDateTime" in c.args]
    assert len([c for c in dated if c.args["bookingStatusCodes"] == "RC03"]) == 2
    assert all(c.status != 422 for c in naver.calls)
    assert len(result.bookings) == 30


def test_the_standin_refuses_a_range_over_31_days_like_naver(naver: NaverStandIn, api: NaverApi) -> None:
    # GIVEN the stand-in  WHEN asked for 32 days in one call  THEN 422 (so the tests above mean something)
    from naver_sms.errors import StoreFetchError
    from naver_sms.naver.api import Window

    api.set_cookies(naver.issue_session())
    with pytest.raises(StoreFetchError, match="HTTP 422"):
        api.count(STORE.id, Window("RC08", NOW - timedelta(days=32), NOW))


def test_confirmed_bookings_before_today_are_left_out(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN one RC03 booking yesterday and one today at 10:00 (already past, still today)
    naver.add(
        STORE.id,
        [
            make_booking(1, int(STORE.id), NOW - timedelta(days=1)),
            make_booking(2, int(STORE.id), NOW.replace(hour=10, minute=0)),
        ],
    )
    given_logged_in(naver, sessions)
    # WHEN fetched  THEN only today's is returned
    result = source.fetch([STORE], NOW)
    assert [b.booking_id for b in result.bookings] == ["2"]


# --- backoff ------------------------------------------------------------------------------------------------


def test_a_429_is_retried_after_the_time_naver_asks(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository, sleep: RecordingSleep
) -> None:
    # GIVEN a store whose first list call answers 429 with Retry-After: 7
    given_bookings(naver, STORE.id, confirmed=10)
    given_logged_in(naver, sessions)
    naver.fail(STORE.id, 429, kind="list", headers={"Retry-After": "7"})
    # WHEN fetched
    result = source.fetch([STORE], NOW)
    # THEN it waited 7 s (plus at most half a second of jitter) - through the injected sleep - and got all
    assert len(sleep.waits) == 1 and 7 <= sleep.waits[0] <= 7.5
    assert len(result.bookings) == 10 and not result.failed_stores


def test_5xx_is_retried_with_growing_jittered_waits_then_succeeds(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository, sleep: RecordingSleep
) -> None:
    # GIVEN a store whose count answers 503 three times
    given_bookings(naver, STORE.id, confirmed=5)
    given_logged_in(naver, sessions)
    naver.fail(STORE.id, 503, times=3, kind="count")
    # WHEN fetched
    result = source.fetch([STORE], NOW)
    # THEN the session check took the first 503 without retrying (the cached cookies are used as they are),
    # the fetch's count call waited twice, each wait within its doubling band [d/2, d] for d = 0.5 s, 1 s,
    # and then every booking came back
    assert len(result.bookings) == 5
    assert len(sleep.waits) == 2
    assert 0.25 <= sleep.waits[0] <= 0.5 and 0.5 <= sleep.waits[1] <= 1.0


def test_retries_are_bounded_and_the_store_is_reported(
    naver: NaverStandIn,
    api: NaverApi,
    login: StandInLogin,
    sessions: SqliteSessionRepository,
    sleep: RecordingSleep,
) -> None:
    # GIVEN a store that answers 500 forever and a retry bound of 3 tries
    given_bookings(naver, STORE.id, confirmed=5)
    given_logged_in(naver, sessions)
    naver.fail(STORE.id, 500, times=1000, kind="list")
    api.retry = dataclasses.replace(RetryPolicy.for_naver(), max_attempts=3)
    source = NaverBookingSource(api, SessionManager(sessions, login, api.check_session))
    # WHEN fetched  THEN 3 tries, 2 waits, the store reported with the status
    result = source.fetch([STORE], NOW)
    assert len(naver.api_calls("list")) == 3 and len(sleep.waits) == 2
    assert "HTTP 500 after 3 tries" in result.failed_stores[STORE.id]
    assert result.bookings == []


def test_a_retry_after_longer_than_the_bound_gives_up_on_the_store_at_once(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository, sleep: RecordingSleep
) -> None:
    given_bookings(naver, STORE.id, confirmed=5)
    given_logged_in(naver, sessions)
    naver.fail(STORE.id, 429, kind="list", headers={"Retry-After": "3600"})
    result = source.fetch([STORE], NOW)
    assert sleep.waits == [] and "3600s" in result.failed_stores[STORE.id]


# --- isolation ----------------------------------------------------------------------------------------------


def test_one_failing_store_is_reported_and_the_others_are_fetched(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN three stores, the second answering 404 on its count call
    for store in STORES:
        given_bookings(naver, store.id, confirmed=4)
    given_logged_in(naver, sessions)
    naver.fail(STORES[1].id, 404, kind="count")
    # WHEN fetched
    result = source.fetch(STORES, NOW)
    # THEN the second is reported, the first and third are complete
    assert list(result.failed_stores) == [STORES[1].id]
    assert "HTTP 404" in result.failed_stores[STORES[1].id]
    assert sorted({b.store_id for b in result.bookings}) == [STORES[0].id, STORES[2].id]
    assert len(result.bookings) == 8


def test_a_malformed_booking_is_skipped_and_reported(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN two good bookings and one without a phone, one that is not an object, one of another store
    good = synthetic_bookings(int(STORE.id), 2, first_day=NOW, days=5)
    no_phone = make_booking(77, int(STORE.id), NOW + timedelta(days=1))
    del no_phone["phone"]
    stranger = make_booking(78, 999, NOW + timedelta(days=1))
    naver.add(STORE.id, [*good, no_phone, "not a booking", stranger])
    given_logged_in(naver, sessions)
    # WHEN fetched
    result = source.fetch([STORE], NOW)
    # THEN the good ones are returned and the three bad ones are reported, naming what is wrong
    assert len(result.bookings) == 2
    reasons = sorted(str(e) for e in result.skipped)
    assert len(reasons) == 3
    assert any("booking 77" in r and "'phone'" in r for r in reasons)
    assert any("expected a JSON object" in r for r in reasons)
    assert any("belongs to store 999" in r for r in reasons)
    assert not result.failed_stores


def test_a_booking_holding_a_lone_surrogate_is_skipped_and_the_pages_others_kept(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN a page of three bookings, one whose product name holds a lone surrogate (valid JSON: "\ud800")
    odd = make_booking(79, int(STORE.id), NOW + timedelta(days=1))
    odd["bizItemName"] = "스튜디오 \ud800"
    page = [*synthetic_bookings(int(STORE.id), 2, first_day=NOW, days=5), odd]
    naver.add(STORE.id, page)
    naver.fail(STORE.id, 200, kind="list", page=0, body=json.dumps(page))  # "\ud800", as JSON writes it
    given_logged_in(naver, sessions)
    # WHEN fetched (orjson refuses that page, the standard library reads it: its texts are checked)
    result = source.fetch([STORE], NOW)
    # THEN that booking alone is skipped and reported, naming the field; every other booking is kept
    assert sorted(b.booking_id for b in result.bookings) == sorted(str(b["bookingId"]) for b in page[:2])
    assert [str(e) for e in result.skipped] == [
        "booking 79: text that cannot be encoded (a lone surrogate such as \\ud800) (field 'bizItemName')"
    ]


@pytest.mark.parametrize("body", ["<html>oops</html>", '{"items": []}'])
def test_a_malformed_page_is_skipped_and_reported_and_the_other_pages_are_kept(
    body: str, naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN 120 bookings (3 pages) whose second page answers something that is not a JSON array
    given_bookings(naver, STORE.id, confirmed=120)
    given_logged_in(naver, sessions)
    naver.fail(STORE.id, 200, kind="list", page=1, body=body)
    # WHEN fetched
    result = source.fetch([STORE], NOW)
    # THEN pages 0 and 2 are kept, page 1 is reported
    assert len(result.bookings) == 70
    assert len(result.skipped) == 1 and "page 1" in str(result.skipped[0])
    assert not result.failed_stores


# --- the session --------------------------------------------------------------------------------------------


def test_valid_cached_cookies_cost_one_check_call_and_no_login(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository, login: StandInLogin
) -> None:
    given_bookings(naver, STORE.id, confirmed=1)
    given_logged_in(naver, sessions)
    result = source.fetch([STORE], NOW)
    assert login.calls == 0
    # the check, then RC03 count + one page, then RC08 count (0: no page)
    assert result.requests == len(naver.api_calls()) == 1 + 2 + 1


def test_a_401_mid_fetch_leads_to_one_fresh_login_then_every_store_succeeds(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository, login: StandInLogin
) -> None:
    # GIVEN three stores and a session that Naver ends right after the session check
    for store in STORES:
        given_bookings(naver, store.id, confirmed=3)
    given_logged_in(naver, sessions)
    naver.expire_after = 1
    # WHEN fetched
    result = source.fetch(STORES, NOW)
    # THEN one browser login for the whole fetch, every store complete, the new cookies cached
    assert login.calls == 1
    assert not result.failed_stores and len(result.bookings) == 9
    cached = sessions.load_cookies()
    assert cached is not None and {c["value"] for c in cached if c["name"] == "NID_SES"} <= naver.sessions


def test_a_redirect_to_the_login_page_counts_as_a_rejected_session(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository, login: StandInLogin
) -> None:
    # GIVEN cached cookies Naver no longer knows, and Naver redirecting unauthenticated calls to nid login
    given_bookings(naver, STORE.id, confirmed=2)
    given_logged_in(naver, sessions)
    naver.expire_sessions()
    naver.redirect_unauthenticated = True
    # WHEN fetched  THEN the check saw the redirect, the browser logged in once, and the fetch succeeded
    result = source.fetch([STORE], NOW)
    assert login.calls == 1 and len(result.bookings) == 2


def test_a_second_401_after_the_fresh_login_reports_the_store(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository, login: StandInLogin
) -> None:
    # GIVEN a store that answers 401 to every list call (the account lost access to it), and a healthy one
    given_bookings(naver, STORES[0].id, confirmed=2)
    given_bookings(naver, STORES[1].id, confirmed=2)
    given_logged_in(naver, sessions)
    naver.fail(STORES[1].id, 401, kind="list", times=1000)
    # WHEN fetched
    result = source.fetch(STORES[:2], NOW)
    # THEN exactly one fresh login was tried, the store is reported, the healthy store is complete
    assert login.calls == 1
    assert "rejected the session again" in result.failed_stores[STORES[1].id]
    assert {b.store_id for b in result.bookings} == {STORES[0].id}


def test_a_blocked_login_fails_the_fetch_with_the_operators_explanation_and_caches_nothing(
    naver: NaverStandIn, api: NaverApi, sessions: SqliteSessionRepository
) -> None:
    # GIVEN no cached session and a login that Naver stops with a captcha
    class CaptchaLogin:
        def login(self) -> list[dict[str, object]]:
            raise LoginBlocked("Naver asked for a captcha")

    source = NaverBookingSource(api, SessionManager(sessions, CaptchaLogin(), api.check_session))
    # WHEN fetched  THEN the captcha is raised in plain words and nothing is cached
    with pytest.raises(LoginBlocked, match="captcha"):
        source.fetch([STORE], NOW)
    assert sessions.load_cookies() is None


def test_stores_are_fetched_by_at_most_the_configured_number_of_workers(
    naver: NaverStandIn, api: NaverApi, login: StandInLogin, sessions: SqliteSessionRepository
) -> None:
    # GIVEN eight stores and a bound of 3
    stores = [STORE.__class__(id=str(2000001 + i), name=f"s{i}", alias=f"s{i}") for i in range(8)]
    for store in stores:
        given_bookings(naver, store.id, confirmed=60)
    given_logged_in(naver, sessions)
    source = NaverBookingSource(api, SessionManager(sessions, login, api.check_session), concurrency=3)
    # WHEN fetched  THEN all eight are complete, in store order, and never more than 3 calls were open at once
    result = source.fetch(stores, NOW)
    assert not result.failed_stores and len(result.bookings) == 8 * 60
    assert [b.store_id for b in result.bookings][::60] == [s.id for s in stores]
    assert naver.max_in_flight <= 3


def test_stores_come_as_parts_in_store_order_with_their_requests_counted(
    naver: NaverStandIn, api: NaverApi, login: StandInLogin, sessions: SqliteSessionRepository
) -> None:
    # GIVEN six stores, the third failing
    stores = [STORE.__class__(id=str(2000101 + i), name=f"s{i}", alias=f"s{i}") for i in range(6)]
    for n, store in enumerate(stores):
        given_bookings(naver, store.id, confirmed=10 + n)
    naver.fail(stores[2].id, 500, times=1000)
    given_logged_in(naver, sessions)
    source = NaverBookingSource(api, SessionManager(sessions, login, api.check_session), concurrency=2)
    # WHEN fetched a part at a time (what a run decides as it comes)
    parts = list(source.fetch_batches(stores, NOW))
    # THEN one part per store, in store order, the failed one naming its store
    assert [sorted({b.store_id for b in p.bookings}) for p in parts] == [
        [s.id] if n != 2 else [] for n, s in enumerate(stores)
    ]
    assert [len(p.bookings) for p in parts] == [10, 11, 0, 13, 14, 15]
    assert list(parts[2].failed_stores) == [stores[2].id]
    # AND the parts' requests add up to every request the fetch made
    assert sum(p.requests for p in parts) == len(naver.api_calls())


@pytest.mark.parametrize(("stores", "workers"), [(1, 1), (8, 4), (16, 4), (17, 5), (40, 10), (200, 16)])
def test_unset_the_concurrency_grows_with_the_chain_within_bounds(
    api: NaverApi, login: StandInLogin, sessions: SqliteSessionRepository, stores: int, workers: int
) -> None:
    source = NaverBookingSource(api, SessionManager(sessions, login, api.check_session))
    assert source.workers(stores) == workers
    bounded = NaverBookingSource(api, SessionManager(sessions, login, api.check_session), concurrency=3)
    assert bounded.workers(stores) == min(3, stores)


def test_a_set_concurrency_goes_up_to_32_and_no_further() -> None:
    settings = Settings.from_env({"NAVER_SMS_FETCH_CONCURRENCY": "32"})
    assert settings.fetch_concurrency == 32
    with pytest.raises(ConfigError) as too_many:
        Settings.from_env({"NAVER_SMS_FETCH_CONCURRENCY": "33"})
    assert too_many.value.field == "NAVER_SMS_FETCH_CONCURRENCY"


def test_nothing_personal_or_secret_reaches_the_logs(
    naver: NaverStandIn,
    source: NaverBookingSource,
    sessions: SqliteSessionRepository,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN bookings (one malformed), a failing store, and a session Naver ends mid-fetch
    bookings = synthetic_bookings(int(STORE.id), 60, first_day=NOW, days=5)
    broken = make_booking(77, int(STORE.id), NOW + timedelta(days=1), name="김비밀", phone="01000009999")
    broken["snapshotJson"]["startDateTime"] = "soon"
    naver.add(STORE.id, [*bookings, broken])
    naver.fail(STORES[1].id, 500, times=1000)
    given_logged_in(naver, sessions)
    naver.expire_after = 2
    # WHEN fetched with every log level on
    with caplog.at_level("DEBUG"):
        source.fetch(STORES[:2], NOW)
    # THEN no cookie value, phone number or customer name is in any log line
    cached = sessions.load_cookies() or []
    secrets_and_personal = (
        [c["value"] for c in cached]
        + [b["phone"] for b in [*bookings, broken]]
        + [b["name"] for b in [*bookings, broken]]
    )
    text = caplog.text
    assert "not fetched" in text and "malformed booking" in text  # the logs do say what happened
    assert not [value for value in secrets_and_personal if value in text]
