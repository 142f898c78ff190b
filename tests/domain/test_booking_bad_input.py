"""Booking objects no SMS should come from (issue 9, items 4 and 8): text that cannot be encoded, and phone
numbers that are not Korean numbers, are malformed bookings - skipped and reported, naming the booking and
the field, never sent - while every Korean way of writing a number reaches the same national form."""

from __future__ import annotations

import json
from typing import Any

import pytest

from naver_sms.domain import Booking, BookingError
from naver_sms.domain.phone import national_number
from tests.world import naver_booking


def refused(raw: dict[str, Any]) -> BookingError:
    with pytest.raises(BookingError) as info:
        Booking.from_naver(raw)
    error = info.value
    str(error).encode("utf-8")  # the report can always print it
    return error


# --- item 4: text that cannot be encoded ---------------------------------------------------------------------


def test_a_lone_surrogate_in_the_booking_id_is_a_malformed_booking_named_printably() -> None:
    raw = naver_booking(booking_id=900000091)
    raw["bookingId"] = "\ud800"
    error = refused(raw)
    assert error.field == "bookingId"
    assert error.booking_id == "\\ud800"
    assert "\\ud800" in str(error) and "cannot be encoded" in str(error)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.update(name="홍\udc00동"), "name"),
        (lambda r: r.update(phone="010\udfff"), "phone"),
        (
            lambda r: r["snapshotJson"]["bookingOptionJson"][0].update(name="\ud83d"),
            "snapshotJson.bookingOptionJson[0].name",
        ),
        (lambda r: r.update(email="a\udcff@example.com"), "email"),
        (lambda r: r.update(memo={"deep": [{"x": "\ud800"}]}), "memo.deep[0].x"),
        (lambda r: r.update({"k\udc80": "v"}), "k\\udc80"),
    ],
)
def test_unencodable_text_in_any_field_is_a_malformed_booking_naming_the_field(mutate, field) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a booking whose text somewhere (mapped or not: `extra` reaches templates) holds a lone surrogate
    raw = naver_booking(booking_id=900000092)
    mutate(raw)
    # WHEN it is mapped THEN refused, naming the booking and where the text is
    error = refused(raw)
    assert (error.booking_id, error.field) == ("900000092", field)


def test_a_booking_nested_deeper_than_the_recursion_limit_is_checked_without_recursion() -> None:
    raw = naver_booking(booking_id=900000093)
    deep: Any = "ok"
    for _ in range(5000):
        deep = [deep]
    raw["memo"] = deep
    assert Booking.from_naver(raw).booking_id == "900000093"  # deep but encodable: a valid booking
    inner = raw["memo"]
    for _ in range(4999):
        inner = inner[0]
    inner[0] = "\ud800"
    assert refused(raw).field == "memo" + "[0]" * 5000


@pytest.mark.parametrize("bad_id", ["²³", "١٢٣", "12 3", "-5", 10**25, "9" * 21, True])
def test_an_id_is_ascii_digits_of_a_sane_length(bad_id: Any) -> None:
    raw = naver_booking(booking_id=900000094)
    raw["bookingId"] = bad_id
    assert refused(raw).field == "bookingId"


def test_a_business_id_in_other_digits_is_refused() -> None:
    raw = naver_booking(booking_id=900000095)
    raw["businessId"] = "١٠٠٠٠٠١"
    assert refused(raw).field == "businessId"


# --- item 8: phone numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "digits", "key"),
    [
        ("01012345678", "01012345678", "010-1234-5678"),
        ("010-1234-5678", "01012345678", "010-1234-5678"),
        ("010 1234 5678", "01012345678", "010-1234-5678"),
        ("010.1234.5678", "01012345678", "010-1234-5678"),
        ("(010) 1234-5678", "01012345678", "010-1234-5678"),
        ("+82 10-1234-5678", "01012345678", "010-1234-5678"),
        ("+821012345678", "01012345678", "010-1234-5678"),
        ("+82 (0)10 1234 5678", "01012345678", "010-1234-5678"),
        ("+82 010-1234-5678", "01012345678", "010-1234-5678"),
        ("82 10 1234 5678", "01012345678", "010-1234-5678"),
        ("0082-10-1234-5678", "01012345678", "010-1234-5678"),
        ("  01012345678 ", "01012345678", "010-1234-5678"),
        ("011-123-4567", "0111234567", "011-123-4567"),
        ("0311234567", "0311234567", "031-123-4567"),
        ("+82 31-123-4567", "0311234567", "031-123-4567"),
        ("02-123-4567", "021234567", "02-123-4567"),
        ("(02) 1234-5678", "0212345678", "02-1234-5678"),
        ("+82 2 1234 5678", "0212345678", "02-1234-5678"),
        ("064-123-4567", "0641234567", "064-123-4567"),
        ("070-1234-5678", "07012345678", "070-1234-5678"),
        ("0504-1234-5678", "050412345678", "050412345678"),
    ],
)
def test_every_korean_way_of_writing_a_number_reaches_its_national_form(
    written: str, digits: str, key: str
) -> None:
    assert national_number(written) == digits
    b = Booking.from_naver(naver_booking(booking_id=900000096, phone=written))
    assert (b.phone_digits, b.phone) == (digits, key)


@pytest.mark.parametrize(
    ("phone", "words"),
    [
        (1000000001, "JSON number"),  # 010-0000-0001 with its leading 0 lost
        (1012345678, "JSON number"),
        (10.5, "JSON number"),
        (["01012345678"], "not text"),
        ("+1 212 555 0100", "not a Korean number"),
        ("+44 20 7946 0958", "not a Korean number"),
        ("1588-1234", "not a Korean mobile or landline number"),
        ("112", "not a Korean mobile or landline number"),
        ("0101234567890", "not a Korean mobile or landline number"),
        ("010-123", "not a Korean mobile or landline number"),
        ("020-1234-5678", "not a Korean mobile or landline number"),
        ("0391234567", "not a Korean mobile or landline number"),
        ("010-1234-567x", "only digits"),
        ("010/1234/5678", "only digits"),
        ("٠١٠١٢٣٤٥٦٧٨", "only digits"),
        ("０１０１２３４５６７８", "only digits"),
        ("010+1234+5678", "'+'"),
        ("++821012345678", "'+'"),
        ("-", "not a Korean mobile or landline number"),
    ],
)
def test_what_is_not_a_korean_number_is_a_malformed_booking_never_sent(phone: Any, words: str) -> None:
    raw = naver_booking(booking_id=900000097)
    raw["phone"] = phone
    error = refused(raw)
    assert (error.booking_id, error.field) == ("900000097", "phone")
    assert words in str(error)


def test_a_phone_given_as_a_json_number_in_a_file_is_refused() -> None:
    # the misdirected SMS of the issue: "01000000001" written as a number (JSON has no leading zeros)
    raw = json.loads(json.dumps(naver_booking(booking_id=900000098)).replace('"01000000001"', "1000000001"))
    assert raw["phone"] == 1000000001
    assert "leading 0" in str(refused(raw))


@pytest.mark.parametrize("field", ["bookingId", "name", "phone", "bookingStatusCode", "bizItemName"])
def test_an_int_with_more_digits_than_python_converts_to_text_is_a_malformed_booking(field: str) -> None:
    raw = naver_booking(booking_id=900000099)
    raw[field] = 10**5000  # str() refuses it (Python's 4,300-digit limit): never a ValueError escaping
    error = refused(raw)
    assert error.booking_id in ("900000099", "(a number too long to show)")
