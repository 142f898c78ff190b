"""Condition types: a pure `check` of the `Facts` with typed parameters, and what it looked at (`observe`, for
`plan --explain`). A new one is a `ConditionType` in `CONDITIONS`; the engine, `rules check` and the docs
test pick it up from there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from naver_sms.config.models import STATUS_PATTERN
from naver_sms.flags.state import CLAIM_SUFFIXES
from naver_sms.rules import changes, timing
from naver_sms.rules.condition_type import MAX_HOURS as MAX_HOURS
from naver_sms.rules.condition_type import MAX_OPTION_COUNT as MAX_OPTION_COUNT
from naver_sms.rules.condition_type import ConditionType as ConditionType
from naver_sms.rules.condition_type import NoParams as NoParams
from naver_sms.rules.condition_type import Params as Params
from naver_sms.rules.condition_type import not_a_bool
from naver_sms.rules.facts import Facts


def _flag_name(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError("a flag name is lower-case letters, digits and '_', starting with a letter")
    clash = next((s for s in CLAIM_SUFFIXES if name.endswith(s)), None)
    if clash:
        raise ValueError(f"a flag name cannot end in {clash!r}: the flag's own bookkeeping uses it")
    return name


#: The name of a boolean flag of the `sms` row (legacy: confirm_sms, remind_sms, option_sms).
FlagName = Annotated[str, AfterValidator(_flag_name)]


class TimeBeforeBookingParams(Params):
    hours: Annotated[float, BeforeValidator(not_a_bool), Field(gt=0, le=MAX_HOURS)]
    #: true: `reserve_at - hours <= now < reserve_at`; false: `0 < reserve_at - now < hours` (§3 uses both)
    inclusive: bool = False


class FlagParams(Params):
    flag: FlagName


class CurrentHourParams(Params):
    hour: int | list[int] = Field(description="an hour 0-23, or a list of hours")

    @model_validator(mode="before")
    @classmethod
    def _hours(cls, data: Any) -> Any:
        # one clear message for every wrong shape (a union would report each of its members), and no
        # YAML `true` taken for hour 1
        if isinstance(data, dict) and "hour" in data:
            value = data["hour"]
            hours = value if isinstance(value, list) else [value]
            if not hours or any(
                isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= 23 for h in hours
            ):
                raise ValueError("hour must be 0-23: an integer, or a non-empty list of integers")
        return data


class StatusParams(Params):
    status: str = Field(pattern=STATUS_PATTERN)


class StatusAnyParams(Params):
    statuses: list[str] = Field(min_length=1)


class KeywordsParams(Params):
    #: None: the option keywords of stores.yaml (legacy: 네이버, 인스타, 원본)
    keywords: list[str] | None = Field(default=None, min_length=1)


class MultipleOptionsParams(Params):
    keywords: list[str] = Field(min_length=1)
    min_count: Annotated[int, BeforeValidator(not_a_bool), Field(ge=1, le=MAX_OPTION_COUNT)] = 2


class StoreIdsParams(Params):
    store_ids: list[str] = Field(min_length=1)


class DateRangeParams(Params):
    #: inclusive days of the booking's start (Korean date)
    start: date
    end: date
    #: which date: the booking's day of use (`reserve_at`) or the day it was made (`regDateTime`)
    field: Literal["reserve_at", "registered_at"] = "reserve_at"

    @model_validator(mode="after")
    def _order(self) -> DateRangeParams:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


# --- the evaluators ------------------------------------------------------------------------------------------


def _in_db(f: Facts, _: NoParams) -> bool:
    # a request note (a row holding a rule's flags while the booking was only requested) is not the job's
    # row of the booking yet: its confirmation is still the new booking's (docs/rules/conditions.md)
    return f.record is not None and not f.record.request_note


def _not_in_db(f: Facts, _: NoParams) -> bool:
    return not _in_db(f, _)


def _seen_db(f: Facts, _: NoParams) -> Mapping[str, Any]:
    if f.record is not None and f.record.request_note:
        return {"in_db": False, "request_note": True}
    return {"in_db": f.record is not None}


def _before(f: Facts, p: TimeBeforeBookingParams) -> bool:
    left = f.booking.reserve_at - f.now
    window = timedelta(hours=p.hours)
    if p.inclusive:
        return timedelta(0) < left <= window
    return timedelta(0) < left < window


def _seen_before(f: Facts, p: TimeBeforeBookingParams) -> Mapping[str, Any]:
    left = f.booking.reserve_at - f.now
    return {
        "reserve_at": f.booking.reserve_at.strftime("%Y-%m-%d %H:%M"),
        "now": f.now.strftime("%Y-%m-%d %H:%M"),
        "minutes_left": int(left.total_seconds() // 60),
    }


def _flag_not_set(f: Facts, p: FlagParams) -> bool:
    return f.record is None or not f.record.flag(p.flag)  # the flag's value itself (its bookkeeping: f.flag)


def _flag_set(f: Facts, p: FlagParams) -> bool:
    return f.record is not None and f.record.flag(p.flag)


def _retry_due(f: Facts, p: FlagParams) -> bool:
    return f.record is not None and f.flag(p.flag).retry_due


def _seen_flag(f: Facts, p: FlagParams) -> Mapping[str, Any]:
    state = f.flag(p.flag)
    return {p.flag: state.status if f.record else "no record", "attempts": state.attempts or 0}


def _hour_in(f: Facts, p: CurrentHourParams) -> bool:
    return f.now.hour in (p.hour if isinstance(p.hour, list) else (p.hour,))


def _seen_hour(f: Facts, _: CurrentHourParams) -> Mapping[str, Any]:
    return {"hour": f.now.hour}


def _status(f: Facts, p: StatusParams) -> bool:
    return f.booking.status == p.status


def _status_any(f: Facts, p: StatusAnyParams) -> bool:
    return f.booking.status in p.statuses


def _seen_status(f: Facts, _: Params) -> Mapping[str, Any]:
    return {"status": f.booking.status}


def _keywords(f: Facts, p: KeywordsParams) -> tuple[str, ...]:
    return tuple(p.keywords) if p.keywords is not None else f.option_keywords


def _has_keyword(f: Facts, p: KeywordsParams) -> bool:
    return f.booking.has_option_keyword(_keywords(f, p))


def _seen_options(f: Facts, p: KeywordsParams | MultipleOptionsParams) -> Mapping[str, Any]:
    keywords = p.keywords if p.keywords is not None else f.option_keywords
    return {
        "options": [f"{o.name} x{o.count}" for o in f.booking.options],
        "matching_count": f.booking.option_keyword_count(keywords),
        "keywords": list(keywords),
    }


def _multiple(f: Facts, p: MultipleOptionsParams) -> bool:
    return f.booking.option_keyword_count(p.keywords) >= p.min_count


def _store(f: Facts, p: StoreIdsParams) -> bool:
    return f.booking.store_id in p.store_ids


def _seen_store(f: Facts, _: StoreIdsParams) -> Mapping[str, Any]:
    return {"store_id": f.booking.store_id}


def _date_of(f: Facts, p: DateRangeParams) -> date | None:
    if p.field == "reserve_at":
        return f.booking.reserve_at.date()
    return f.booking.registered_at.date() if f.booking.registered_at else None


def _in_range(f: Facts, p: DateRangeParams) -> bool:
    day = _date_of(f, p)
    return day is not None and p.start <= day <= p.end


def _seen_date(f: Facts, p: DateRangeParams) -> Mapping[str, Any]:
    day = _date_of(f, p)
    return {p.field: day.isoformat() if day else None}


CONDITIONS: tuple[ConditionType, ...] = (
    ConditionType(
        "booking_not_in_db",
        NoParams,
        _not_in_db,
        _seen_db,
        "the booking has no record in the `sms` table (a new booking)",
        only_without_row=True,
    ),
    ConditionType("booking_in_db", NoParams, _in_db, _seen_db, "the booking has a record in the `sms` table"),
    ConditionType(
        "time_before_booking",
        TimeBeforeBookingParams,
        _before,
        _seen_before,
        "the booking starts within `hours` from now (and has not started)",
    ),
    ConditionType(
        "flag_not_set",
        FlagParams,
        _flag_not_set,
        _seen_flag,
        "the record's flag is not true (no record counts as not set)",
    ),
    ConditionType("flag_set", FlagParams, _flag_set, _seen_flag, "the record's flag is true"),
    ConditionType(
        "flag_retry_due",
        FlagParams,
        _retry_due,
        _seen_flag,
        "an earlier send guarded by the flag failed or was interrupted, and may be retried",
    ),
    ConditionType(
        "current_hour",
        CurrentHourParams,
        _hour_in,
        _seen_hour,
        "the Korean wall-clock hour is `hour` (or one of a list)",
    ),
    ConditionType(
        "booking_status",
        StatusParams,
        _status,
        _seen_status,
        "the booking's status code is `status`",
        asks=lambda p: (p.status,),
    ),
    ConditionType(
        "booking_status_any",
        StatusAnyParams,
        _status_any,
        _seen_status,
        "the booking's status code is one of `statuses`",
        asks=lambda p: p.statuses,
    ),
    ConditionType(
        "has_option_keyword",
        KeywordsParams,
        _has_keyword,
        _seen_options,
        "an option name contains one of the keywords (default: stores.yaml option_keywords)",
    ),
    ConditionType(
        "has_multiple_options",
        MultipleOptionsParams,
        _multiple,
        _seen_options,
        "options whose names contain a keyword were chosen `min_count` times or more",
    ),
    ConditionType(
        "store_id_matches", StoreIdsParams, _store, _seen_store, "the booking belongs to one of `store_ids`"
    ),
    ConditionType(
        "date_range",
        DateRangeParams,
        _in_range,
        _seen_date,
        "the booking's day (of use, or of registration) is within `start`..`end`, inclusive",
    ),
    *timing.CONDITIONS,
    *changes.CONDITIONS,
)
