"""The rule fixture format (`naver-sms rules test`, docs/cli.md) and what each field becomes: the one place
that maps a fixture to the booking objects Naver would return (`FixtureBooking.to_naver`) and to the rows
already in the `sms` table (`FixtureRecord.to_row`). A condition that looks at something new of a booking or
a row gets its fixture field here - a field on the model and its line in `to_naver` / `to_row` - and a row in
the fixture table of docs/cli.md; the runner (naver_sms.rule_fixtures) needs no change.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from naver_sms.domain.booking import Booking, BookingRecord
from naver_sms.domain.clock import parse_kst


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, populate_by_name=True)


def _korean_time(value: str) -> str:
    """A fixture's clock or time: Korean time, as `--now` takes it (refused at load, with its line)."""
    try:
        parse_kst(value)
    except ValueError:
        raise PydanticCustomError(
            "korean_time", 'expected "YYYY-MM-DD HH:MM" in Korean time, got {value}', {"value": repr(value)}
        ) from None
    return value


class FixtureOption(_Strict):
    """An option the customer chose (`bookingOptionJson[]`); a plain string is an option chosen once."""

    name: str
    count: int = Field(default=1, ge=1)  # `bookingCount`
    price: int | None = None


class FixtureBooking(_Strict):
    """A booking as Naver returns it."""

    id: str  # bookingId (digits; another text gets an id of its own)
    store: str  # businessId: a store of stores.yaml
    status: str = "RC03"  # bookingStatusCode
    start: str  # snapshotJson.startDateTime, in Korean time "YYYY-MM-DD HH:MM"
    registered: str | None = None  # regDateTime: when the booking was made, Korean time
    name: str = "홍길동"
    phone: str = ""  # default: 0100000<index>
    options: list[str | FixtureOption] = Field(default_factory=list)
    item: str = ""  # bizItemName: the product booked
    coupons: list[str] = Field(default_factory=list)  # snapshotJson.couponJson[].couponName

    _start = field_validator("start")(_korean_time)

    @field_validator("registered")
    @classmethod
    def _registered(cls, value: str | None) -> str | None:
        return None if value is None else _korean_time(value)

    def to_naver(self, index: int) -> dict[str, Any]:
        """The booking object the partner API would return (docs/naver.md, "The booking fields")."""
        start = parse_kst(self.start).astimezone(UTC)
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
                "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "bookingOptionJson": options,
                "couponJson": [{"couponName": c} for c in self.coupons],
            },
        }
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
    flags: dict[str, bool] = Field(default_factory=dict)  # custom flags: {aa_sms: true}

    def to_row(self, booking: Booking) -> BookingRecord:
        base = BookingRecord.for_booking(booking)
        return BookingRecord(
            base.booking_num,
            base.phone,
            base.name,
            base.booking_time,
            self.confirm_sms,
            self.remind_sms,
            self.option_sms,
            extra=dict(self.flags),
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


class Fixture(_Strict):
    name: str
    now: str
    channels: Channels = Field(default_factory=Channels)
    bookings: list[FixtureBooking] = Field(min_length=1)
    records: list[FixtureRecord] = Field(default_factory=list)
    expect: Expectations

    _now = field_validator("now")(_korean_time)
