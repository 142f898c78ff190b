"""A page read into `WireBooking`s maps every booking object exactly as the JSON path does (naver/wire.py):
the same `Booking`, or the same error, for well-formed objects and for every field made odd in turn; and the
pages that could read differently are left to the JSON path."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from naver_sms.domain.booking import EXTRA_FIELDS, Booking, BookingError
from naver_sms.domain.clock import KST
from naver_sms.json_codec import loads_checked
from naver_sms.naver.wire import WireBooking, WireSnapshot, map_object, read_page
from tests.standins.naver import make_booking

START = datetime(2026, 11, 27, 10, 0, tzinfo=KST)
ODD_VALUES: list[Any] = [
    None,
    "",
    0,
    -1,
    7,
    10**20,
    True,
    False,
    1.5,
    2.0,
    "x",
    "0101234",
    "2026-13-01",
    [],
    {},
    [1],
    {"a": 1},
]


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def outcome_json(content: bytes) -> list[Any]:
    """What the JSON path makes of a page: per object a `Booking` or the error's text."""
    body, encodable = loads_checked(content)
    return [_mapped(lambda o=obj: Booking.from_naver(o, encodable=encodable)) for obj in body]


def outcome_wire(content: bytes) -> list[Any]:
    wire = read_page(content)
    assert wire is not None, "the page was expected to read into structs"
    return [_mapped(lambda o=obj: map_object(o)) for obj in wire]


def exact(outcomes: list[Any]) -> list[str]:
    """Outcomes compared type for type: `Booking` equality takes 1, 1.0 and True in `extra` for the same."""
    return [repr(o) for o in outcomes]


def _mapped(call: Any) -> Any:
    try:
        return call()
    except BookingError as exc:
        return f"error: {exc}"


def booking(**changes: Any) -> dict[str, Any]:
    obj = make_booking(800_000_001, 1_000_001, START, options=[("촬영 60분", 30000, "REQUIRED")])
    obj["snapshotJson"]["couponJson"] = [{"couponName": "첫 방문"}, {"other": 1}]
    obj.update(changes)
    return obj


def odd_objects() -> list[dict[str, Any]]:
    """The booking with each field it maps removed, or given each odd value - top level, snapshot, option."""
    out = []
    base = booking()
    for name in WireBooking.__struct_fields__:
        removed = copy.deepcopy(base)
        removed.pop(name, None)
        out.append(removed)
        for value in ODD_VALUES:
            changed = copy.deepcopy(base)
            changed[name] = value
            out.append(changed)
    for name in WireSnapshot.__struct_fields__:
        removed = copy.deepcopy(base)
        removed["snapshotJson"].pop(name, None)
        out.append(removed)
        for value in ODD_VALUES:
            changed = copy.deepcopy(base)
            changed["snapshotJson"][name] = value
            out.append(changed)
    for key in ("name", "bookingCount", "price"):
        for value in [*ODD_VALUES, "2", "١"]:
            changed = copy.deepcopy(base)
            changed["snapshotJson"]["bookingOptionJson"][0][key] = value
            out.append(changed)
    return out


