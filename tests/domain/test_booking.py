"""Mapping a Naver booking object (legacy-behaviour.md §2), phone keys and masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from naver_sms.domain import Booking, BookingError, BookingRecord, format_phone_key, mask_name, mask_phone
from naver_sms.domain.booking import EXTRA_FIELDS
from tests.world import kst, naver_booking

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "naver-bookings-sample.json"


def test_the_sample_booking_maps_as_legacy_did() -> None:
    # GIVEN the synthetic sample of the partner API
    raw = (
        json.loads(FIXTURE.read_text(encoding="utf-8"))
        if FIXTURE.exists()
        else [
            naver_booking(
                booking_id=900000001,
                store_id=1000001,
                start="2026-11-26 18:00",
                phone="01000000001",
                options=[("무료 인화지 (네이버 포토리뷰 약속 시)", 1), ("전문가 보정", 2)],
            )
        ]
    )
    # WHEN the first one is mapped
    b = Booking.from_naver(raw[0])
    # THEN the keys, the Korean time and the options are the legacy ones
    assert b.booking_num == "1000001_900000001"
    assert b.store_id == "1000001"
    assert b.phone == "010-0000-0001"
    assert b.phone_digits == "01000000001"
    assert b.reserve_at == kst("2026-11-26 18:00")  # 09:00Z + 9 h
    assert b.booking_time == "2026-11-26 18:00:00"
    assert b.has_option_keyword(
        ["네이버", "인스타", "원본"]
    )  # "...(네이버 포토리뷰 약속 시)" contains 네이버
    assert b.option_keyword_count(["보정"]) == 2  # bookingCount counts


def test_extra_keeps_the_documented_naver_fields_and_nothing_else() -> None:
    # issue 12 item 3 replaced "every unmapped field is kept": a booking holds what a rule or a template can
    # use (domain.booking.EXTRA_FIELDS, docs/rules/actions.md), not 0.9 KB of API data it never reads
    b = Booking.from_naver(
        naver_booking(email="x@example.com", adminBookingStatusCode="AB00", totalPrice=45000, bookingCount=2)
    )
    assert b.extra["totalPrice"] == 45000 and b.extra["bookingCount"] == 2
    assert b.extra["regDateTime"]  # what date_range(field: registered_at) reads
    assert set(b.extra) <= set(EXTRA_FIELDS)
    assert (
        "email" not in b.extra and "adminBookingStatusCode" not in b.extra and "snapshotJson" not in b.extra
    )


def test_reserve_at_is_truncated_to_the_minute() -> None:
    raw = naver_booking()
    raw["snapshotJson"]["startDateTime"] = "2026-11-26T09:00:59Z"
    assert Booking.from_naver(raw).reserve_at == kst("2026-11-26 18:00")


def test_an_unknown_status_code_is_kept_as_data() -> None:
    assert Booking.from_naver(naver_booking(status="RC07")).status == "RC07"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("phone"), "phone"),
        (lambda r: r["snapshotJson"].pop("startDateTime"), "snapshotJson.startDateTime"),
        (lambda r: r["snapshotJson"].update(startDateTime="tomorrow"), "snapshotJson.startDateTime"),
        (lambda r: r.update(businessId="abc"), "businessId"),
        (lambda r: r.pop("bookingStatusCode"), "bookingStatusCode"),
        (lambda r: r["snapshotJson"].update(bookingOptionJson=[{"price": 1}]), "bookingOptionJson"),
    ],
)
def test_a_malformed_booking_names_its_field(mutate, field) -> None:  # type: ignore[no-untyped-def]
    raw = naver_booking(booking_id=900000042)
    mutate(raw)
    with pytest.raises(BookingError) as info:
        Booking.from_naver(raw)
    assert info.value.field == field
    assert info.value.booking_id == "900000042"


@pytest.mark.parametrize(
    ("digits", "key"),
    [
        ("01012345678", "010-1234-5678"),  # legacy 3-4-rest, kept
        ("0311234567", "031-123-4567"),  # legacy would have split 031-1234-567
        ("0212345678", "02-1234-5678"),
        ("021234567", "02-123-4567"),
    ],
)
def test_phone_key_formats(digits: str, key: str) -> None:
    assert format_phone_key(digits) == key


def test_masking() -> None:
    assert mask_phone("010-1234-5678") == "010-****-5678"
    assert mask_phone("01012345678") == "010****5678"
    assert mask_name("홍길동") == "홍*동"
    assert mask_name("남궁민수") == "남**수"
    assert mask_name("김철") == "김*"


def test_a_record_round_trips_through_its_item_keeping_added_attributes() -> None:
    item = {
        "booking_num": "1_2",
        "phone": "010-0000-0001",
        "name": "홍길동",
        "booking_time": "2026-11-26 18:00:00",
        "confirm_sms": True,
        "remind_sms": False,
        "option_sms": False,
        "option_time": "",
        "confirm_sms_request_id": "r-1",
        "promo_sms": True,
    }
    record = BookingRecord.from_item(item)
    assert record.to_item() == item
    assert record.flag("promo_sms") is True
    assert record.flag("remind_sms") is False


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["snapshotJson"].update(couponJson=5), "couponJson"),
        (lambda r: r["snapshotJson"].update(startDateTime="9999-12-31T23:59:59Z"), None),  # overflows +9 h
    ],
)
def test_no_shape_of_booking_raises_anything_but_a_booking_error(mutate, field) -> None:  # type: ignore[no-untyped-def]
    raw = naver_booking(booking_id=900000043)
    mutate(raw)
    with pytest.raises(BookingError) as info:
        Booking.from_naver(raw)
    assert info.value.booking_id == "900000043"
    assert info.value.field == field


def test_short_or_foreign_numbers_show_only_their_last_four_digits() -> None:
    assert mask_phone("12345678") == "****5678"
    assert mask_phone("821012345678") == "********5678"
