"""Periods in Korean time: which period a moment falls in, and the key that names it in the state store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from naver_sms.domain.period import PeriodError, PeriodSpec
from tests.world import kst


def test_a_day_runs_from_midnight_to_midnight_in_korean_time() -> None:
    spec = PeriodSpec.parse("day")
    before, after = spec.period_at(kst("2026-11-26 23:59")), spec.period_at(kst("2026-11-27 00:00"))
    assert (before.key, after.key) == ("2026-11-26", "2026-11-27")
    assert before.start == kst("2026-11-26 00:00") and before.end == kst("2026-11-27 00:00")
    # 15:30 UTC is already the next day in Seoul
    assert spec.period_at(datetime(2026, 11, 26, 15, 30, tzinfo=UTC)).key == "2026-11-27"


def test_a_week_starts_on_monday_and_is_keyed_by_its_iso_week() -> None:
    spec = PeriodSpec.parse("week")
    sunday, monday = spec.period_at(kst("2026-11-29 23:40")), spec.period_at(kst("2026-11-30 00:00"))
    assert (sunday.key, monday.key) == ("2026-W48", "2026-W49")
    assert sunday.start == kst("2026-11-23 00:00")


def test_a_time_of_day_starts_a_period_that_lasts_until_the_same_time_tomorrow() -> None:
    spec = PeriodSpec.parse("09:00")
    early, on_time = spec.period_at(kst("2026-11-26 08:59")), spec.period_at(kst("2026-11-26 09:00"))
    assert early.key == "2026-11-25T09:00"  # before 09:00 it is still yesterday's period
    assert on_time.key == "2026-11-26T09:00" and on_time.end == kst("2026-11-27 09:00")
    assert kst("2026-11-27 08:40") in on_time and kst("2026-11-27 09:00") not in on_time


def test_a_weekday_and_a_time_and_a_cron_expression() -> None:
    assert PeriodSpec.parse("mon 09:00").period_at(kst("2026-11-26 12:00")).key == "2026-11-23T09:00"
    weekdays = PeriodSpec.parse("0 9 * * 1-5")
    assert weekdays.period_at(kst("2026-11-28 10:00")).key == "2026-11-27T09:00"  # Saturday: Friday's
    assert weekdays.period_at(kst("2026-11-28 10:00")).end == kst("2026-11-30 09:00")


@pytest.mark.parametrize(
    "text", ["", "daily", "25:00", "9", "mon", "funday 09:00", "0 9 * *", "61 9 * * *", 7]
)
def test_what_is_not_a_period_says_what_is_accepted(text: object) -> None:
    with pytest.raises(PeriodError, match=r"use day, week, a time of day"):
        PeriodSpec.parse(text)
