"""The rule fixture format (`naver-sms rules test`, docs/cli.md) and what each field becomes: the one place
that maps a fixture to the booking objects Naver would return (`FixtureBooking.to_naver`) and to the rows
already in the `sms` table (`FixtureRecord.to_row`). A condition that looks at something new of a booking or
a row gets its fixture field here - a field on the model and its line in `to_naver` / `to_row` - and a row in
the fixture table of docs/cli.md; the runner (naver_sms.rule_fixtures) needs no change. A fixture is one run,
and its `then:` steps later runs on the same database.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from naver_sms.domain.booking import Booking, BookingRecord
from naver_sms.domain.clock import parse_kst
from naver_sms.domain.phone import PhoneError, national_number
from naver_sms.flags.state import FlagAttrs


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, populate_by_name=True)


def _korean_time(value: str | None) -> str | None:
    """A fixture's clock or time: Korean time, as `--now` takes it (refused at load, with its line)."""
    if value is None:
        return None
    try:
        parse_kst(value)
    except ValueError:
        raise PydanticCustomError(
            "korean_time", 'expected "YYYY-MM-DD HH:MM" in Korean time, got {value}', {"value": repr(value)}
        ) from None
    return value


def _utc(korean: str) -> str:
    return parse_kst(korean).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _phone(value: str) -> str:
    try:
        return national_number(value)
    except PhoneError as exc:
        raise PydanticCustomError("phone", "{reason}", {"reason": str(exc)}) from None


class FixtureOption(_Strict):
    """An option the customer chose (`bookingOptionJson[]`); a plain string is an option chosen once."""

    name: str
    count: int = Field(default=1, ge=1)  # `bookingCount`
    price: int | None = None


class FixtureBooking(_Strict):
    """A booking as Naver returns it."""

    id: str  # bookingId (digits; another text gets an id of its own)
    store: str  # businessId: a store of stores.yaml
    status: str = "RC03"  # bookingStatusCode: RC02 requested, RC03 confirmed, RC04 cancelled, RC08 completed
    start: str  # snapshotJson.startDateTime, in Korean time "YYYY-MM-DD HH:MM"
    end: str | None = None  # snapshotJson.endDateTime, Korean time; none when not given
    registered: str | None = None  # regDateTime: when the booking was made, Korean time
    name: str = "홍길동"
    phone: str = ""  # default: 0100000<index>
    options: list[str | FixtureOption] = Field(default_factory=list)
    item: str = ""  # bizItemName: the product booked
    coupons: list[str] = Field(default_factory=list)  # snapshotJson.couponJson[].couponName

    _times = field_validator("start", "end", "registered")(_korean_time)

    def to_naver(self, index: int) -> dict[str, Any]:
        """The booking object the partner API would return (docs/naver.md, "The booking fields")."""
        options = [
            {"name": o, "bookingCount": 1}
            if isinstance(o, str)
            else {
                "name": o.name,
                "bookingCount": o.count,
                **({"price": o.price} if o.price is not None else {}),
            }
            for o in self.options
        ]
        raw: dict[str, Any] = {
            "bookingId": int(self.id) if self.id.isdigit() else 800000000 + index,
            "businessId": self.store,
            "bookingStatusCode": self.status,
            "name": self.name,
            "phone": self.phone or f"0100000{index:04d}",
            "snapshotJson": {
                "startDateTime": _utc(self.start),
                "bookingOptionJson": options,
                "couponJson": [{"couponName": c} for c in self.coupons],
            },
        }
        if self.end is not None:
            raw["snapshotJson"]["endDateTime"] = _utc(self.end)
        if self.registered is not None:
            raw["regDateTime"] = parse_kst(self.registered).isoformat()
        if self.item:
            raw["bizItemName"] = self.item
        return raw


