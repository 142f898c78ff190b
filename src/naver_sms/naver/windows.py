"""The queries a fetch asks of the partner API (external-apis.md §1): a status and, optionally, a date range.

Confirmed (RC03) is by default one undated query, as the legacy job asked (legacy-behaviour.md §1): it has no
forward horizon, so a booking made months ahead still gets its confirmation at once. Requested (RC02) and
cancelled (RC04) bookings are asked only when a rule asks about them, in one comma-list query after the
confirmed ones (a booking cancelled meanwhile is then seen as cancelled). Dated ranges are split
into windows of at most 31 calendar days in Korean time, each ending a second before the next day: the API
answers 422 to longer ranges, and whether it counts 31 days or calendar days is unconfirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from naver_sms.domain.clock import KST

CONFIRMED = "RC03"  # 예약 확정
COMPLETED = "RC08"  # 이용 완료
MAX_RANGE_DAYS = 31  # longer date ranges have been answered with HTTP 422 (external-apis.md §1)


@dataclass(frozen=True, slots=True)
class Window:
    """One query: a status and, optionally, a date range on the day of use (both ends inclusive)."""

    status: str
    start: datetime | None = None
    end: datetime | None = None

    def describe(self) -> str:
        if self.start is None or self.end is None:
            return f"{self.status} (all dates)"
        return f"{self.status} {self.start.astimezone(KST):%Y-%m-%d}..{self.end.astimezone(KST):%Y-%m-%d}"


def format_api_time(moment: datetime) -> str:
    """An aware datetime as the API wants it: UTC `YYYY-MM-DDTHH:MM:SS.000Z`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass Korean time with tzinfo=KST")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(KST).replace(hour=0, minute=0, second=0, microsecond=0)


def split_range(
    start: datetime, end: datetime, *, max_days: int = MAX_RANGE_DAYS
) -> list[tuple[datetime, datetime]]:
    """Windows covering `[start, end]` within `max_days` calendar days of Korean time each, with neither overlap
    nor gap at the second (bookings start on whole minutes)."""
    if end < start:
        return []
    windows = []
    cursor = start.astimezone(KST)
    end = end.astimezone(KST).replace(microsecond=0)
    while cursor <= end:
        # Korea has no daylight saving time: adding days to a KST midnight gives a KST midnight
        next_start = _day_start(cursor) + timedelta(days=max_days)
        windows.append((cursor, min(next_start - timedelta(seconds=1), end)))
        cursor = next_start
    return windows


def confirmed_windows(now: datetime, horizon_days: int | None = None) -> list[Window]:
    """RC03 from today 00:00 KST on: one undated query (legacy), or dated windows up to the horizon."""
    if horizon_days is None:
        return [Window(CONFIRMED)]
    today = _day_start(now)
    end = today + timedelta(days=horizon_days) - timedelta(seconds=1)
    return [Window(CONFIRMED, s, e) for s, e in split_range(today, end)]


def changes_windows(now: datetime, statuses: Sequence[str], window_days: int) -> list[Window]:
    """The on-demand statuses (RC02, RC04) in one comma-list query per window: `[today 00:00 KST, today +
    window_days)` on the day of use. No statuses, no window."""
    if not statuses:
        return []
    today = _day_start(now)
    end = today + timedelta(days=window_days) - timedelta(seconds=1)
    return [Window(",".join(statuses), s, e) for s, e in split_range(today, end)]


def completed_windows(now: datetime, window_days: int) -> list[Window]:
    """RC08 in `[today - window_days at 00:00 KST, now]`."""
    start = _day_start(now) - timedelta(days=window_days)
    return [Window(COMPLETED, s, e) for s, e in split_range(start, now)]
