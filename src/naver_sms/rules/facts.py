"""What a condition sees: one booking, its row as read before the run, the decision time and the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from naver_sms.domain.booking import Booking, BookingRecord, Store
from naver_sms.flags.state import FlagState, read_flag


@dataclass(frozen=True, slots=True)
class Facts:
    booking: Booking
    record: BookingRecord | None  # None: not in the database
    now: datetime  # the decision time: Korean wall-clock time (aware)
    store: Store | None
    option_keywords: tuple[str, ...]
    #: the real time the record was read at: a claim is live or stale relative to it (default: `now`)
    read_at: datetime | None = None

    def flag(self, name: str) -> FlagState:
        return read_flag(self.record, name, self.read_at or self.now)
