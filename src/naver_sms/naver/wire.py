"""A page of Naver bookings read straight from its bytes into a `Booking` each (issue 12, item 3: typed
decoding where it measurably helps).

msgspec reads each booking object into a struct of the fields a booking maps (`WireBooking`); the rest of the
object - about 0.9 KB of Naver's 1.1 KB a booking - is stepped over while parsing, never built as Python
objects. A well-formed booking is then mapped from the struct's attributes, without a dict in between; any
other is mapped by `Booking.from_naver` from the same fields as a dict, so what is kept or skipped, and every
error, is what the JSON path gives (`tests/naver/test_wire.py` compares the two).

A page goes this way only when nothing in it could read differently; otherwise `read_page` answers None and
the caller reads the page as JSON, as before (`json_codec.loads_checked`):

- the bytes must be valid UTF-8: msgspec does not look inside a text it steps over, so a stray byte or a raw
  lone surrogate there would pass unseen, where the JSON path refuses the page or skips the booking;
- msgspec must read it: it refuses an escaped lone surrogate anywhere, a byte order mark, `NaN`, and any
  value of an unexpected kind (an entry that is not an object, a `snapshotJson` neither an object nor null).

Every text read this way encodes (valid UTF-8, no lone surrogate), so the look for one is not needed. Two
pages read better here, on purpose, both about a field no booking maps: an integer past Python's
int-conversion limit (4,300 digits) there is stepped over, where the JSON path refused the whole page for it
(50 bookings lost to a number nobody reads); and an object nested about 1,000 levels deep there, on a page
that also holds a number too large for a float (`1e400`), is read where the standard library gives up.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import msgspec
from msgspec import UnsetType

from naver_sms.domain.booking import EXTRA_FIELDS, Booking, kst_minute
from naver_sms.domain.booking_fields import booking_coupons, booking_options, is_naver_id
from naver_sms.domain.phone import national_number

_UNSET: Any = msgspec.UNSET


class WireSnapshot(msgspec.Struct, gc=False):
    """The fields of `snapshotJson` a booking maps (`Booking.from_naver` reads these and no others)."""

    startDateTime: Any = _UNSET
    endDateTime: Any = _UNSET
    bookingOptionJson: Any = _UNSET
    couponJson: Any = _UNSET
    name: Any = _UNSET
    bizItemName: Any = _UNSET


class WireBooking(msgspec.Struct, gc=False):
    """The fields of one booking object a booking maps, `EXTRA_FIELDS` included (absent: UNSET). JSON gives a
    tree, never a cycle, so the structs need not be tracked by the garbage collector (`gc=False`)."""

    bookingId: Any = _UNSET
    businessId: Any = _UNSET
    phone: Any = _UNSET
    name: Any = _UNSET
    bizItemName: Any = _UNSET
    bookingStatusCode: Any = _UNSET
    snapshotJson: WireSnapshot | UnsetType | None = _UNSET
    bookingOptionJson: Any = _UNSET
    regDateTime: Any = _UNSET
    confirmedDateTime: Any = _UNSET
    startDate: Any = _UNSET
    endDate: Any = _UNSET
    bookingCount: Any = _UNSET
    price: Any = _UNSET
    totalPrice: Any = _UNSET
    businessName: Any = _UNSET


_PAGE = msgspec.json.Decoder(list[WireBooking])
_FIELDS = WireBooking.__struct_fields__
_SNAPSHOT_FIELDS = WireSnapshot.__struct_fields__


def read_page(content: bytes) -> list[WireBooking] | None:
    """The page's booking objects, or None when it must be read as JSON (see the module's text)."""
    if not content.isascii():
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return _PAGE.decode(content)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None


def as_dict(wire: WireBooking) -> dict[str, Any]:
    """The object as the dict path would see it: the fields read, those absent left out."""
    data = {name: value for name in _FIELDS if (value := getattr(wire, name)) is not _UNSET}
    snapshot = data.get("snapshotJson")
    if snapshot is not None:
        data["snapshotJson"] = {
            name: value for name in _SNAPSHOT_FIELDS if (value := getattr(snapshot, name)) is not _UNSET
        }
    return data


def map_object(item: Any, *, encodable: bool = False) -> Booking:
    """A booking object of a page, read by `read_page` (a `WireBooking`) or as JSON: `Booking.from_naver`'s
    answer either way (`encodable`: for a JSON object, see `from_naver`)."""
    if type(item) is not WireBooking:
        return Booking.from_naver(item, encodable=encodable)
    booking = _mapped(
        item
    )  # a well-formed booking here; any other by `from_naver`, which names what is wrong
    return booking if booking is not None else Booking.from_naver(as_dict(item), encodable=True)


def _mapped(wire: WireBooking) -> Booking | None:
    """The booking of a well-formed object, read as `Booking._from_naver` reads it; None at the first thing
    that is not (the JSON path then names it)."""
    raw_id, business, phone, snapshot = wire.bookingId, wire.businessId, wire.phone, wire.snapshotJson
    status = wire.bookingStatusCode
    if not (is_naver_id(raw_id) and is_naver_id(business) and type(snapshot) is WireSnapshot):
        return None
    start = snapshot.startDateTime
    if not (type(phone) is str and type(start) is str and start and type(status) is str and status):
        return None
    booking_id, store_id = str(raw_id), str(business)
    try:
        digits = national_number(phone)
        reserve_at = kst_minute(start, UTC)
        raw_options = snapshot.bookingOptionJson
        if raw_options is _UNSET:
            raw_options = None if wire.bookingOptionJson is _UNSET else wire.bookingOptionJson
        options = booking_options(raw_options, booking_id)
        coupons = booking_coupons(None if snapshot.couponJson is _UNSET else snapshot.couponJson, booking_id)
        # str() of a value of another kind (a list nested deep, a huge int) can fail too: the JSON path decides
        name = str(wire.name or snapshot.name or "")
        item_name = str(wire.bizItemName or snapshot.bizItemName or "")
    except (ValueError, TypeError, OverflowError, RecursionError):  # BookingError, PhoneError: ValueErrors
        return None
    extra = {name: value for name in EXTRA_FIELDS if (value := getattr(wire, name)) is not _UNSET}
    end, made = snapshot.endDateTime, wire.regDateTime
    return Booking.of(
        store_id, booking_id, digits, reserve_at, status, name, item_name, options, coupons, extra, end, made
    )
