"""Every condition type: when it holds, when it does not, and what it reports having seen."""

from __future__ import annotations

from typing import Any

import pytest

from naver_sms.config.models import AppConfig
from naver_sms.domain import Booking, BookingRecord
from naver_sms.rules.conditions import CONDITIONS
from naver_sms.rules.facts import Facts
from tests.world import booking, kst, record_for

BY_NAME = {c.name: c for c in CONDITIONS}
KEYWORDS = ("네이버", "인스타", "원본")


def holds(
    name: str,
    params: dict[str, Any],
    b: Booking,
    *,
    record: BookingRecord | None = None,
    now: str = "2026-11-26 18:40",
) -> bool:
    ctype = BY_NAME[name]
    facts = Facts(b, record, kst(now), None, KEYWORDS)
    return ctype.check(facts, ctype.params.model_validate(params))


def seen(
    name: str,
    params: dict[str, Any],
    b: Booking,
    *,
    record: BookingRecord | None = None,
    now: str = "2026-11-26 18:40",
) -> dict[str, Any]:
    ctype = BY_NAME[name]
    return dict(
        ctype.observe(Facts(b, record, kst(now), None, KEYWORDS), ctype.params.model_validate(params))
    )


def test_booking_in_db_and_not_in_db_are_opposites() -> None:
    b = booking()
    assert holds("booking_not_in_db", {}, b) and not holds("booking_in_db", {}, b)
    assert holds("booking_in_db", {}, b, record=record_for(b)) and not holds(
        "booking_not_in_db", {}, b, record=record_for(b)
    )
    assert seen("booking_in_db", {}, b) == {"in_db": False}


@pytest.mark.parametrize(
    ("now", "strict", "inclusive"),
    [
        ("2026-11-26 17:59", False, False),  # 2 h 01 before: outside
        ("2026-11-26 18:00", False, True),  # exactly 2 h before: only the inclusive window (new bookings, §3)
        ("2026-11-26 18:01", True, True),
        ("2026-11-26 19:59", True, True),
        ("2026-11-26 20:00", False, False),  # started: never
        ("2026-11-26 21:00", False, False),
    ],
)
def test_time_before_booking_windows(now: str, strict: bool, inclusive: bool) -> None:
    b = booking(start="2026-11-26 20:00")
    assert holds("time_before_booking", {"hours": 2}, b, now=now) is strict
    assert holds("time_before_booking", {"hours": 2, "inclusive": True}, b, now=now) is inclusive


def test_time_before_booking_reports_the_minutes_left() -> None:
    b = booking(start="2026-11-26 20:00")
    assert seen("time_before_booking", {"hours": 2}, b, now="2026-11-26 17:00")["minutes_left"] == 180


def test_flag_not_set_counts_a_missing_record_as_not_set() -> None:
    b = booking()
    assert holds("flag_not_set", {"flag": "remind_sms"}, b)
    assert holds("flag_not_set", {"flag": "remind_sms"}, b, record=record_for(b))
    assert not holds("flag_not_set", {"flag": "remind_sms"}, b, record=record_for(b, remind_sms=True))
    assert holds("flag_set", {"flag": "remind_sms"}, b, record=record_for(b, remind_sms=True))
    assert not holds("flag_set", {"flag": "remind_sms"}, b)


def test_custom_flags_live_beside_the_legacy_ones() -> None:
    b = booking()
    assert not holds("flag_not_set", {"flag": "promo_sms"}, b, record=record_for(b, promo_sms=True))


