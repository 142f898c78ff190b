"""What the rows say about the sends: what went out, what waits for a retry, what failed for good.

Read from `FlagState`s (`naver_sms.flags.state`), for `naver-sms history` and for the run report, which lists
every flag failed for good on every run until an operator resets it (product.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from naver_sms.domain.booking import BookingRecord
from naver_sms.flags.state import FlagState, flags_on, read_flag

__all__ = ["FlagLedger", "SentFlag", "WaitingFlag", "failed_for_good", "ledger"]


@dataclass(frozen=True, slots=True)
class SentFlag:
    """A flag whose effect went out: when, and the provider's id of it."""

    booking_num: str
    phone: str
    flag: str
    sent_at: str
    request_id: str | None


@dataclass(frozen=True, slots=True)
class WaitingFlag:
    """A flag with failed attempts that is not done: waiting for a retry, or failed for good."""

    booking_num: str
    phone: str
    flag: str
    attempts: int
    last_error: str | None
    failed: bool


@dataclass(slots=True)
class FlagLedger:
    sent: list[SentFlag] = field(default_factory=list)
    retrying: list[WaitingFlag] = field(default_factory=list)
    failed: list[WaitingFlag] = field(default_factory=list)


def ledger(records: Iterable[BookingRecord], at: datetime) -> FlagLedger:
    """Every row's flags classified (`at`: the real time claims are judged live or stale at). Sent flags of a
    row in flag order; waiting ones in the order the row holds them."""
    book = FlagLedger()
    for record in records:
        states = [read_flag(record, flag, at) for flag in flags_on(record)]
        for state in sorted(states, key=lambda s: s.flag):
            if state.sent_at is not None:
                book.sent.append(
                    SentFlag(record.booking_num, record.phone, state.flag, state.sent_at, state.request_id)
                )
        for state in states:
            if state.waiting:
                entry = WaitingFlag(
                    record.booking_num,
                    record.phone,
                    state.flag,
                    state.attempts or 0,
                    state.last_error,
                    state.status == "failed",
                )
                (book.failed if entry.failed else book.retrying).append(entry)
    return book


def failed_for_good(record: BookingRecord, at: datetime) -> list[FlagState]:
    """The flags of a row that failed for good (attempts reached the bound, not done): an operator resets
    them with `naver-sms db reset`."""
    states = (read_flag(record, flag, at) for flag in flags_on(record))
    return [s for s in states if s.status == "failed" and s.attempts is not None]