class FixtureRecord(_Strict):
    """A row already in the `sms` table: the legacy flags, and any flag of your own (`flags`)."""

    booking: str  # the fixture booking's id
    confirm_sms: bool = False
    remind_sms: bool = False
    option_sms: bool = False
    booking_time: str | None = None  # the start the row holds (Korean time); default: the booking's
    flags: dict[str, bool] = Field(default_factory=dict)  # custom flags: {aa_sms: true}
    claimed: list[str] = Field(default_factory=list)  # flags a run claimed and then died (stale claims)

    _time = field_validator("booking_time")(_korean_time)

    def to_row(self, booking: Booking, real: datetime) -> BookingRecord:
        """The row, as of the real time `real` (claims live in real time, whatever the fixture's clock)."""
        base = BookingRecord.for_booking(booking)
        extra: dict[str, Any] = {**base.extra, **self.flags}
        for flag in self.claimed:  # a run claimed the flag and died: its lease ran out an hour ago
            names = FlagAttrs.of(flag)
            info = {"to": booking.phone_digits, "wall_at": (real - timedelta(hours=2)).isoformat()}
            extra |= {
                names.claim_run: "fixture-earlier-run",
                names.claim_until: int((real - timedelta(hours=1)).timestamp()),
                names.claim_at: (real - timedelta(hours=2)).isoformat(),
                names.claim_info: json.dumps(info),
                names.attempt: 1,
            }
        held = parse_kst(self.booking_time).strftime("%Y-%m-%d %H:%M:%S") if self.booking_time else None
        return replace(
            base,
            booking_time=held or base.booking_time,
            confirm_sms=self.confirm_sms,
            remind_sms=self.remind_sms,
            option_sms=self.option_sms,
            extra=extra,
        )


class Channels(_Strict):
    """The channels of the fixture's run: both on (to the outbox) unless a fixture turns one off."""

    telegram: bool = True
    slack: bool = True


class ExpectedSms(_Strict):
    booking: str
    template: str
    status: Literal["sent", "failed"] = "sent"  # sent: to the outbox; failed: refused, as the run reports
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    type: Literal["SMS", "LMS"] | None = None
    text: str | None = None  # the whole text as sent
    contains: str | None = None  # a part of it


class ExpectedNotification(_Strict):
    channel: Literal["telegram", "slack", "log"]
    status: Literal["sent", "disabled"] = "sent"  # sent: to the outbox; disabled: the channel was off
    booking: str | None = None  # the fixture booking's id; none for a digest
    rule: str | None = None
    text: str | None = None
    contains: str | None = None


class ExpectedHold(_Strict):
    booking: str
    rule: str


class Expectations(_Strict):
    #: exactly these SMS, in order (none when left out)
    sms: list[ExpectedSms] = Field(default_factory=list)
    #: the rows' flags after the run, any flag: {booking: 1, remind_sms: true, aa_sms: false}
    flags: list[dict[str, Any]] = Field(default_factory=list)
    #: exactly these Telegram / Slack messages and log_event lines, in order (not checked when left out);
    #: the run's summary is `summary`
    notifications: list[ExpectedNotification] | None = None
    #: the Telegram summary of the run: the whole text, or `summary_contains` a part of it
    summary: str | None = None
    summary_contains: str | None = None
    #: matches held by quiet hours, in order
    held: list[ExpectedHold] = Field(default_factory=list)
    #: advertising SMS not sent because the number refused advertising, in order
    suppressed: list[ExpectedSms] = Field(default_factory=list)


class FixtureStep(_Strict):
    """A later run on the same database: its clock, the bookings by then (default: as before), its expect."""

    now: str
    bookings: list[FixtureBooking] | None = Field(default=None, min_length=1)
    expect: Expectations

    _now = field_validator("now")(_korean_time)


class Fixture(_Strict):
    name: str
    now: str
    channels: Channels = Field(default_factory=Channels)
    bookings: list[FixtureBooking] = Field(min_length=1)
    records: list[FixtureRecord] = Field(default_factory=list)
    #: numbers that refused advertising, for this fixture (the configuration's opt-out.txt is not read)
    opt_out: list[Annotated[str, AfterValidator(_phone)]] = Field(default_factory=list)
    expect: Expectations
    then: list[FixtureStep] = Field(default_factory=list)

    _now = field_validator("now")(_korean_time)

    def runs(self) -> list[tuple[str, str, list[FixtureBooking] | None, Expectations]]:
        """(label, now, bookings or None for "as before", expect) of every run, the first one first."""
        steps = [(f"then[{i}] ", s.now, s.bookings, s.expect) for i, s in enumerate(self.then)]
        return [("", self.now, self.bookings, self.expect), *steps]
