"""The transitions of the flag state machine (its diagram: naver_sms.flags), one conditional update each."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import SystemClock
from naver_sms.domain.status import NOTED_AS, REQUESTED, RESCHEDULED_AT, RESCHEDULED_FROM
from naver_sms.errors import (
    ClaimLost,
    FlagAlreadyDone,
    FlagClaimed,
    FlagFailedForGood,
    RecordMissing,
    RecordReadError,
)
from naver_sms.flags.state import FlagAttrs, FlagState, FlagStatus, HeldClaim, read_flag
from naver_sms.flags.store import (
    Absent,
    AbsentOrLt,
    Eq,
    Expect,
    LoadResult,
    Lt,
    NotTrue,
    RecordKey,
    RecordStore,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Claim:
    """A live claim held by `run_id`. When `stale` is set, this claim took over an expired one and the
    caller must find out whether that one's effect happened before acting again."""

    key: RecordKey
    flag: str
    run_id: str
    attempt: int
    claimed_at: datetime
    lease_until: datetime
    stale: HeldClaim | None = None
    lookups: int = 0  # look-ups of stale claims that could not tell, so far
    #: what the claim recorded (no token): the commit keeps it as the flag's `sent_info`
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Seen:
    """A row as the run's batch read saw it (`row` None: there was none). A claim builds its write's
    conditions from it instead of reading the row first."""

    row: BookingRecord | Mapping[str, Any] | None


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


