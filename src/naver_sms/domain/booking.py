"""Bookings as Naver gives them, rows of the `sms` table, and stores.

Mapping rules: legacy-behaviour.md §2. The Naver fields: external-apis.md §1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from naver_sms.domain.booking_fields import BookingError as BookingError  # re-exported: the mapping's error
from naver_sms.domain.booking_fields import BookingOption as BookingOption
from naver_sms.domain.booking_fields import (
    booking_coupons,
    booking_options,
    is_json_object,
    is_naver_id,
    shown_id,
)
from naver_sms.domain.clock import KST
from naver_sms.domain.phone import PhoneError, national_number
from naver_sms.domain.phone import format_phone_key as format_phone_key  # the row's key: re-exported
from naver_sms.domain.phone import legacy_phone_key as legacy_phone_key
from naver_sms.domain.privacy import mask_name, mask_phone
from naver_sms.domain.status import NOTED_AS, REQUESTED
from naver_sms.domain.text import find_unencodable

#: The three legacy flags of the `sms` table (legacy-behaviour.md §3-4).
FLAG_NAMES = ("confirm_sms", "remind_sms", "option_sms")
#: the attributes of a row that `BookingRecord` holds as fields (every other one is in its `extra`)
_RECORD_ATTRIBUTES = frozenset({"booking_num", "phone", "name", "booking_time", *FLAG_NAMES, "option_time"})

#: The Naver fields a booking keeps in `extra` besides those it maps: what a condition (`regDateTime`) or a
#: template can use (docs/rules/actions.md, "Attributes of a booking"); the rest of Naver's object (0.9 KB a
#: booking) is not kept, so a run over 100,000 bookings holds what it uses (issue 12).
_EXTRA = "regDateTime confirmedDateTime startDate endDate bookingCount price totalPrice businessName"
EXTRA_FIELDS = tuple(_EXTRA.split())


@dataclass(frozen=True, slots=True)
class Store:
    """A Naver Smart Place business the job serves."""

    id: str
    name: str
    alias: str
    sender: str | None = None  # the store's own sender number (digits); None = the default sender
    templates: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Booking:
    """One booking mapped from one Naver booking object (legacy-behaviour.md §2). Immutable."""

    booking_num: str  # "{businessId}_{bookingId}": the `sms` table's partition key
    booking_id: str
    store_id: str
    name: str
    phone: str  # the sort key format, see format_phone_key
    phone_digits: str
    reserve_at: datetime  # Korean wall-clock time (aware, Asia/Seoul), truncated to the minute
    status: str
    options: tuple[BookingOption, ...] = ()
    coupons: tuple[str, ...] = ()
    item_name: str = ""
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    end_text: str | None = None  # `snapshotJson.endDateTime` as Naver sent it (see `end_at`)
    registered_text: str | None = None  # `regDateTime` as Naver sent it (see `registered_at`)

    @property
    def end_at(self) -> datetime | None:
        """The end, Korean time to the minute; None when absent or unreadable. Parsed when read (only rules
        about it read it), so mapping a booking costs nothing more."""
        return _optional_time(self.end_text, UTC)

    @property
    def registered_at(self) -> datetime | None:
        """When the booking was made (Naver sends `+09:00`), Korean time to the minute; None likewise."""
        return _optional_time(self.registered_text, KST)

    @property
    def phone_last4(self) -> str:
        return self.phone_digits[-4:]

    @property
    def booking_time(self) -> str:
        """`reserve_at` as the `sms` table stores it: `YYYY-MM-DD HH:MM:SS`."""
        return self.reserve_at.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def option_keyword_count(self, keywords: Sequence[str]) -> int:
        """How many options were chosen whose name contains any keyword, counting `bookingCount`."""
        return sum(o.count for o in self.options if any(k in o.name for k in keywords))

    def has_option_keyword(self, keywords: Sequence[str]) -> bool:
        """Legacy `option`: any option name *contains* any keyword (legacy-behaviour.md §2)."""
        return any(k in o.name for o in self.options for k in keywords)

    @classmethod
    def from_naver(cls, data: Mapping[str, Any], *, encodable: bool = False) -> Booking:
        """Map one booking object of the partner API. Whatever its shape, the only error is `BookingError`
        (naming the bad field): one odd booking is skipped and reported, it never stops a run. `encodable`: the
        caller knows every text in `data` encodes (orjson read it: `json_codec.loads_checked`), so the look for
        a lone surrogate is skipped - 4 % of a steady run's CPU (py-spy of bench/scale.py, 100,000 bookings)."""
        try:
            return cls._from_naver(data, encodable)
        except BookingError:
            raise
        except (TypeError, ValueError, OverflowError, KeyError, AttributeError, RecursionError) as exc:
            raw = data.get("bookingId") if isinstance(data, Mapping) else None
            raise BookingError(
                f"unreadable ({type(exc).__name__})", booking_id=shown_id(raw) if raw is not None else None
            ) from exc

    @classmethod
    def _from_naver(cls, data: Mapping[str, Any], encodable: bool) -> Booking:
        if not is_json_object(data):
            raise BookingError(f"expected a JSON object, got {type(data).__name__}")
        raw_id = data.get("bookingId")
        booking_id = shown_id(raw_id) if raw_id is not None else None
        unencodable = None if encodable else find_unencodable(data)
        if unencodable is not None:  # it could never be stored, sent or printed (issue 9 item 4)
            raise BookingError(
                "text that cannot be encoded (a lone surrogate such as \\ud800)",
                booking_id=booking_id,
                field=unencodable,
            )
        snapshot = data.get("snapshotJson")
        if not is_json_object(snapshot):
            snapshot = {}

        def need(key: str, where: Mapping[str, Any] = data) -> Any:
            value = where.get(key)
            if value is None or value == "":
                raise BookingError("missing", booking_id=booking_id, field=key)
            return value

        need("bookingId")
        if not is_naver_id(raw_id):
            raise BookingError(f"not an id: {shown_id(raw_id)!r}", booking_id=booking_id, field="bookingId")
        business = need("businessId")
        if not is_naver_id(business):
            raise BookingError(
                f"not an id: {shown_id(business)!r}", booking_id=booking_id, field="businessId"
            )
        store_id = str(business)
        digits = _phone_digits(need("phone"), booking_id)
        start = snapshot.get("startDateTime")
        if not start:
            raise BookingError("missing", booking_id=booking_id, field="snapshotJson.startDateTime")
        reserve_at = _parse_utc_to_kst(str(start), booking_id)
        end, made = snapshot.get("endDateTime"), data.get("regDateTime")
        status = str(need("bookingStatusCode"))

        options = booking_options(
            snapshot.get("bookingOptionJson", data.get("bookingOptionJson")), booking_id
        )
        coupons = booking_coupons(snapshot.get("couponJson"), booking_id)
        name = str(data.get("name") or snapshot.get("name") or "")
        item_name = str(data.get("bizItemName") or snapshot.get("bizItemName") or "")
        extra = {k: data[k] for k in EXTRA_FIELDS if k in data}
        return cls.of(
            store_id,
            str(booking_id),
            digits,
            reserve_at,
            status,
            name,
            item_name,
            options,
            coupons,
            extra,
            end,
            made,
        )

    @classmethod
    def of(
        cls,
        store_id: str,
        booking_id: str,
        digits: str,
        reserve_at: datetime,
        status: str,
        name: str,
        item_name: str,
        options: tuple[BookingOption, ...],
        coupons: tuple[str, ...],
        extra: dict[str, Any],
        end: Any,
        made: Any,
    ) -> Booking:
        """The booking of fields already read and checked, its keys derived from them: where both mappings
        (this one, and naver.wire's from a page's structs) end. `end`, `made`: the raw texts, or anything else.
        Positional: a page maps 50 bookings, and a call by keyword costs each of them more."""
        return cls(
            booking_num=f"{store_id}_{booking_id}",
            booking_id=booking_id,
            store_id=store_id,
            name=name,
            phone=format_phone_key(digits),
            phone_digits=digits,
            reserve_at=reserve_at,
            status=status,
            options=options,
            coupons=coupons,
            item_name=item_name,
            extra=MappingProxyType(extra),
            end_text=end if isinstance(end, str) else None,
            registered_text=made if isinstance(made, str) else None,
        )


