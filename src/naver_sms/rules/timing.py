"""Conditions of relative time: how long since the booking started, ended or was made, which day it is on
relative to today, and the time of day as a window (docs/rules/conditions.md, "Relative time").

Each is a window, never an instant: a run every 20 minutes that misses one (a deploy, a cold start, Naver
down) still finds the booking inside the window on the next run, and a flag keeps the send to one. A window
with an upper end (`at_most`) is what keeps the first run after a deploy from acting on old bookings ("not
older than N hours"). All of them read the run's decision time (`now`, Korean time; `--now` sets it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from naver_sms.domain.booking import Booking
from naver_sms.domain.daytime import DayWindow, parse_hhmm
from naver_sms.rules.condition_type import MAX_DAYS, MAX_HOURS, ConditionType, Params, not_a_bool
from naver_sms.rules.facts import Facts

_SCALE = {"hours": 1, "days": 24}


def _shown(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else None


# --- time since the booking started, ended, was made ---------------------------------------------------------


class SinceParams(Params):
    #: what `at_least` and `at_most` count (a day is 24 hours here; calendar days: `booking_day`)
    unit: Literal["hours", "days"] = "hours"
    at_least: Annotated[float, BeforeValidator(not_a_bool), Field(ge=0)] = 0
    #: the window's end, excluded: "not older than" (None: no end)
    at_most: Annotated[float, BeforeValidator(not_a_bool), Field(gt=0)] | None = None
    _low: timedelta = PrivateAttr()
    _high: timedelta | None = PrivateAttr()

    @field_validator("at_least", "at_most")
    @classmethod
    def _bounded(cls, value: float | None, info: ValidationInfo) -> float | None:
        unit = info.data.get("unit", "hours")
        if value is not None and value * _SCALE[unit] > MAX_HOURS:
            raise ValueError(f"at most {MAX_HOURS} hours ({MAX_HOURS // 24} days), got {value:g} {unit}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SinceParams:
        if self.at_most is not None and self.at_most <= self.at_least:
            raise ValueError("at_most must be more than at_least")
        hours = _SCALE[self.unit]
        self._low = timedelta(hours=self.at_least * hours)
        self._high = timedelta(hours=self.at_most * hours) if self.at_most is not None else None
        return self

    def holds(self, elapsed: timedelta) -> bool:
        return self._low <= elapsed and (self._high is None or elapsed < self._high)


def _since(anchor: Callable[[Booking], datetime | None]) -> Callable[[Facts, SinceParams], bool]:
    def check(f: Facts, p: SinceParams) -> bool:
        at = anchor(f.booking)
        return at is not None and p.holds(f.now - at)

    return check


def _seen_since(
    name: str, anchor: Callable[[Booking], datetime | None]
) -> Callable[[Facts, SinceParams], Mapping[str, Any]]:
    def observe(f: Facts, p: SinceParams) -> Mapping[str, Any]:
        at = anchor(f.booking)
        elapsed = (f.now - at).total_seconds() / 3600 / _SCALE[p.unit] if at is not None else None
        return {name: _shown(at), "now": _shown(f.now), f"{p.unit}_since": _round(elapsed)}

    return observe


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def _start(b: Booking) -> datetime | None:
    return b.reserve_at


def _end(b: Booking) -> datetime | None:
    return b.end_at


def _made(b: Booking) -> datetime | None:
    return b.registered_at


# --- the booking's day relative to today ---------------------------------------------------------------------

_NAMED_DAYS = {"yesterday": -1, "today": 0, "tomorrow": 1}


class BookingDayParams(Params):
    #: today | tomorrow | yesterday | N (in N days; -N: N days ago), or a list of them
    day: int | str | list[int | str]
    _offsets: frozenset[int] = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _days(cls, data: Any) -> Any:
        # one message for every wrong shape (a union would report each of its members)
        if isinstance(data, dict) and "day" in data:
            value = data["day"]
            days = value if isinstance(value, list) else [value]
            if not days or not all(_day_offset(d) is not None for d in days):
                raise ValueError(
                    f"day is today, tomorrow, yesterday or a whole number of days from -{MAX_DAYS} to "
                    f"{MAX_DAYS} (in N days; -N: N days ago), or a non-empty list of them; got {value!r}"
                )
        return data

    @model_validator(mode="after")
    def _normalised(self) -> BookingDayParams:
        days = self.day if isinstance(self.day, list) else [self.day]
        self._offsets = frozenset(d for d in (_day_offset(x) for x in days) if d is not None)
        return self

    def holds(self, offset: int) -> bool:
        return offset in self._offsets


def _day_offset(value: Any) -> int | None:
    if isinstance(value, str):
        return _NAMED_DAYS.get(value.strip().lower())
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_DAYS <= value <= MAX_DAYS:
        return value
    return None


def _offset(f: Facts) -> int:
    """Korean calendar days from today to the booking's day of use (0 today, 1 tomorrow, -1 yesterday)."""
    return (f.booking.reserve_at.date() - f.now.date()).days


