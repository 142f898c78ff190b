"""Quiet hours: windows of the day in which a rule does nothing, and waits (docs/rules/rules-config.md,
"Quiet hours").

A rule is quiet in its own `quiet_hours`, and - by law - a rule that sends an advertising SMS (`contentType:
AD`) is quiet from 21:00 until 08:00 Korean time (정보통신망법 §50: no advertising at night without the
recipient's separate consent). A quiet rule that matches is *held*: none of its actions run - no row is
written, no flag claimed, nothing sent - and the run reports it as held until the window ends; the first
run after that decides again. Waiting is chosen over a reservation (SENS `reserveTime` at 08:00): a reserved
SMS would be committed as sent at night and still go out if the booking is cancelled before 08:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from naver_sms.domain.clock import KST
from naver_sms.domain.daytime import DayWindow

#: no advertising SMS from 21:00 until 08:00 Korean time (정보통신망법 §50)
AD_QUIET = DayWindow(time(21, 0), time(8, 0))


@dataclass(frozen=True, slots=True)
class Hold:
    """A matched rule that waits: for which booking (None: a digest), until when, and why."""

    rule: str
    booking_num: str | None
    until: datetime
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "booking_num": self.booking_num,
            "until": self.until.strftime("%Y-%m-%d %H:%M"),
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class Quiet:
    """The quiet windows of one rule, each with the reason a hold gives."""

    windows: tuple[tuple[DayWindow, str], ...]

    def covers_the_whole_day(self) -> bool:
        """True when no minute of the day is outside every window (the rule could never act)."""
        minutes = (datetime(2026, 1, 1, m // 60, m % 60, tzinfo=KST) for m in range(24 * 60))
        return all(any(w.contains(at) for w, _ in self.windows) for at in minutes)

    def held(self, rule: str, booking_num: str | None, now: datetime) -> Hold | None:
        """The hold of a match at `now`, or None when no window holds it. With windows that overlap or
        meet, the hold lasts until the first minute outside all of them."""
        inside = [(w, why) for w, why in self.windows if w.contains(now)]
        if not inside:
            return None
        until = now
        for _ in range(len(self.windows) + 1):
            holding = [w for w, _ in self.windows if w.contains(until)]
            if not holding:
                break
            until = max(w.end_after(until) for w in holding)
        return Hold(rule, booking_num, until, "; ".join(why for _, why in inside))
