"""Time is explicit: every decision uses Korean wall-clock time from an injectable clock.

The legacy job compared against the host clock (UTC on Lambda) - legacy-behaviour.md §7.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")

#: A clock is any callable returning an aware datetime.
Clock = Callable[[], datetime]


class SystemClock:
    """The real time, in Asia/Seoul."""

    def __call__(self) -> datetime:
        return datetime.now(KST)


@dataclass(frozen=True, slots=True)
class FixedClock:
    """A frozen clock for tests, `--now` and replays."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


class DateWithoutTime(ValueError):
    """A date given where a time is wanted (`2026-11-26`): never taken silently for midnight."""


def parse_kst(text: str) -> datetime:
    """`2026-11-26 18:40` (Korean wall-clock time) -> an aware datetime in Asia/Seoul.

    An explicit offset (`2026-11-26T09:40:00+00:00`) is honoured and converted. A date alone
    (`2026-11-26`) is refused (`DateWithoutTime`): it would silently mean midnight.
    """
    stripped = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stripped):
        raise DateWithoutTime(f"{stripped!r} is a date without a time: write {stripped + ' HH:MM'!r}")
    value = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=KST)
    return value.astimezone(KST)