def _on_day(f: Facts, p: BookingDayParams) -> bool:
    return p.holds(_offset(f))


def _seen_day(f: Facts, _: BookingDayParams) -> Mapping[str, Any]:
    return {
        "reserve_day": f.booking.reserve_at.date().isoformat(),
        "today": f.now.date().isoformat(),
        "day": _offset(f),
    }


# --- the time of day as a window -----------------------------------------------------------------------------


def _quoted_time(value: Any) -> Any:
    # YAML 1.1 reads an unquoted 10:00 as the sexagesimal number 600 (09:00, with its leading 0, stays text)
    if isinstance(value, int) and not isinstance(value, bool):
        shown = f'"{value // 60:02d}:{value % 60:02d}"' if 0 <= value < 24 * 60 else '"HH:MM"'
        raise ValueError(f"write the time in quotes, {shown}: unquoted, YAML reads it as the number {value}")
    if isinstance(value, str):
        parse_hhmm(value)
    return value


class WindowParams(Params):
    #: ["HH:MM", "HH:MM"]: from the first (included) until the second (excluded), Korean time; across
    #: midnight when the second is earlier ("21:00", "08:00")
    between: tuple[
        Annotated[str, BeforeValidator(_quoted_time)], Annotated[str, BeforeValidator(_quoted_time)]
    ]
    _window: DayWindow = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _two(cls, data: Any) -> Any:
        if isinstance(data, dict) and "between" in data:
            value = data["between"]
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError(f'between takes two times, ["HH:MM", "HH:MM"] (from, until), got {value!r}')
        return data

    @model_validator(mode="after")
    def _built(self) -> WindowParams:
        self._window = DayWindow(parse_hhmm(self.between[0]), parse_hhmm(self.between[1]))
        return self

    @property
    def window(self) -> DayWindow:
        return self._window


def _in_window(f: Facts, p: WindowParams) -> bool:
    return p.window.contains(f.now)


def _seen_time(f: Facts, p: WindowParams) -> Mapping[str, Any]:
    return {"time": f.now.strftime("%H:%M"), "window": p.window.describe()}


CONDITIONS: tuple[ConditionType, ...] = (
    ConditionType(
        "time_since_start",
        SinceParams,
        _since(_start),
        _seen_since("start", _start),
        "the booking started at least `at_least` and less than `at_most` hours (or days) ago",
    ),
    ConditionType(
        "time_since_end",
        SinceParams,
        _since(_end),
        _seen_since("end", _end),
        "the booking ended (snapshotJson.endDateTime) at least `at_least` and less than `at_most` hours ago",
    ),
    ConditionType(
        "time_since_booked",
        SinceParams,
        _since(_made),
        _seen_since("registered_at", _made),
        "the booking was made (regDateTime) at least `at_least` and less than `at_most` hours ago",
    ),
    ConditionType(
        "booking_day",
        BookingDayParams,
        _on_day,
        _seen_day,
        "the booking's day of use is today, tomorrow, yesterday or in N days (Korean calendar days)",
    ),
    ConditionType(
        "time_of_day",
        WindowParams,
        _in_window,
        _seen_time,
        "the run's Korean time of day is inside `between` (from included, until excluded)",
    ),
)
