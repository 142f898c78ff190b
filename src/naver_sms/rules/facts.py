"""What a condition sees: one booking, its record as loaded before the run, the clock and the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from naver_sms.domain.booking import Booking, BookingRecord, Store

__all__ = ["Facts"]


@dataclass(frozen=True, slots=True)
class Facts:
    booking: Booking
    record: BookingRecord | None  # None: not in the database
    now: datetime  # Korean wall-clock time (aware)
    store: Store | None
    option_keywords: tuple[str, ...]
    #: real time, for claims and leases (which live in real time even when `now` is set by --now)
    lease_now: datetime | None = None

    @property
    def lease_time(self) -> datetime:
        return self.lease_now or self.now