def _optional_time(raw: str | None, naive: tzinfo) -> datetime | None:
    """A time the rules may look at but a booking does not need (a value without a zone is in `naive`):
    Korean time to the minute, or None when absent or unreadable."""
    try:
        return _parse_utc_to_kst(raw, None, naive) if raw and raw.strip() else None
    except (BookingError, OverflowError):
        return None


def _phone_digits(raw: Any, booking_id: str | None) -> str:
    """The national digits of the booking's phone (domain/phone.py); a malformed booking otherwise."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # 01000000001 as a JSON number is 1000000001: the real number cannot be known, never guess it
        raise BookingError(
            "phone given as a JSON number: its leading 0 is lost, so the real number cannot be known "
            "(Naver sends it as text)",
            booking_id=booking_id,
            field="phone",
        )
    if not isinstance(raw, str):
        raise BookingError(f"not text: {type(raw).__name__}", booking_id=booking_id, field="phone")
    try:
        return national_number(raw)
    except PhoneError as exc:
        raise BookingError(str(exc), booking_id=booking_id, field="phone") from None


def _parse_utc_to_kst(value: str, booking_id: str | None, naive: tzinfo = UTC) -> datetime:
    """`2026-11-26T09:00:00Z` (UTC) -> 2026-11-26 18:00 KST, truncated to the minute (legacy: UTC + 9h)."""
    try:
        return kst_minute(value, naive)
    except ValueError as exc:
        raise BookingError(
            f"not a date-time: {value!r}", booking_id=booking_id, field="snapshotJson.startDateTime"
        ) from exc


@lru_cache(maxsize=4096)  # the same few hundred start times, over and over (the result is immutable)
def kst_minute(value: str, naive: tzinfo) -> datetime:
    """`_parse_utc_to_kst` without the error's wrapping: ValueError when `value` is not a date-time."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:  # Naver sends UTC; a naive value is taken as UTC, as the legacy job did
        parsed = parsed.replace(tzinfo=naive)
    return parsed.astimezone(KST).replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class BookingRecord:
    """A row of the `sms` table: the legacy attributes with their names and types; every attribute the project
    adds (bookkeeping, custom flags) in `extra`, written as its own top-level attribute."""

    booking_num: str
    phone: str
    name: str = ""
    booking_time: str = ""
    confirm_sms: bool = False
    remind_sms: bool = False
    option_sms: bool = False
    option_time: str = ""
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def key(self) -> tuple[str, str]:
        return (self.booking_num, self.phone)

    def flag(self, name: str) -> bool:
        """The boolean flag `name`: a legacy one or a custom one (absent = false)."""
        if name in FLAG_NAMES:
            return bool(getattr(self, name))
        return self.extra.get(name) is True

    def to_item(self) -> dict[str, Any]:
        """The row as a flat attribute dict (legacy attributes first)."""
        item: dict[str, Any] = {
            "booking_num": self.booking_num,
            "phone": self.phone,
            "name": self.name,
            "booking_time": self.booking_time,
            "confirm_sms": self.confirm_sms,
            "remind_sms": self.remind_sms,
            "option_sms": self.option_sms,
            "option_time": self.option_time,
        }
        item.update(self.extra)
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> BookingRecord:
        known = _RECORD_ATTRIBUTES
        return cls(
            booking_num=str(item["booking_num"]),
            phone=str(item["phone"]),
            name=str(item.get("name", "")),
            booking_time=str(item.get("booking_time", "")),
            confirm_sms=item.get("confirm_sms") is True,
            remind_sms=item.get("remind_sms") is True,
            option_sms=item.get("option_sms") is True,
            option_time=str(item.get("option_time", "")),
            extra=MappingProxyType({k: v for k, v in item.items() if k not in known}),
        )

    @property
    def request_note(self) -> bool:
        """A row made while the booking was only requested (RC02), to hold a rule's flags: the job has not
        handled the booking yet (`booking_not_in_db` still holds), until its confirmation adopts the row."""
        return self.extra.get(NOTED_AS) == REQUESTED

    @classmethod
    def for_booking(cls, booking: Booking) -> BookingRecord:
        """The row legacy inserted for a new booking, all flags false (they are set as sends succeed); a
        requested booking's row is marked as a request note (`request_note`)."""
        return cls(
            booking_num=booking.booking_num,
            phone=booking.phone,
            name=booking.name,
            booking_time=booking.booking_time,
            extra=MappingProxyType({NOTED_AS: REQUESTED} if booking.status == REQUESTED else {}),
        )