class FlagRepository:
    """The booking repository of every backend: reads, creates and the flag transitions over its store."""

    def __init__(self, store: RecordStore, *, max_attempts: int = 3) -> None:
        self.store = store
        self.max_attempts = max_attempts

    # reads and creates

    def load(self, keys: Sequence[RecordKey]) -> LoadResult:
        unique = list(dict.fromkeys(keys))
        items, errors, calls = self.store.get_items(unique)
        return LoadResult(
            records={k: BookingRecord.from_item(v) for k, v in items.items()}, errors=errors, read_calls=calls
        )

    def get(self, key: RecordKey) -> BookingRecord | None:
        result = self.load([key])
        if key in result.errors:
            raise RecordReadError(result.errors[key])
        return result.records.get(key)

    def create(self, record: BookingRecord) -> bool:
        """Insert the record unless it exists (legacy put_item, made conditional). True when inserted."""
        return self.store.put_if_absent(record.to_item())

    def adopt(self, record: BookingRecord) -> bool:
        """The row of a booking confirmed after it was noted as requested (`BookingRecord.request_note`): its
        name and time as now, the note's mark removed - from now on the job handles the booking like any
        other; the flags the note held stay. True when adopted (False: no note, or adopted meanwhile)."""
        set_ = {"name": record.name, "booking_time": record.booking_time}
        expect: dict[str, Expect] = {NOTED_AS: Eq(REQUESTED)}
        return self.store.update_if(record.key, expect=expect, set_=set_, remove=[NOTED_AS]) is not None

    def records(self, limit: int | None = None) -> list[BookingRecord]:
        return [BookingRecord.from_item(i) for i in self.store.scan_items(limit)]

    def atomic(self, work: Callable[[], T]) -> T:
        return self.store.atomic(work)  # one transaction where the backend can (`RecordStore.atomic`)

    def _write(
        self,
        key: RecordKey,
        expect: Mapping[str, Expect],
        set_: Mapping[str, Any],
        remove: Sequence[str] = (),
        **o: Any,
    ) -> bool:
        """One conditional write of a transition: True when it held and was made (nothing asked back)."""
        return (
            self.store.update_if(key, expect=expect, set_=set_, remove=remove, returning=False, **o)
            is not None
        )

    # plain flag writes (update_flag without a preceding send)

    def set_flag(
        self,
        key: RecordKey,
        flag: str,
        value: bool,
        *,
        now: datetime | None = None,
        create: BookingRecord | None = None,
    ) -> bool:
        """Set a boolean flag at real time `now`; True when it changed (idempotent). With `create`, a missing
        row is created with the flag set, in the same write. Setting true is refused while a run holds a live
        claim (its send decides) or the flag failed for good (an operator decides); a stale claim is cleared:
        nothing is left to send once the flag is true."""
        names = FlagAttrs.of(flag)
        if not value:  # a flag opened again by a rule starts afresh: no earlier failures make it "due"
            history = [names.attempts, names.last_error, names.reset_at]
            return self._write(key, {flag: Eq(True)}, {flag: False}, history)
        expect: dict[str, Expect] = {
            flag: NotTrue(),
            names.failed: NotTrue(),
            names.claim_until: AbsentOrLt(_epoch(now or SystemClock()()) + 1),
        }
        row = create.to_item() if create is not None else None
        return self._write(key, expect, {flag: True}, names.claim, create=row)

    def suppress(self, key: RecordKey, flag: str, *, reason: str, now: datetime) -> bool:
        """A send decided against for good (the number refused advertising): the flag true, with the reason in
        `<flag>_suppressed`, so no later run tries it again. Refused (False) when the flag is done or failed
        already, or while a run holds a live claim on it (that run's send decides)."""
        names = FlagAttrs.of(flag)
        expect: dict[str, Expect] = {
            flag: NotTrue(),
            names.failed: NotTrue(),
            names.claim_until: AbsentOrLt(_epoch(now) + 1),
        }
        set_ = {flag: True, names.suppressed: reason[:1000]}
        return self.store.update_if(key, expect=expect, set_=set_, remove=names.claim) is not None

    def reschedule(
        self, key: RecordKey, *, old_time: str, new_time: str, now: datetime, reopen: Sequence[str] = ()
    ) -> bool:
        """Record that the booking's start moved: `booking_time` from `old_time` to `new_time` (the legacy
        attribute keeps its meaning), `rescheduled_from` and `rescheduled_at`; and reopen the flags of
        `reopen` - each done before - so that their sends follow the new time, once each.

        One conditional write, so it happens once whichever run notices first. Refused (False) when the row's
        `booking_time` is no longer `old_time` (recorded meanwhile) or a flag of `reopen` is not done any more."""
        expect: dict[str, Expect] = {"booking_time": Eq(old_time)}
        set_: dict[str, Any] = {
            "booking_time": new_time,
            RESCHEDULED_FROM: old_time,
            RESCHEDULED_AT: now.isoformat(),
        }
        remove: list[str] = []
        for flag in reopen:
            names = FlagAttrs.of(flag)
            expect[flag] = Eq(True)
            set_[flag] = False
            # a fresh start, as update_flag(value: false) gives; the request id stays: a look-up never takes
            # the SMS of the old time for the new one
            remove += [names.attempts, names.last_error, names.reset_at, names.suppressed]
        return self.store.update_if(key, expect=expect, set_=set_, remove=remove) is not None

    # the claim protocol

    def claim(
        self,
        key: RecordKey,
        flag: str,
        *,
        run_id: str,
        now: datetime,
        lease: timedelta,
        info: Mapping[str, Any] | None = None,
        seen: Seen | None = None,
        create: BookingRecord | None = None,
    ) -> Claim:
        """Claim an open flag, or take over a stale claim, at real time `now`: one conditional write, one
        winner. Raises FlagAlreadyDone, FlagClaimed, FlagFailedForGood, RecordMissing (no row, no `create`).
        `seen`: the row as the run's batch read saw it, the write's conditions built from it, nothing read first
        (without it: open, never tried). A failed condition reads the row once and says why - or, the flag still
        open or stale, tries once more on it. `create`: a missing row is created with the claim (one write)."""
        names = FlagAttrs.of(flag)
        token = uuid.uuid4().hex  # tells our own write apart from anyone else's, should a retry replay it
        info_text = json.dumps({**(info or {}), "token": token}, ensure_ascii=False, sort_keys=True)
        row = create.to_item() if create is not None else None
        state = read_flag(seen.row if seen is not None else None, flag, now)
        if seen is not None and seen.row is not None and state.status in ("done", "failed"):
            # refused as seen, but an action of this run may have reopened it since: what is there decides
            state = self._current(key, flag, now) or state
        for tries_left in (1, 0):
            _refuse_unless_open(key, state)
            claim, expect, set_ = _claim_write(
                key, names, state, run_id, now, lease, info_text, tries_left > 0
            )
            claim = replace(claim, info=dict(info or {}))  # the commit keeps it as `sent_info`
            if tries_left and row is not None and seen is not None and seen.row is None:
                # no row when the run read it: the row and its claim put at once (nothing to evaluate)
                if self.store.put_if_absent({**row, **set_}):
                    return claim
            elif self._write(key, expect, set_, create=row):
                return claim
            items, errors, _ = self.store.get_items([key])  # the failure path only: why did it not hold?
            if key in errors:
                raise RecordReadError(errors[key])
            if key not in items:
                raise RecordMissing(f"{key[0]}: no record to claim {flag} on")
            current = read_flag(items[key], flag, now)
            if current.claim is not None and current.claim.info_text == info_text:
                # our own write landed, and a transport retry of it then found its condition false
                return claim
            if tries_left and current.status in ("open", "stale"):
                state = current  # the row was not as assumed (or seen): once more, with what is there
                continue
            _refuse_unless_open(key, current)  # someone else moved first: report what they did
            raise FlagClaimed("claimed by another run meanwhile", key=key, flag=flag)
        raise AssertionError("unreachable")  # pragma: no cover

    def _current(self, key: RecordKey, flag: str, now: datetime) -> FlagState | None:
        items, errors, _ = self.store.get_items([key])
        if key in errors:
            raise RecordReadError(errors[key])
        return read_flag(items[key], flag, now) if key in items else None

    def renew(self, claim: Claim, *, now: datetime, lease: timedelta) -> Claim:
        """Extend a claim's lease from `now` - only while it is still this run's and still the lease it was
        given (a run that comes back from a pause first renews; docs/database.md). Raises `ClaimLost`
        when another run took it over meanwhile."""
        names = FlagAttrs.of(claim.flag)
        until = now + lease
        expect = {names.claim_run: Eq(claim.run_id), names.claim_until: Eq(_epoch(claim.lease_until))}
        if not self._write(claim.key, expect, {names.claim_until: _epoch(until)}):
            raise ClaimLost(
                "the lease ran out and another run took the claim over",
                key=claim.key,
                flag=claim.flag,
                run_id=claim.run_id,
            )
        return replace(claim, lease_until=until)

    def commit(self, claim: Claim, *, request_id: str | None, sent_at: datetime) -> None:
        """The effect happened: flag true, with the provider's id and time. Only the claim's holder can."""
        names = FlagAttrs.of(claim.flag)
        set_: dict[str, Any] = {claim.flag: True, names.sent_at: sent_at.isoformat()}
        if request_id:
            set_[names.request_id] = request_id
        # lazy on SQLite: lost on a power failure, the claim (durable before the send) is stale after its lease
        # and the provider's look-up finds the SMS - never a second send (docs/database.md)
        if claim.info:  # what went out (history, status): rides on this write, no write of its own
            set_[names.sent_info] = json.dumps(dict(claim.info), ensure_ascii=False, sort_keys=True)
        self._as_holder(claim, "commit", set_, remove=(*names.claim, names.reset_at), durable=False)

    def release(
        self, claim: Claim, *, error: str, count_attempt: bool = True, permanent: bool = False
    ) -> bool:
        """The effect failed: open with attempts + 1 (+ 0: never tried), or failed (True) at the bound or
        at once when `permanent` (no retry can fix it)."""
        names, attempts = FlagAttrs.of(claim.flag), claim.attempt - (0 if count_attempt else 1)
        failed = permanent or attempts >= self.max_attempts
        set_: dict[str, Any] = {names.attempts: attempts, names.last_error: error[:1000]}
        if failed:
            set_ |= {names.failed: True, **({names.permanent: True} if permanent else {})}
        self._as_holder(claim, "release", set_, remove=names.claim)
        return failed

    def abandon(self, claim: Claim, *, error: str) -> bool:
        """A stale claim that could not be resolved is put back as it was, expired, so the next run asks
        again - never an effect that might be the second; after `max_attempts` such look-ups the flag fails
        for good (returns True then)."""
        stale = claim.stale
        if stale is None:
            raise ValueError("abandon() is for a claim that took over a stale one")
        names = FlagAttrs.of(claim.flag)
        lookups = claim.lookups + 1
        failed = lookups >= self.max_attempts
        set_: dict[str, Any] = {
            names.claim_run: stale.run_id,
            names.claim_until: _epoch(stale.lease_until),
            names.claim_info: json.dumps(dict(stale.info), ensure_ascii=False, sort_keys=True),
            names.attempt: stale.attempt,
            names.lookups: lookups,
            names.last_error: error[:1000],
        }
        if stale.claimed_at is not None:
            set_[names.claim_at] = stale.claimed_at.isoformat()
        if failed:
            set_[names.failed] = True
        self._as_holder(claim, "abandon", set_)
        return failed

    def _as_holder(
        self,
        claim: Claim,
        what: str,
        set_: Mapping[str, Any],
        remove: Sequence[str] = (),
        durable: bool = True,
    ) -> None:
        """One conditional write that only the claim's holder can make; anyone else gets `ClaimLost`."""
        holder = {FlagAttrs.of(claim.flag).claim_run: Eq(claim.run_id)}
        if not self._write(claim.key, holder, set_, remove, durable=durable):
            raise ClaimLost(
                f"{what} by a run that does not hold the claim",
                key=claim.key,
                flag=claim.flag,
                run_id=claim.run_id,
            )

    def reset(self, key: RecordKey, flag: str, *, now: datetime | None = None) -> bool:
        """An operator's reset of a flag that failed for good: open, attempts cleared, `<flag>_reset_at`
        recorded (which makes it due for a retry: `flag_retry_due`)."""
        names = FlagAttrs.of(flag)
        return self._write(
            key,
            {names.failed: Eq(True)},
            {names.attempts: 0, names.reset_at: (now or SystemClock()()).isoformat()},
            [names.failed, names.last_error, names.lookups, names.permanent],
        )

    @staticmethod
    def flag_state(record: BookingRecord | None, flag: str, now: datetime) -> FlagStatus:
        return read_flag(record, flag, now).status


