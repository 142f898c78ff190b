"""What the client asks for: fetch windows, the API's time format, the cookie header. No network."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from naver_sms.domain.clock import KST
from naver_sms.naver.api import (
    COMPLETED,
    CONFIRMED,
    Window,
    completed_windows,
    confirmed_windows,
    cookie_header,
    format_api_time,
    split_range,
)

NOW = datetime(2026, 11, 26, 18, 40, 12, 345000, tzinfo=KST)


def test_api_time_is_utc_with_zero_milliseconds() -> None:
    # GIVEN Korean midnight  WHEN formatted for the API  THEN it is the previous day 15:00 UTC, ".000Z"
    assert format_api_time(datetime(2026, 11, 26, tzinfo=KST)) == "2026-11-25T15:00:00.000Z"


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError):
        format_api_time(datetime(2026, 11, 26))


def test_confirmed_bookings_are_asked_for_without_dates_by_default_like_legacy() -> None:
    # GIVEN no horizon  WHEN the RC03 windows are built  THEN one undated query (legacy parity)
    assert confirmed_windows(NOW) == [Window(CONFIRMED)]


def test_a_confirmed_horizon_is_split_into_windows_of_at_most_31_days_from_today() -> None:
    # GIVEN a 90-day horizon  WHEN the RC03 windows are built
    windows = confirmed_windows(NOW, horizon_days=90)
    # THEN they start at today 00:00 KST, follow each other to the second, and none is longer than 31 days
    assert windows[0].start == datetime(2026, 11, 26, tzinfo=KST)
    assert windows[-1].end == datetime(2027, 2, 23, 23, 59, 59, tzinfo=KST)
    assert len(windows) == 3
    for before, after in itertools.pairwise(windows):
        assert before.end is not None and after.start is not None
        assert after.start - before.end == timedelta(seconds=1)
    assert all(
        w.end is not None and w.start is not None and w.end - w.start < timedelta(days=31) for w in windows
    )


def test_completed_window_runs_from_n_days_back_at_midnight_to_now() -> None:
    # GIVEN the default 3 days  WHEN the RC08 window is built  THEN [2026-11-23 00:00 KST, now to the second]
    assert completed_windows(NOW, 3) == [
        Window(COMPLETED, datetime(2026, 11, 23, tzinfo=KST), datetime(2026, 11, 26, 18, 40, 12, tzinfo=KST))
    ]


def test_the_longest_completed_window_is_split_in_two_because_it_spans_32_calendar_days() -> None:
    # GIVEN 31 days back (the setting's maximum)  WHEN built  THEN two windows, each within 31 calendar days
    first, second = completed_windows(NOW, 31)
    assert first.start == datetime(2026, 10, 26, tzinfo=KST)
    assert first.end == datetime(2026, 11, 25, 23, 59, 59, tzinfo=KST)
    assert second.start == datetime(2026, 11, 26, tzinfo=KST)
    assert second.end is not None and second.end.replace(microsecond=0) == NOW.replace(microsecond=0)


def test_splitting_an_empty_or_reversed_range_gives_nothing() -> None:
    assert split_range(NOW, NOW - timedelta(days=1)) == []


def test_split_windows_cover_the_range_exactly_for_many_lengths() -> None:
    start = datetime(2026, 1, 1, tzinfo=KST)
    for days in range(0, 200, 7):
        end = start + timedelta(days=days, hours=5)
        windows = split_range(start, end)
        assert windows[0][0] == start and windows[-1][1] == end
        assert all(b - a <= timedelta(days=31) for a, b in windows)
        assert all(w2[0] - w1[1] == timedelta(seconds=1) for w1, w2 in itertools.pairwise(windows))


def test_cookie_header_sends_only_the_cookies_of_the_api_host() -> None:
    # GIVEN cookies of .naver.com, of another site, an expired one and a secure one
    now = datetime(2026, 11, 26, tzinfo=UTC).timestamp()
    cookies: list[dict[str, Any]] = [
        {"name": "NID_AUT", "value": "a", "domain": ".naver.com", "path": "/"},
        {"name": "NID_SES", "value": "s", "domain": ".naver.com", "path": "/", "expiry": int(now) + 3600},
        {"name": "OLD", "value": "x", "domain": ".naver.com", "path": "/", "expiry": int(now) - 1},
        {"name": "OTHER", "value": "o", "domain": "example.com", "path": "/"},
        {"name": "SEC", "value": "z", "domain": "partner.booking.naver.com", "secure": True},
    ]
    # WHEN the header for the partner API is built  THEN only live cookies of its domain are in it
    assert (
        cookie_header(cookies, "https://partner.booking.naver.com", now=now) == "NID_AUT=a; NID_SES=s; SEC=z"
    )
    # AND a secure cookie never goes over plain http to a real host
    assert "SEC" not in cookie_header(cookies, "http://partner.booking.naver.com", now=now)