class Reading(dict):  # type: ignore[type-arg]
    """A JSON object that notes every key looked up in it."""

    def __init__(self, data: dict[str, Any], seen: set[str], prefix: str = "") -> None:
        super().__init__(data)
        self.seen, self.prefix = seen, prefix

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(self.prefix + key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.seen.add(self.prefix + key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.seen.add(self.prefix + str(key))
        return super().__contains__(key)


def test_the_structs_hold_every_field_the_json_path_reads() -> None:
    # GIVEN a booking whose objects note every key looked up, the look for a lone surrogate left out
    seen: set[str] = set()
    obj = booking()
    obj["snapshotJson"] = Reading(obj["snapshotJson"], seen, "snapshotJson.")
    Booking.from_naver(Reading(obj, seen), encodable=True)
    # THEN the structs declare each of them: a field read from the JSON and not declared would be lost
    declared = {
        *WireBooking.__struct_fields__,
        *(f"snapshotJson.{f}" for f in WireSnapshot.__struct_fields__),
    }
    assert seen <= declared, seen - declared
    assert {*EXTRA_FIELDS, "snapshotJson.startDateTime", "phone"} <= seen


def test_a_well_formed_page_maps_to_the_same_bookings() -> None:
    # GIVEN a page of bookings of every status, options and coupons, phones of every shape the API sends
    page = [
        make_booking(800_000_000 + i, 1_000_001, START, status=status, phone=phone)
        for i, (status, phone) in enumerate(
            [
                ("RC03", "01012345678"),
                ("RC08", "010-1234-5678"),
                ("RC02", "0212345678"),
                ("RC04", "+82 10 1234 5678"),
            ]
        )
    ]
    page.append(booking())
    content = dumps(page)
    # WHEN it is read both ways THEN every booking is the same, down to `extra`
    wire, json_ = outcome_wire(content), outcome_json(content)
    assert all(isinstance(b, Booking) for b in wire)
    assert exact(wire) == exact(json_)
    assert dict(wire[-1].extra) == {k: page[-1][k] for k in EXTRA_FIELDS if k in page[-1]}
    assert wire[-1].coupons == ("첫 방문",)


def test_every_odd_field_maps_or_fails_as_on_the_json_path() -> None:
    objects = odd_objects()
    # GIVEN each mapped field removed or made odd, one object per page (a page the structs refuse - a
    # snapshotJson that is not an object - is left to the JSON path as a whole)
    compared = refused = 0
    for obj in objects:
        content = dumps([obj])
        if read_page(content) is None:
            refused += 1
            assert not isinstance(obj.get("snapshotJson"), dict | type(None))
            continue
        # THEN the booking, or the error and its text, is the JSON path's, type for type
        assert exact(outcome_wire(content)) == exact(outcome_json(content)), obj
        compared += 1
    assert compared > 300 and refused < 20


def test_the_odd_objects_include_both_outcomes_and_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    # the comparison above is only worth something if bookings and errors come out of it, and if the odd
    # objects that are well formed are mapped from the structs, not all handed to the JSON path
    handed = []
    from_naver = Booking.from_naver
    monkeypatch.setattr(Booking, "from_naver", lambda data, **kw: handed.append(1) or from_naver(data, **kw))
    results = [r for obj in odd_objects() if read_page(c := dumps([obj])) for r in outcome_wire(c)]
    assert sum(isinstance(r, Booking) for r in results) > 100
    assert sum(isinstance(r, str) for r in results) >= 90
    assert len(handed) < len(results) - 100


def test_keys_spelled_with_escapes_and_repeated_keys_read_as_json_reads_them() -> None:
    text = json.dumps([booking()], ensure_ascii=False)
    escaped = text.replace('"phone"', '"phon\\u0065"', 1)
    repeated = text.replace(
        '"bookingStatusCode": "RC03"', '"bookingStatusCode": "RC08", "bookingStatusCode": "RC03"'
    )
    for content in (escaped.encode(), repeated.encode()):
        assert exact(outcome_wire(content)) == exact(outcome_json(content))
    assert outcome_wire(repeated.encode())[0].status == "RC03"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            b'[{"bookingId": 1, "memo": "\xff"}]', id="a byte that is not UTF-8 in an unmapped field"
        ),
        pytest.param(
            '[{"bookingId": 1, "memo": "\ud800"}]'.encode("utf-8", "surrogatepass"), id="a raw lone surrogate"
        ),
        pytest.param(b'[{"bookingId": 1, "memo": "\\ud800"}]', id="an escaped lone surrogate"),
        pytest.param(b'[{"bookingId": 1, "\\udfff": 1}]', id="a lone surrogate in a key"),
        pytest.param(b'\xef\xbb\xbf[{"bookingId": 1}]', id="a byte order mark"),
        pytest.param(b'[{"bookingId": 1, "memo": NaN}]', id="NaN"),
        pytest.param(b'[{"bookingId": 1, "snapshotJson": "x"}]', id="a snapshot that is not an object"),
        pytest.param(b'[{"bookingId": 1}, 7]', id="an entry that is not an object"),
        pytest.param(b'{"bookingId": 1}', id="an object, not an array"),
        pytest.param(b'[{"memo": ' + b"[" * 3000 + b"]" * 3000 + b"}]", id="nested too deeply"),
        pytest.param(b'[{"bookingId": 1}] x', id="text after the array"),
    ],
)
def test_a_page_that_could_read_differently_is_left_to_the_json_path(content: bytes) -> None:
    # WHEN such a page is read THEN the structs refuse it: the JSON path decides, as before this reader
    assert read_page(content) is None


def test_a_lone_surrogate_in_an_unmapped_field_still_skips_the_booking() -> None:
    # GIVEN a page whose second booking holds a lone surrogate in a field no booking maps
    good, bad = booking(), booking(bookingId=800_000_002)
    bad["memo"] = "\ud800"
    content = json.dumps([good, bad]).encode()  # escaped: \\ud800
    # THEN the page goes the JSON path, which skips that booking (and keeps the other)
    assert read_page(content) is None
    first, second = outcome_json(content)
    assert isinstance(first, Booking) and "cannot be encoded" in second


def test_a_field_nested_near_the_recursion_limit_maps_as_on_the_json_path() -> None:
    # GIVEN a booking whose name is a list nested ever deeper, up to where reading or printing it gives up
    page = dumps([booking()])
    outcomes = set()
    for depth in range(900, 1100, 3):
        content = page.replace('"name": "홍길동"'.encode(), b'"name": ' + b"[" * depth + b"]" * depth, 1)
        if read_page(content) is None:
            continue
        # THEN wherever the structs read the page, the booking or the error is the JSON path's: a name that
        # cannot even be printed is a malformed booking on both (it never stops the run)
        wire, json_ = exact(outcome_wire(content)), exact(outcome_json(content))
        assert wire == json_, depth
        outcomes.add(json_[0] if json_[0].startswith("'error") else "Booking")
    assert "Booking" in outcomes and any("unreadable (RecursionError)" in o for o in outcomes), outcomes


def test_a_huge_number_in_a_field_no_booking_maps_no_longer_costs_the_page() -> None:
    # GIVEN a page whose booking holds, in a field nothing reads, an integer past Python's conversion limit
    # (4,300 digits), and one of 25 digits in a field the booking keeps (`price`)
    obj = booking()
    content = dumps([obj]).replace(b'"bizItemId": ', b'"memo": 1' + b"0" * 4300 + b', "bizItemId": ', 1)
    content = content.replace(b'"price": 30000,', b'"price": 1' + b"0" * 24 + b",", 1)
    # THEN the JSON path refused the whole page for it; the structs step over it and map the booking, the
    # price read exactly, as the standard library reads it
    with pytest.raises(ValueError, match="4300"):
        loads_checked(content)
    [mapped] = outcome_wire(content)
    assert isinstance(mapped, Booking) and mapped.extra["price"] == 10**24
