"""Builders of the test world: Naver-format booking objects, bookings, facts, and recording services."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from naver_sms.domain import Booking, BookingRecord
from naver_sms.errors import DeliveryError
from naver_sms.notifications.protocols import ChannelReceipt, SmsMessage, SmsReceipt
from tests.helpers.bookings import kst as kst  # re-exported: the tests build their clocks with it
from tests.helpers.bookings import naver_booking as _naver_booking

_ids = itertools.count(1)


def naver_booking(
    *,
    booking_id: int | None = None,
    store_id: int = 1000001,
    status: str = "RC03",
    start: datetime | str = "2026-11-26 20:00",
    name: str = "홍길동",
    phone: str = "01000000001",
    options: Sequence[tuple[str, int]] = (("50분 촬영", 1),),
    **extra: Any,
) -> dict[str, Any]:
    """One booking object as the partner API returns it (external-apis.md §1), with a fresh id unless one is
    given; `start` is Korean time; `extra` adds or replaces top-level fields."""
    raw = _naver_booking(
        booking_id if booking_id is not None else 900000000 + next(_ids),
        store_id=store_id,
        status=status,
        start=start,
        name=name,
        phone=phone,
        options=options,
    )
    raw.update(extra)
    return raw


def booking(**kwargs: Any) -> Booking:
    return Booking.from_naver(naver_booking(**kwargs))


def record_for(
    b: Booking, *, confirm_sms: bool = False, remind_sms: bool = False, option_sms: bool = False, **extra: Any
) -> BookingRecord:
    """The booking's `sms` row with the given legacy flags and added attributes."""
    return BookingRecord(
        booking_num=b.booking_num,
        phone=b.phone,
        name=b.name,
        booking_time=b.booking_time,
        confirm_sms=confirm_sms,
        remind_sms=remind_sms,
        option_sms=option_sms,
        extra=extra,
    )


class RecordingSms:
    """An SmsService stand-in at the protocol: records sends; can be told to fail the next N sends."""

    live = False

    def __init__(self) -> None:
        self.sent: list[SmsMessage] = []
        self.failures: list[Exception] = []
        self.lookups: list[SmsMessage] = []

    def fail_next(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    def send(self, message: SmsMessage) -> SmsReceipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return SmsReceipt("sent", f"req-{len(self.sent)}", datetime.now(UTC))

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        self.lookups.append(message)
        for i, sent in enumerate(self.sent):
            if sent == message and f"req-{i + 1}" not in exclude:
                return SmsReceipt("sent", f"req-{i + 1}", datetime.now(UTC))
        return None


class RecordingChannel:
    """A Telegram/Slack stand-in at the protocol."""

    def __init__(self, channel: str, *, enabled: bool = True) -> None:
        self.channel = channel
        self.enabled = enabled
        self.messages: list[str] = []
        self.failures: list[Exception] = []

    def _send(self, text: str) -> ChannelReceipt:
        if not self.enabled:
            return ChannelReceipt(self.channel, "disabled")
        if self.failures:
            raise self.failures.pop(0)
        self.messages.append(text)
        return ChannelReceipt(self.channel, "sent")

    def send_message(self, text: str) -> ChannelReceipt:
        return self._send(text)

    def post_message(self, text: str) -> ChannelReceipt:
        return self._send(text)


def sens_down() -> DeliveryError:
    from naver_sms.errors import DeliveryUnavailable

    return DeliveryUnavailable("503 after 3 attempts", channel="sens", status_code=503)
