"""The sandbox source, `--bookings DIR` (issue 9, item 5): a file that cannot be read is reported - named,
with the reason - and every other file's bookings are handled; a malformed booking names its file too."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from naver_sms.domain.booking import BookingError
from naver_sms.naver.files import JsonFileSource
from tests.naver.conftest import NOW, STORES
from tests.world import naver_booking


def write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


BAD_FILES = [
    ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("deep_object.json", '{"a":' * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
    ("eucKR.json", b"[]" + "예약".encode("euc-kr"), "not UTF-8"),
    ("truncated.json", '[{"bookingId": 1', "not JSON"),
    ("huge_number.json", "[" + "9" * 5000 + "]", "not JSON"),
    ("object.json", '{"bookingId": 1}', "a JSON array"),
    ("empty.json", "", "not JSON"),
    ("nul.json", "[\x00]", "not JSON"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES)
def test_a_bad_file_is_named_with_its_reason_and_the_other_files_are_handled(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    # GIVEN a directory with two good files around one bad one
    write(tmp_path / "a.json", json.dumps([naver_booking(booking_id=900000101)]))
    write(tmp_path / name, content)
    write(tmp_path / "z.json", json.dumps([naver_booking(booking_id=900000102)]))
    # WHEN it is fetched
    result = JsonFileSource(tmp_path).fetch(STORES, NOW)
    # THEN the good files' bookings are there, and the bad file is one skipped entry naming it and why
    assert [b.booking_id for b in result.bookings] == ["900000101", "900000102"]
    [skipped] = result.skipped
    assert skipped.file == name
    assert str(skipped).startswith(f"file {name}: ")
    assert reason in str(skipped)


def test_a_file_name_that_is_not_utf8_is_reported_printably(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff.json")  # a surrogate-escaped name, as the file system gives it
    write(tmp_path / name, "not json")
    write(tmp_path / "ok.json", json.dumps([naver_booking(booking_id=900000103)]))
    result = JsonFileSource(tmp_path).fetch(STORES, NOW)
    assert [b.booking_id for b in result.bookings] == ["900000103"]
    [skipped] = result.skipped
    assert "bad\\udcff.json" in str(skipped)
    str(skipped).encode("utf-8")


def test_a_malformed_booking_names_its_file(tmp_path: Path) -> None:
    bad = naver_booking(booking_id=900000104)
    bad["phone"] = 1000000001
    write(tmp_path / "a.json", json.dumps([naver_booking(booking_id=900000105), bad]))
    result = JsonFileSource(tmp_path).fetch(STORES, NOW)
    assert [b.booking_id for b in result.bookings] == ["900000105"]
    [skipped] = result.skipped
    assert isinstance(skipped, BookingError)
    assert (skipped.booking_id, skipped.field, skipped.file) == ("900000104", "phone", "a.json")
    assert str(skipped).startswith("booking 900000104 in a.json: ")


def test_a_directory_named_like_a_bookings_file_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "sub.json").mkdir()
    write(tmp_path / "ok.json", json.dumps([naver_booking(booking_id=900000106)]))
    result = JsonFileSource(tmp_path).fetch(STORES, NOW)
    assert [b.booking_id for b in result.bookings] == ["900000106"]
    assert [s.file for s in result.skipped] == ["sub.json"]
