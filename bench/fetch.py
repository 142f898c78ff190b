"""Fetching bookings from Naver: this client against the legacy job's loop, and a reused session against a login.

    .venv/bin/python bench/fetch.py            # runs the legacy loop for real (about 35 s of its 1 s sleeps)
    .venv/bin/python bench/fetch.py --quick    # legacy: its HTTP time measured, its sleeps added, not slept
    .venv/bin/python bench/fetch.py --no-browser   # skip the browser login measurement
    .venv/bin/python bench/fetch.py --quick --no-browser --stores 32 --concurrency 16 --naver-limit 4
                                               # and a fetch against a Naver limiting requests at once

The Naver stand-in (tests/standins/naver.py) runs on 127.0.0.1 with `--latency` (default 50 ms) added to
every request, serving `--stores` stores (default 8) of `--bookings` confirmed bookings each (default 200).

1. Fetch: `NaverBookingSource` (valid cached cookies, `--concurrency` stores at a time, RC03 + RC08 windows)
   against the legacy job's loop (legacy-behaviour.md §1, §7): per store, sequentially, the RC03 count, then
   every page of 50 followed by a fixed 1-second sleep.
2. Session: valid cached cookies checked with one HTTP call, against starting Chromium and logging in with
   the form (what the legacy job did on every run).
3. With `--naver-limit N`: the same fetch against a stand-in that answers 429 (`Retry-After: 1`) to any request
   over N at once - the seconds, the 429s, and how far the fetch lowered its requests in flight.
Local stand-in figures measure round trips and the client, not Naver's own latency.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.standins.naver import NaverStandIn, naver_standin, synthetic_bookings  # noqa: E402

from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteSessionRepository  # noqa: E402
from naver_sms.domain.booking import Store  # noqa: E402
from naver_sms.domain.clock import KST  # noqa: E402
from naver_sms.naver.api import CHROME_USER_AGENT, PAGE_SIZE, NaverApi, cookie_header  # noqa: E402
from naver_sms.naver.live import NaverBookingSource  # noqa: E402
from naver_sms.naver.login import BrowserLogin  # noqa: E402
from naver_sms.naver.session import SessionManager  # noqa: E402
from naver_sms.ports import FetchResult  # noqa: E402

NOW = datetime(2026, 11, 26, 18, 40, tzinfo=KST)


class _NoLogin:
    def login(self) -> list[dict[str, object]]:
        raise AssertionError("the bench's cached session must be valid: no login expected")


def legacy_fetch(
    naver: NaverStandIn, stores: list[Store], cookies: list[dict[str, object]], *, sleep: bool
) -> tuple[float, int, int, int]:
    """The legacy loop: one store after the other, count then pages, `time.sleep(1)` after every page.

    Returns (seconds, requests, bookings, pages). With `sleep=False` the sleeps are added, not slept."""
    header = cookie_header(cookies, naver.base_url)
    slept = 0.0
    requests = bookings = pages = 0
    started = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for store in stores:
            headers = {
                "accept": "*/*",
                "x-booking-naver-role": "OWNER",
                "user-agent": CHROME_USER_AGENT,
                "referer": f"{naver.base_url}/bizes/{store.id}/booking-list-view",
                "cookie": header,
            }
            params = {
                "bizItemTypes": "STANDARD",
                "bookingStatusCodes": "RC03",
                "dateDropdownType": "ENTIRE",
                "dateFilter": "USEDATE",
                "maxDays": "31",
                "nPayChargedStatusCodes": "",
                "orderBy": "",
                "orderByStartDate": "ASC",
                "paymentStatusCodes": "",
                "searchValue": "",
                "page": "0",
                "size": str(PAGE_SIZE),
                "noCache": str(int(time.time() * 1000)),
            }
            count = client.get(
                f"{naver.base_url}/v3.1/businesses/{store.id}/bookings/count", params=params, headers=headers
            ).json()["count"]
            requests += 1
            for page in range(math.ceil(count / PAGE_SIZE)):
                params["page"] = str(page)
                response = client.get(
                    f"{naver.base_url}/api/businesses/{store.id}/bookings", params=params, headers=headers
                )
                requests += 1
                bookings += len(response.json())
                pages += 1
                if sleep:
                    time.sleep(1)  # legacy-behaviour.md §7: "a fixed 1-second sleep after every page"
                else:
                    slept += 1
    return time.perf_counter() - started + slept, requests, bookings, pages


def new_fetch(naver: NaverStandIn, stores: list[Store], concurrency: int) -> tuple[float, int, int]:
    elapsed, result, _ = fetched(naver, stores, concurrency)
    assert not result.failed_stores and not result.skipped, (result.failed_stores, result.skipped)
    return elapsed, result.requests, len(result.bookings)


def fetched(naver: NaverStandIn, stores: list[Store], concurrency: int) -> tuple[float, FetchResult, int]:
    """Seconds, what came back, and the lowest bound of requests in flight the fetch went down to (0: none)."""
    sessions = SqliteSessionRepository(SqliteDatabase(":memory:"))
    sessions.save_cookies(naver.issue_session())
    api = NaverApi(naver.base_url)
    source = NaverBookingSource(
        api, SessionManager(sessions, _NoLogin(), api.check_session), concurrency=concurrency
    )
    started = time.perf_counter()
    result = source.fetch(stores, NOW)
    elapsed = time.perf_counter() - started
    api.close()
    return elapsed, result, api.throttle.lowest


def cached_session(naver: NaverStandIn, store: Store) -> float:
    sessions = SqliteSessionRepository(SqliteDatabase(":memory:"))
    sessions.save_cookies(naver.issue_session())
    api = NaverApi(naver.base_url)
    started = time.perf_counter()
    SessionManager(sessions, _NoLogin(), api.check_session).cookies(store.id)
    elapsed = time.perf_counter() - started
    api.close()
    return elapsed


def browser_login(naver: NaverStandIn) -> float:
    login = BrowserLogin(
        login_url=f"{naver.base_url}/nidlogin.login?mode=form&url={naver.base_url}/",
        user_id=SecretStr(naver.user_id),
        password=SecretStr(naver.password),
    )
    started = time.perf_counter()
    login.login()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--concurrency", type=int, default=4, help="the client's bound (Settings default: 4)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the client and of the session check")
    parser.add_argument("--quick", action="store_true", help="add the legacy sleeps instead of sleeping")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser login measurement")
    parser.add_argument(
        "--naver-limit",
        type=int,
        metavar="N",
        help="3.: a Naver that answers 429 (Retry-After: 1) to any request over N at once (naver/throttle.py)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    stores = [
        Store(id=str(1000001 + i), name=f"Example Studio {i + 1}", alias=f"s{i + 1}")
        for i in range(args.stores)
    ]
    with naver_standin() as naver:
        for store in stores:
            naver.add(store.id, synthetic_bookings(int(store.id), args.bookings, first_day=NOW, days=60))
        naver.latency = args.latency
        print(
            f"stand-in: {args.stores} stores x {args.bookings} confirmed bookings, "
            f"{args.latency * 1000:.0f} ms per request\n"
        )

        runs = [new_fetch(naver, stores, args.concurrency) for _ in range(args.repeat)]
        new_s = statistics.median(r[0] for r in runs)
        _, new_requests, new_bookings = runs[0]
        legacy_s, legacy_requests, legacy_bookings, legacy_pages = legacy_fetch(
            naver, stores, naver.issue_session(), sleep=not args.quick
        )
        legacy_note = " (sleeps added, --quick)" if args.quick else ""
        print("1. fetch                          seconds  requests  bookings")
        print(
            f"   legacy (sequential, 1 s/page)  {legacy_s:7.2f}  {legacy_requests:8d}  {legacy_bookings:8d}"
            f"{legacy_note}"
        )
        print(f"   legacy without its sleeps      {legacy_s - legacy_pages:7.2f}")
        print(
            f"   this client (concurrency {args.concurrency})   {new_s:7.2f}  {new_requests:8d}  "
            f"{new_bookings:8d}   (median of {args.repeat}; with the session check and the RC08 window)"
        )
        print(
            f"   ratio legacy / this client: {legacy_s / new_s:.1f}x "
            f"(without legacy's sleeps: {(legacy_s - legacy_pages) / new_s:.1f}x)\n"
        )

        if args.naver_limit:
            naver.concurrency_limit, naver.refused = args.naver_limit, 0
            limited_s, limited, lowest = fetched(naver, stores, args.concurrency)
            naver.concurrency_limit = None
            print(f"3. Naver answering 429 to any request over {args.naver_limit} at once (Retry-After: 1)")
            print(
                f"   this client (concurrency {args.concurrency})   {limited_s:7.2f} s  {limited.requests} requests, "
                f"{naver.refused} answered 429, the bound down to {lowest or args.concurrency} at the lowest; "
                f"{len(limited.bookings)} bookings, {len(limited.failed_stores)} stores lost\n"
            )

        check_s = statistics.median(cached_session(naver, stores[0]) for _ in range(args.repeat))
        print("2. session                        seconds")
        print(f"   cached cookies, one HTTP check {check_s:7.3f}")
        if not args.no_browser:
            login_s = statistics.median(browser_login(naver) for _ in range(args.repeat))
            print(f"   Chromium start + form login    {login_s:7.3f}   (median of {args.repeat})")
            print(f"   ratio login / check: {login_s / check_s:.0f}x")


if __name__ == "__main__":
    main()
