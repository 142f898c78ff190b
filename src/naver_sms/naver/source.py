"""One booking source interface, for the live Naver client and the sandbox's JSON files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from naver_sms.domain.booking import Booking, BookingError, Store

__all__ = ["BookingSource", "FetchResult"]


@dataclass(slots=True)
class FetchResult:
    """Bookings of one fetch. Malformed bookings and failing stores are reported, never fatal."""

    bookings: list[Booking] = field(default_factory=list)
    skipped: list[BookingError] = field(default_factory=list)
    failed_stores: dict[str, str] = field(default_factory=dict)  # store id -> what went wrong
    requests: int = 0  # HTTP requests made (0 for files)


@runtime_checkable
class BookingSource(Protocol):
    #: Shown by the CLI: "naver (live)" or "files: examples/bookings".
    description: str

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        """Confirmed (RC03) bookings from today on and completed (RC08) bookings of the recent window,
        for every store given. `now` is Korean wall-clock time."""
        ...