def _refuse_unless_open(key: RecordKey, state: FlagState) -> None:
    if state.status == "done":
        raise FlagAlreadyDone("already set", key=key, flag=state.flag)
    if state.status == "failed":
        message = f"failed {state.attempts} times: {state.last_error or ''}"
        raise FlagFailedForGood(
            message, key=key, flag=state.flag, last_error=state.last_error, permanent=state.permanent
        )
    if state.status == "claimed":
        run = state.claim.run_id if state.claim else None
        raise FlagClaimed(f"claimed by run {run}", key=key, flag=state.flag, run_id=run)


def _claim_write(
    key: RecordKey,
    names: FlagAttrs,
    state: FlagState,
    run_id: str,
    now: datetime,
    lease: timedelta,
    info_text: str,
    pin_attempts: bool,
) -> tuple[Claim, dict[str, Expect], dict[str, Any]]:
    """The claim of a flag in `state` (open or stale): the claim, and the conditions and values of its
    write. The conditions pin what the state was built from - no claim, or the very stale claim, and the
    attempts counted (`pin_attempts`; the retry after a failed write pins them no more, should the stored
    count be unreadable) - so a write that holds never claims on a state other than the one it assumed."""
    flag = names.flag
    lease_until = now + lease
    set_: dict[str, Any] = {
        names.claim_run: run_id,
        names.claim_until: _epoch(lease_until),
        names.claim_at: now.isoformat(),
        names.claim_info: info_text,
    }
    attempts = state.attempts or 0
    expect: dict[str, Expect] = {flag: NotTrue(), names.failed: NotTrue()}
    if pin_attempts:
        expect[names.attempts] = Absent() if state.attempts is None else Eq(state.attempts)
    stale = state.claim
    if stale is None:
        expect[names.claim_run] = Absent()
    else:  # take over an expired claim: it must still be that claim, and still expired
        expect[names.claim_run] = Eq(stale.run_id)
        expect[names.claim_until] = Lt(_epoch(now) + 1)
        # the stale claim's send may have happened: it counts, so a send that keeps ending with no
        # answer stops at the bound like one that keeps failing
        attempts = max(attempts, stale.attempt)
    attempt = attempts + 1
    set_[names.attempt] = attempt
    return Claim(key, flag, run_id, attempt, now, lease_until, stale, state.lookups), expect, set_
