"""The period claim: an effect done once per period (a digest rule's `once_per`, the owner's daily report).

A period is a row of its own - key `("period:<name>", "<period key>")` in the state store's period table
(docs/database.md, "Periods and runs") - with one flag, `posted`, walked through the same state machine and
the same guarded effect as a booking's SMS: the first run of the period claims it, acts, and commits; an
overlapping run finds it claimed (or done) and does nothing; a failed act releases it with the attempt counted,
so a later run of the same period tries again, until the attempts reach the bound (then it is reported,
failed for good, until the period ends: the next period has a key of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from naver_sms.domain.period import Period
from naver_sms.flags.effect import Done, Guarded, NotTried, guarded_effect
from naver_sms.flags.machine import Claim, FlagRepository
from naver_sms.flags.state import FlagState, read_flag
from naver_sms.flags.store import RecordKey

T = TypeVar("T")

#: the one flag of a period row
PERIOD_FLAG = "posted"
_PREFIX = "period:"


def period_key(name: str, period: Period) -> RecordKey:
    return (f"{_PREFIX}{name}", period.key)


def period_state(repo: FlagRepository, name: str, period: Period, at: datetime) -> FlagState:
    """The state of the period's flag at real time `at` (open when the period has no row yet)."""
    return read_flag(repo.get(period_key(name, period)), PERIOD_FLAG, at)


def once_in_period(
    repo: FlagRepository,
    name: str,
    period: Period,
    act: Callable[[tuple[Claim, ...]], Done[T] | NotTried[T]],
    *,
    run_id: str,
    now: datetime,
    lease: timedelta,
    info: Mapping[str, Any] | None = None,
) -> Guarded[T]:
    """Do `act` at most once in `period` for `name` (the guarded effect on the period's row); `now` is real
    time. The outcome of the one key says what happened (done, skipped: done already or another run holds it,
    refused: failed for good). Raises what `act` raises, after releasing the claim (the attempt counted)."""
    key = period_key(name, period)
    repo.store.put_if_absent(
        {
            "booking_num": key[0],
            "phone": key[1],
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
        }
    )
    return guarded_effect(
        repo,
        [key],
        PERIOD_FLAG,
        act,
        run_id=run_id,
        now=now,
        lease=lease,
        info={"period": period.key, **(info or {})},
    )
