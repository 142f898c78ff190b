"""Requested (RC02) and cancelled (RC04) bookings are fetched from Naver only when a rule asks about them, in
one comma-list query per store and window, after the confirmed ones (issue 13 item 2) - over real sockets,
through the whole wiring, against the Naver stand-in."""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from naver_sms.config.settings import Settings
from naver_sms.domain.clock import FixedClock
from naver_sms.naver.api import NaverApi, Window, changes_windows
from naver_sms.runner import run_once
from naver_sms.wiring import build_runtime, open_state
from tests.conftest import CONFIG_DIR
from tests.naver.conftest import NOW, STORES
from tests.standins.naver import Call, NaverStandIn, make_booking

pytestmark = pytest.mark.integration

OPT_IN = """
  - name: cancelled_to_slack
    conditions: [booking_cancelled, booking_in_db]
    actions:
      - type: send_slack
        params: {message: "예약 취소: {{ booking.booking_num }}"}
      - type: update_flag
        params: {flag: cancel_notified}
  - name: unconfirmed_to_slack
    conditions: [{type: request_unconfirmed, params: {hours: 3}}]
    actions:
      - type: send_slack
        params: {message: "확정 대기: {{ booking.booking_num }}"}
      - type: update_flag
        params: {flag: unconfirmed_notified}
"""


def config_dir(tmp_path: Path, extra_rules: str = "") -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    with (target / "rules.yaml").open("a", encoding="utf-8") as f:
        f.write(extra_rules)
    return target


def given_a_day_at_the_studio(naver: NaverStandIn) -> dict[str, Any]:
    """Store 1000001: three confirmed bookings and one cancelled; store 1000002: one request made 4 hours
    ago; a booking of store 1000001 that was cancelled between the two queries shows up in both lists."""
    store = 1000001
    confirmed = [make_booking(930_000_001 + i, store, NOW + timedelta(hours=2 + i)) for i in range(3)]
    cancelled = make_booking(930_000_010, store, NOW + timedelta(days=2), status="RC04")
    request = make_booking(930_000_020, 1000002, NOW + timedelta(days=5), status="RC02")
    request["regDateTime"] = (NOW - timedelta(hours=4)).isoformat()
    flipped_rc03 = make_booking(930_000_030, store, NOW + timedelta(days=1))
    flipped_rc04 = {**flipped_rc03, "bookingStatusCode": "RC04"}
    naver.add(str(store), [*confirmed, cancelled, flipped_rc03, flipped_rc04])
    naver.add("1000002", [request])
    return {"cancelled": cancelled, "flipped": flipped_rc03}


def run_against(naver: NaverStandIn, tmp_path: Path, directory: Path) -> Any:
    settings = Settings(
        config_dir=directory,
        db=str(tmp_path / f"state-{uuid.uuid4().hex[:8]}.sqlite3"),  # a fresh database for every run
        naver_api_base=naver.base_url,
        naver_login_url=f"{naver.base_url}/nidlogin.login?mode=form&url={naver.base_url}/",
        naver_id=SecretStr(naver.user_id),
        naver_password=SecretStr(naver.password),
        slack_enabled=True,
    )
    state = open_state(settings)
    state.sessions.save_cookies(naver.issue_session())
    runtime, _ = build_runtime(settings, clock=FixedClock(NOW), run_id="fetch", state=state)
    try:
        return run_once(runtime, run_id="fetch")
    finally:
        runtime.close()


def asked(calls: list[Call]) -> Counter[tuple[str, str, str, str]]:
    """What was asked, per call: (kind, store, statuses, window) - the noCache stamp and paging aside."""
    return Counter(
        (
            "count" if c.path.endswith("/count") else f"page {c.args['page']}",
            c.path.split("/")[-3 if c.path.endswith("/count") else -2],
            c.args["bookingStatusCodes"],
            f"{c.args.get('startDateTime', '')}..{c.args.get('endDateTime', '')}",
        )
        for c in calls
    )


