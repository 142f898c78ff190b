"""Fuzzing booking objects at the mapping and the file source directly (issue 9, deliverable b):
`Booking.from_naver` gives a booking that can be stored, sent and printed, or a `BookingError` that names it -
nothing else, whatever the object; every Korean way of writing a number reaches the same national form; the
file source keeps every valid booking and names every bad object and file."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from naver_sms.config.loader import load_config
from naver_sms.domain.booking import Booking, BookingError, format_phone_key
from naver_sms.domain.clock import KST
from naver_sms.domain.phone import PhoneError, national_number
from naver_sms.domain.text import find_unencodable
from naver_sms.naver.files import BookingFileError, JsonFileSource
from tests.conftest import CONFIG_DIR
from tests.fuzz.strategies import (
    booking_objects,
    bookings_files,
    expected_from,
    fuzz_settings,
    json_values,
    korean_numbers,
    not_korean_numbers,
    texts,
    unique_names,
    valid_bookings,
)
from tests.naver.conftest import NOW

STORES = list(load_config(CONFIG_DIR).stores.values())
NATIONAL = re.compile(
    r"01[016789][0-9]{7,8}|02[0-9]{7,8}|0(?:3[1-3]|4[1-4]|5[1-5]|6[1-4])[0-9]{7,8}|070[0-9]{8}|050[0-9]{8,9}"
)


def assert_sound(booking: Booking) -> None:
    """What every mapped booking must be, whatever it came from."""
    assert re.fullmatch(r"[0-9]{1,20}", booking.booking_id)
    assert re.fullmatch(r"[0-9]{1,20}", booking.store_id)
    assert booking.booking_num == f"{booking.store_id}_{booking.booking_id}"
    assert NATIONAL.fullmatch(booking.phone_digits), booking.phone_digits
    assert booking.phone == format_phone_key(booking.phone_digits)
    assert booking.reserve_at.tzinfo is KST or booking.reserve_at.utcoffset() == KST.utcoffset(None)
    fields = {k: getattr(booking, k) for k in booking.__slots__}  # type: ignore[attr-defined]
    assert find_unencodable({k: v for k, v in fields.items() if isinstance(v, str)}) is None
    assert find_unencodable(dict(booking.extra)) is None
    assert all(find_unencodable(o.name) is None for o in booking.options)


def assert_named(error: BookingError) -> None:
    """What every refusal must be: printable, and naming the booking or the field."""
    text = str(error)
    text.encode("utf-8")
    assert text.startswith("booking")
    assert error.booking_id is not None or error.field is not None or "expected a JSON object" in text


@given(korean_numbers())
@fuzz_settings(max_examples=400)
def test_every_way_of_writing_a_korean_number_reaches_its_national_form(number: tuple[str, str]) -> None:
    national, written = number
    assert national_number(written) == national


@given(st.one_of(texts, not_korean_numbers.filter(lambda v: isinstance(v, str))))
@fuzz_settings(max_examples=400)
def test_a_number_is_national_or_refused_and_never_gets_digits_it_was_not_given(written: str) -> None:
    try:
        national = national_number(written)
    except PhoneError as exc:
        str(exc).encode("utf-8")
        return
    assert NATIONAL.fullmatch(national)
    given_digits = re.sub(r"[^0-9]", "", written)
    assert given_digits.endswith(national[1:])  # only a country code or the national 0 ever changes


@given(st.data())
@fuzz_settings(max_examples=300)
def test_a_valid_booking_maps_to_its_national_number_whatever_else_it_carries(data: st.DataObject) -> None:
    raw, national = data.draw(valid_bookings(900001000))
    booking = Booking.from_naver(raw)
    assert_sound(booking)
    assert booking.phone_digits == national
    if len(national) == 11:  # legacy parity: 11-digit numbers keep the key 010-1234-5678
        assert booking.phone == f"{national[:3]}-{national[3:7]}-{national[7:]}"


@given(st.data())
@fuzz_settings(max_examples=1000)
def test_any_booking_object_maps_soundly_or_is_named_never_anything_else(data: st.DataObject) -> None:
    raw = data.draw(booking_objects(900002000))
    try:
        booking = Booking.from_naver(raw)
    except BookingError as exc:  # anything else fails the test
        assert_named(exc)
        return
    assert_sound(booking)


@given(json_values)
@fuzz_settings(max_examples=300)
def test_any_json_value_is_a_booking_or_a_booking_error(value: Any) -> None:
    try:
        assert_sound(Booking.from_naver(value))
    except BookingError as exc:
        assert_named(exc)


@given(
    st.lists(st.integers(0, 99), min_size=1, max_size=4, unique=True).flatmap(
        lambda starts: st.tuples(*(bookings_files(900100000 + 10 * s) for s in starts))
    )
)
@fuzz_settings(max_examples=200)
def test_the_file_source_keeps_every_valid_booking_and_names_every_bad_object_and_file(
    files: tuple[Any, ...],
) -> None:
    chosen = unique_names(files)
    with tempfile.TemporaryDirectory() as tmp:
        for f in chosen:
            (Path(tmp) / f.name).write_bytes(f.content)
        result = JsonFileSource(tmp).fetch(STORES, NOW)
    kept, skipped, bad_files = expected_from(chosen)
    assert [b.booking_num for b in result.bookings] == list(kept)
    assert len(result.skipped) == skipped
    assert {e.file for e in result.skipped if isinstance(e, BookingFileError)} == bad_files
    for error in result.skipped:
        str(error).encode("utf-8")
        assert error.file is not None  # every entry names its file
