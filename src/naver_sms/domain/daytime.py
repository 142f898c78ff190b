"""Windows of the day in Korean wall-clock time: `09:00-10:00`, or across midnight `21:00-08:00`.

A window is half-open - its start belongs to it, its end does not - so two windows that meet (`08:00-09:00`,
`09:00-10:00`) never both hold, and a run at exactly the end is already outside. Korea has no daylight saving
time: every day has each minute once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from naver_sms.domain.clock import KST

_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def parse_hhmm(text: str) -> time:
    """`"09:00"` -> 09:00; anything else is a `ValueError` saying what is expected."""
    found = _HHMM.fullmatch(text.strip())
    if found is None:
        raise ValueError(f'expected a time "HH:MM" from "00:00" to "23:59", got {text!r}')
    return time(int(found.group(1)), int(found.group(2)))


@dataclass(frozen=True, slots=True)
class DayWindow:
    """From `start` (included) until `end` (excluded), every day; across midnight when `end` < `start`."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a window of the day needs two different times (from and until)")

    @property
    def wraps(self) -> bool:
        return self.end < self.start

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` (any zone; read in Korean time) lies inside the window."""
        now = moment.astimezone(KST).time().replace(tzinfo=None)
        if self.wraps:
            return now >= self.start or now < self.end
        return self.start <= now < self.end

    def end_after(self, moment: datetime) -> datetime:
        """The first end of the window after `moment`: when a wait that began at `moment` is over."""
        local = moment.astimezone(KST)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"
