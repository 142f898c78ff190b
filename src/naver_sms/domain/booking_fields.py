"""A booking object's fields as Naver gives them: the checks and parts both mappings share (`Booking.from_naver`
over a JSON object, `naver.wire` over a page's structs), and the error that names what is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeGuard

from naver_sms.domain.text import printable

#: A Naver id: ASCII digits (not `²` or `١`, which `str.isdigit` accepts), at most a 64-bit number's 20.
_ID = re.compile(r"[0-9]{1,20}")


class BookingError(ValueError):
    """A booking object from Naver that cannot be mapped: its id, the field and (from files) the file, all
    printable (a lone surrogate is shown as its escape)."""

    def __init__(
        self,
        message: str,
        *,
        booking_id: str | None = None,
        field: str | None = None,
        file: str | None = None,
    ) -> None:
        self.reason = printable(message)
        self.booking_id = shown_id(booking_id) if booking_id is not None else None
        self.field = printable(field) if field is not None else None
        self.file = printable(file) if file is not None else None
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"booking {self.booking_id}" if self.booking_id else "booking"
        if self.file:
            where += f" in {self.file}"
        return f"{where}: {self.reason}" + (f" (field {self.field!r})" if self.field else "")

    def in_file(self, file: str) -> BookingError:
        """The same error, naming the file the booking came from."""
        return BookingError(self.reason, booking_id=self.booking_id, field=self.field, file=file)


def shown_id(raw: Any) -> str:
    """An id as the report shows it: printable, and not a megabyte long."""
    if type(raw) is int and 0 <= raw < 10**20:  # the common case: a Naver id as a JSON number
        return str(raw)
    try:
        text = printable(str(raw))
    except ValueError:  # an int too long to convert (Python's 4,300-digit limit)
        return "(a number too long to show)"
    return text if len(text) <= 40 else text[:40] + "…"


@dataclass(frozen=True, slots=True)
class BookingOption:
    """One option a customer chose (`bookingOptionJson[]`)."""

    name: str
    count: int = 1
    price: int | None = None


def booking_options(raw: Any, booking_id: str | None) -> tuple[BookingOption, ...]:
    """The options of `bookingOptionJson` (absent or null: none)."""
    if not isinstance(raw_options := raw or [], list):
        raise BookingError("not a list", booking_id=booking_id, field="bookingOptionJson")
    options = []
    for item in raw_options:
        if not is_json_object(item) or not isinstance(item.get("name"), str):
            raise BookingError("option without a name", booking_id=booking_id, field="bookingOptionJson")
        count, price = item.get("bookingCount", 1), item.get("price")
        price = int(price) if isinstance(price, int) else None
        options.append(_option(item["name"], int(count) if is_naver_id(count) else 1, price))
    return tuple(options)


def booking_coupons(raw: Any, booking_id: str | None) -> tuple[str, ...]:
    """The coupon names of `snapshotJson.couponJson` (absent or null: none)."""
    if not isinstance(raw_coupons := raw or [], list):
        raise BookingError("not a list", booking_id=booking_id, field="couponJson")
    return tuple(str(c["couponName"]) for c in raw_coupons if is_json_object(c) and c.get("couponName"))


def is_json_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)  # a JSON object is a dict: no ABC check for it


def is_naver_id(value: Any) -> bool:
    """A Naver id (or count): an int or a string of ASCII digits, not a bool, at most 20 digits."""
    kind = type(value)  # the exact types JSON gives (a bool is not an id), without isinstance's slower checks
    if kind is int:
        return bool(0 <= value < 10**20)
    return kind is str and _ID.fullmatch(value) is not None


@lru_cache(maxsize=4096)  # the same few options on booking after booking: one immutable value each
def _option(name: str, count: int, price: int | None) -> BookingOption:
    return BookingOption(name, count, price)