def test_flag_retry_due_only_after_a_failed_or_interrupted_send() -> None:
    b = booking()
    now_epoch = int(kst("2026-11-26 18:40").timestamp())
    assert not holds("flag_retry_due", {"flag": "confirm_sms"}, b)  # no record
    assert not holds(
        "flag_retry_due", {"flag": "confirm_sms"}, b, record=record_for(b)
    )  # legacy row, never tried
    assert holds("flag_retry_due", {"flag": "confirm_sms"}, b, record=record_for(b, confirm_sms_attempts=1))
    assert not holds(
        "flag_retry_due",
        {"flag": "confirm_sms"},
        b,
        record=record_for(b, confirm_sms_attempts=3, confirm_sms_failed=True),
    )  # failed for good
    assert not holds(
        "flag_retry_due",
        {"flag": "confirm_sms"},
        b,
        record=record_for(b, confirm_sms=True, confirm_sms_attempts=1),
    )  # done
    live = record_for(b, confirm_sms_claim_run="other", confirm_sms_claim_until=now_epoch + 60)
    stale = record_for(b, confirm_sms_claim_run="other", confirm_sms_claim_until=now_epoch - 60)
    assert not holds("flag_retry_due", {"flag": "confirm_sms"}, b, record=live)
    assert holds("flag_retry_due", {"flag": "confirm_sms"}, b, record=stale)
    assert seen("flag_retry_due", {"flag": "confirm_sms"}, b, record=stale)["confirm_sms"] == "stale"
    reset = record_for(b, confirm_sms_attempts=0, confirm_sms_reset_at="2026-11-26T18:00:00+09:00")
    assert holds("flag_retry_due", {"flag": "confirm_sms"}, b, record=reset)  # an operator's `db reset`


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-26 19:59", False),
        ("2026-11-26 20:00", True),
        ("2026-11-26 20:59", True),
        ("2026-11-26 21:00", False),
    ],
)
def test_current_hour_is_korean_wall_clock(now: str, expected: bool) -> None:
    assert holds("current_hour", {"hour": 20}, booking(), now=now) is expected


def test_current_hour_takes_a_list() -> None:
    assert holds("current_hour", {"hour": [9, 18]}, booking(), now="2026-11-26 18:40")


def test_booking_status_and_status_any() -> None:
    b = booking(status="RC08")
    assert holds("booking_status", {"status": "RC08"}, b)
    assert not holds("booking_status", {"status": "RC03"}, b)
    assert holds("booking_status_any", {"statuses": ["RC03", "RC08"]}, b)
    assert not holds("booking_status_any", {"statuses": ["RC02", "RC04"]}, b)
    assert seen("booking_status", {"status": "RC03"}, b) == {"status": "RC08"}


def test_has_option_keyword_matches_contained_keywords_with_the_configured_default() -> None:
    b = booking(options=[("50분 촬영", 1), ("무료 인화지 (네이버 포토리뷰 약속 시)", 1)])
    plain = booking(options=[("50분 촬영", 1)])
    assert holds("has_option_keyword", {}, b)  # default keywords: stores.yaml option_keywords
    assert not holds("has_option_keyword", {}, plain)
    assert holds("has_option_keyword", {"keywords": ["촬영"]}, plain)


def test_has_multiple_options_counts_booking_counts() -> None:
    twice = booking(options=[("전문가 보정", 2)])
    split = booking(options=[("전문가 보정 A", 1), ("전문가 보정 B", 1)])
    once = booking(options=[("전문가 보정", 1)])
    params = {"keywords": ["보정"], "min_count": 2}
    assert holds("has_multiple_options", params, twice)
    assert holds("has_multiple_options", params, split)
    assert not holds("has_multiple_options", params, once)
    assert seen("has_multiple_options", params, once)["matching_count"] == 1


def test_store_id_matches_accepts_numbers_written_in_yaml() -> None:
    b = booking(store_id=1000003)
    assert holds("store_id_matches", {"store_ids": [1000003]}, b)
    assert not holds("store_id_matches", {"store_ids": ["1000001"]}, b)


def test_date_range_is_inclusive_on_the_korean_day() -> None:
    late = booking(start="2026-11-30 23:30")  # 14:30Z: still the 30th in Korea
    params = {"start": "2026-11-01", "end": "2026-11-30"}
    assert holds("date_range", params, late)
    assert not holds("date_range", params, booking(start="2026-12-01 00:10"))
    assert holds("date_range", {**params, "field": "registered_at"}, late)  # registered two days before


def test_date_range_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match="end is before start"):
        BY_NAME["date_range"].params.model_validate({"start": "2026-11-30", "end": "2026-11-01"})


def test_every_condition_is_registered_once_by_default(config: AppConfig) -> None:
    from naver_sms.rules.engine import RuleEngine

    engine = RuleEngine()
    assert set(engine.conditions) == set(BY_NAME)
    assert {
        "booking_not_in_db",
        "booking_in_db",
        "time_before_booking",
        "flag_not_set",
        "current_hour",
        "booking_status",
        "booking_status_any",
        "has_option_keyword",
        "has_multiple_options",
        "store_id_matches",
        "date_range",
    } <= set(BY_NAME)
