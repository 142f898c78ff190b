"""Periods in Korean time: what "once per day", "once per week" or "every day from 09:00" means.

A period spec is written in the configuration (`once_per:` of a digest rule, `at:` of the daily report):

    day          each Korean calendar day, from 00:00              key 2026-11-26
    week         each week from Monday 00:00 (ISO weeks)           key 2026-W48
    "09:00"      each day from 09:00 to the next day's 09:00       key 2026-11-26T09:00
    "mon 09:00"  each week from Monday 09:00                       key 2026-11-23T09:00
    "0 9 * * 1-5"  a cron expression (minute hour day month weekday), Korean time: each period runs from one
                 of its times to the next                           key 2026-11-26T09:00

A period is the span from its start (the latest time of the spec at or before now) to the next one. Its key
names it in the state store: whatever run comes first in a period - also after missed runs - claims that key
(`naver_sms.flags.periods`), so overlapping runs act once per period. Cron expressions are read by `cronsim`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from cronsim import CronSim, CronSimError

from naver_sms.domain.clock import KST

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

#: a search for the start of a period never looks back further than this (a cron that fires once a year)
_MAX_PERIOD = timedelta(days=400)


class PeriodError(ValueError):
    """A period spec that cannot be read; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class Period:
    """One period: its key, and the span [start, end) in Korean time."""

    key: str
    start: datetime
    end: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.start <= at.astimezone(KST) < self.end


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    """A parsed period spec (see the module's docstring): its text as written, and its cron expression."""

    text: str
    cron: str
    #: how its keys look: "day" (a date), "week" (an ISO week) or "time" (the start, to the minute)
    keys: str

    @classmethod
    def parse(cls, text: object) -> PeriodSpec:
        if not isinstance(text, str) or not text.strip():
            raise PeriodError(_accepted(f"a period is text, got {text!r}"))
        raw = " ".join(text.strip().split())
        lowered = raw.lower()
        if lowered == "day":
            return cls(raw, "0 0 * * *", "day")
        if lowered == "week":
            return cls(raw, "0 0 * * MON", "week")
        parts = lowered.split(" ")
        if len(parts) == 1 and (m := _HHMM.match(parts[0])):
            return cls(raw, f"{int(m[2])} {int(m[1])} * * *", "time")
        if len(parts) == 2 and parts[0][:3] in _DAYS and (m := _HHMM.match(parts[1])):
            day = parts[0][:3].upper()
            return cls(raw, f"{int(m[2])} {int(m[1])} * * {day}", "time")
        if len(parts) == 5:
            cron = raw.upper()
            try:
                next(CronSim(cron, datetime(2026, 1, 1, tzinfo=KST)))
            except (CronSimError, StopIteration) as exc:
                raise PeriodError(_accepted(f"not a cron expression: {raw!r} ({exc})")) from None
            return cls(raw, cron, "time")
        raise PeriodError(_accepted(f"not a period: {raw!r}"))

    def period_at(self, at: datetime) -> Period:
        """The period that `at` (any zone) falls in."""
        now = at.astimezone(KST).replace(second=0, microsecond=0)
        # cronsim's reverse iteration starts strictly before its time: a second later includes `now` itself
        start = next(CronSim(self.cron, now + timedelta(seconds=1), reverse=True), None)
        if start is None or now - start > _MAX_PERIOD:
            raise PeriodError(f"{self.text!r} has no time in the last {_MAX_PERIOD.days} days")
        end = next(CronSim(self.cron, start))
        return Period(self._key(start), start, end)

    def _key(self, start: datetime) -> str:
        if self.keys == "day":
            return f"{start:%Y-%m-%d}"
        if self.keys == "week":
            year, week, _ = start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{start:%Y-%m-%dT%H:%M}"


def _accepted(problem: str) -> str:
    return (
        f'{problem}: use day, week, a time of day ("09:00"), a weekday and a time ("mon 09:00") or a '
        'cron expression in Korean time ("0 9 * * 1-5")'
    )