def test_the_default_rules_ask_naver_exactly_what_they_asked_before(
    naver: NaverStandIn, tmp_path: Path
) -> None:
    # GIVEN bookings of every status, and the default configuration (eight stores)
    given_a_day_at_the_studio(naver)
    # WHEN one run fetches
    report = run_against(naver, tmp_path, config_dir(tmp_path))
    calls = naver.api_calls()
    # THEN only RC03 (undated) and RC08 (the recent window) were asked: the session check, then per store a
    # count of each and the pages that hold bookings - 1 + 8 x 2 + 1 page = 18 requests, as before issue 13
    assert {c.args["bookingStatusCodes"] for c in calls} == {"RC03", "RC08"}
    assert len(calls) == 18
    assert report.ok and report.bookings_fetched == 4  # the three confirmed ones and the one still RC03


def test_the_opt_in_rules_add_one_comma_list_query_per_store_after_the_confirmed_ones(
    naver: NaverStandIn, tmp_path: Path
) -> None:
    given = given_a_day_at_the_studio(naver)
    default = run_against(naver, tmp_path, config_dir(tmp_path))
    default_calls = asked(naver.api_calls())
    naver.calls.clear()
    # WHEN the rules ask about cancellations and requests
    report = run_against(naver, tmp_path, config_dir(tmp_path / "opt-in", OPT_IN))
    calls = naver.api_calls()
    # THEN the default queries are all still there, unchanged, and one more per store: RC02,RC04 together,
    # by day of use from today 00:00 KST for 31 days - one count per store, and a page where there are some
    extra = asked(calls) - default_calls
    window = "2026-11-25T15:00:00.000Z..2026-12-26T14:59:59.000Z"
    assert extra == Counter(
        {("count", s.id, "RC02,RC04", window): 1 for s in [*STORES, *_more_stores()]}
        | {("page 0", "1000001", "RC02,RC04", window): 1, ("page 0", "1000002", "RC02,RC04", window): 1}
    )
    assert len(calls) == 18 + 8 + 2
    # and the codes come after the confirmed ones: the booking cancelled between the two queries is cancelled
    # (within the store: stores are fetched at once, so another store's queries interleave with its own)
    own = [c for c in calls if "/1000001/" in c.path]
    first_change = next(i for i, c in enumerate(own) if c.args["bookingStatusCodes"] == "RC02,RC04")
    assert all(c.args["bookingStatusCodes"] != "RC03" for c in own[first_change:])
    assert default.bookings_fetched == 4 and report.bookings_fetched == 6
    # the booking cancelled between the queries got a confirmation from the default run (it looked
    # confirmed), and none from the run that also asked about cancellations
    flipped = f"1000001_{given['flipped']['bookingId']}"
    assert [s.template for s in default.sms if s.booking_num == flipped] == ["confirmation"]
    assert [s.template for s in report.sms if s.booking_num == flipped] == []
    # the cancelled ones have no row in a fresh database: cancelled_to_slack asks booking_in_db
    posted = [n.text for n in report.notifications if n.channel == "slack"]
    assert posted == ["확정 대기: 1000002_930000020"]


def _more_stores() -> list[Any]:
    from naver_sms.config.loader import load_config

    known = {s.id for s in STORES}
    return [s for s in load_config(CONFIG_DIR).stores.values() if s.id not in known]


def test_the_standin_takes_a_comma_list_of_statuses_like_naver(naver: NaverStandIn, api: NaverApi) -> None:
    naver.add("1000001", [make_booking(1, 1000001, NOW, status=s) for s in ("RC02", "RC03", "RC04", "RC08")])
    naver.add("1000001", [make_booking(2, 1000001, NOW + timedelta(hours=1), status="RC04")])
    api.set_cookies(naver.issue_session())
    (window,) = changes_windows(NOW, ("RC02", "RC04"), 31)
    assert window == Window("RC02,RC04", window.start, window.end)
    assert api.count("1000001", window) == 3
    assert sorted(b["bookingStatusCode"] for b in api.page("1000001", window, 0)) == ["RC02", "RC04", "RC04"]


def test_changes_windows_are_split_at_31_days_and_absent_without_statuses() -> None:
    assert changes_windows(NOW, (), 31) == []
    first, second = changes_windows(NOW, ("RC04",), 60)
    assert (first.status, second.status) == ("RC04", "RC04")
    assert second.start is not None and first.end is not None
    assert second.start - first.end == timedelta(seconds=1)
