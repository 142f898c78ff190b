"""Conditions about a booking's changes (docs/rules/conditions.md, "Cancellations, requests and changes"):
cancelled (RC04), requested and left unconfirmed (RC02) for N hours, and a start time that moved since the
job wrote the booking's row (`booking_time`).

RC02 and RC04 bookings are fetched only when an enabled rule asks about them, and only the rules that ask see
them (`status_gate`): a rule about cancellations never makes another rule act on cancelled bookings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST
from naver_sms.domain.status import CANCELLED, ON_DEMAND, REQUESTED, RESCHEDULED_FROM
from naver_sms.rules.condition_type import MAX_HOURS, ConditionType, NoParams, Params, not_a_bool
from naver_sms.rules.facts import Facts


def stored_start(record: BookingRecord) -> datetime | None:
    """The start the row holds (`booking_time`, Korean time), or None when it holds none readable."""
    try:
        return (
            datetime.fromisoformat(record.booking_time).replace(tzinfo=KST) if record.booking_time else None
        )
    except ValueError:
        return None


def _cancelled(f: Facts, _: NoParams) -> bool:
    return f.booking.status == CANCELLED


def _seen_status(f: Facts, _: Any) -> Mapping[str, Any]:
    return {"status": f.booking.status, "in_db": f.record is not None and not f.record.request_note}


class UnconfirmedParams(Params):
    #: how long the request has waited for the store's confirmation, at least
    hours: Annotated[float, BeforeValidator(not_a_bool), Field(gt=0, le=MAX_HOURS)]


def _waited(f: Facts) -> float | None:
    made = f.booking.registered_at
    return (f.now - made).total_seconds() / 3600 if made is not None else None


def _unconfirmed(f: Facts, p: UnconfirmedParams) -> bool:
    waited = _waited(f)
    return f.booking.status == REQUESTED and waited is not None and waited >= p.hours


def _seen_unconfirmed(f: Facts, _: UnconfirmedParams) -> Mapping[str, Any]:
    waited = _waited(f)
    made = f.booking.registered_at
    return {
        "status": f.booking.status,
        "registered_at": made.strftime("%Y-%m-%d %H:%M") if made else None,
        "hours_waiting": round(waited, 2) if waited is not None else None,
    }


def _rescheduled(f: Facts, _: NoParams) -> bool:
    if f.record is None or f.record.request_note:
        return False
    stored = stored_start(f.record)
    return stored is not None and stored != f.booking.reserve_at


def _seen_rescheduled(f: Facts, _: NoParams) -> Mapping[str, Any]:
    record = f.record
    return {
        "booking_time": record.booking_time or None if record else None,
        "reserve_at": f.booking.booking_time,
        "rescheduled_from": record.extra.get(RESCHEDULED_FROM) if record else None,
    }


CONDITIONS: tuple[ConditionType, ...] = (
    ConditionType(
        "booking_cancelled",
        NoParams,
        _cancelled,
        _seen_status,
        "the booking is cancelled (RC04; fetched for the rules that ask)",
        asks=lambda _: (CANCELLED,),
    ),
    ConditionType(
        "booking_rescheduled",
        NoParams,
        _rescheduled,
        _seen_rescheduled,
        "the booking's start differs from the `booking_time` of its row (a change not recorded yet)",
    ),
    ConditionType(
        "request_unconfirmed",
        UnconfirmedParams,
        _unconfirmed,
        _seen_unconfirmed,
        "the booking is requested (RC02) and has waited `hours` or more for the store to confirm it",
        asks=lambda _: (REQUESTED,),
    ),
)


# --- which rules see the bookings fetched on demand ------------------------------------------------------------


class StatusGateParams(Params):
    #: the statuses fetched on demand that the rule asks about
    asks: tuple[str, ...] = ()


def _seen_by(f: Facts, p: StatusGateParams) -> bool:
    return f.booking.status not in ON_DEMAND or f.booking.status in p.asks


def _seen_gate(f: Facts, _: StatusGateParams) -> Mapping[str, Any]:
    return {"status": f.booking.status}


#: put before every rule's conditions by the compiler (it is no condition of the rules file): a booking of a
#: status fetched on demand (RC02, RC04) is seen only by the rules that ask about that status
STATUS_GATE = ConditionType(
    "asks_about_status",
    StatusGateParams,
    _seen_by,
    _seen_gate,
    "the rule asks about the booking's status, or the status is one every rule sees",
)


def on_demand(statuses: Iterable[str]) -> tuple[str, ...]:
    """The statuses of `statuses` that are fetched only on demand, in a stable order."""
    return tuple(s for s in ON_DEMAND if s in set(statuses))
