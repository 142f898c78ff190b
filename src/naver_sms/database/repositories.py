"""The booking and session repositories: one state machine, backends with a few primitives.

The life of one flag of one record (product.md, "Exactly-once side effects"):

    open --claim--> claimed --commit--> done
                       |  \\--release--> open (attempts + 1)  or  failed (attempts reached the bound)
                       \\--lease expires--> stale --claim (takeover)--> claimed, with ``Claim.stale`` set:
                                            the caller resolves it through the SMS provider's look-up
                                            before sending again.

Everything here is written once. A backend (SQLite, DynamoDB) implements only the `RecordStore`
primitives: a batched read, create-if-absent, and one atomic conditional update. Every transition is
exactly one conditional update, so two runs racing on one flag get one winner on any backend whose
conditional writes are atomic.

Attributes the project adds to a row, per flag ``F`` (the legacy boolean ``F`` keeps its name and type):

    F_claim_run    run id holding the claim          F_attempts     failed attempts so far (int)
    F_claim_until  lease expiry, epoch seconds (int)  F_last_error   the last failure, as text
    F_claim_at     claim time, ISO 8601               F_failed       true once attempts reached the bound
    F_claim_info   JSON: what the claim will send     F_request_id   the provider's id of the send
    F_attempt      the attempt number of the claim    F_sent_at      time of the send, ISO 8601
    F_lookups      look-ups of a stale claim that could not tell whether it was sent (int)
    F_reset_at     an operator's reset after the flag failed for good, ISO 8601 (makes it due for a retry)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST
from naver_sms.errors import (
    ClaimLost,
    FlagAlreadyDone,
    FlagClaimed,
    FlagFailedForGood,
    RecordMissing,
    RecordReadError,
)

__all__ = [
    "CLAIM_SUFFIXES",
    "LOGIN_PAUSE_ID",
    "UNREADABLE_ROW",
    "Absent",
    "AbsentOrLt",
    "BookingRepository",
    "Claim",
    "Eq",
    "Expect",
    "FlagRepository",
    "LoadResult",
    "LoginPause",
    "Lt",
    "NotTrue",
    "RecordKey",
    "RecordStore",
    "SessionRepository",
    "StaleClaim",
    "matches",
]

RecordKey = tuple[str, str]  # (booking_num, phone)

#: the `session` table's item that pauses browser logins (beside legacy's item "1", the cookies)
LOGIN_PAUSE_ID = "login_pause"

#: how a store's read error starts when the row itself is damaged (the store answered): a problem of that
#: booking, never of the store as a whole
UNREADABLE_ROW = "unreadable row"

CLAIM_SUFFIXES = (
    "_claim_run",
    "_claim_until",
    "_claim_at",
    "_claim_info",
    "_attempt",
    "_attempts",
    "_last_error",
    "_failed",
    "_request_id",
    "_sent_at",
    "_lookups",
    "_reset_at",
)


# --- conditions of a conditional update -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Absent:
    """The attribute does not exist."""


@dataclass(frozen=True, slots=True)
class Eq:
    """The attribute exists and equals `value`."""

    value: Any


@dataclass(frozen=True, slots=True)
class NotTrue:
    """The attribute is absent or anything but boolean true (DynamoDB: `attribute_not_exists OR <> true`)."""


@dataclass(frozen=True, slots=True)
class Lt:
    """The attribute exists and is a number below `value`."""

    value: int


@dataclass(frozen=True, slots=True)
class AbsentOrLt:
    """The attribute is absent, or a number below `value` (DynamoDB: `attribute_not_exists OR <`)."""

    value: int


Expect = Absent | Eq | NotTrue | Lt | AbsentOrLt


def matches(item: Mapping[str, Any], expect: Mapping[str, Expect]) -> bool:
    """Evaluate conditions against an item in Python (for stores that check inside a transaction)."""
    for name, cond in expect.items():
        present = name in item
        value = item.get(name)
        if isinstance(cond, Absent):
            ok = not present
        elif isinstance(cond, Eq):
            ok = present and value == cond.value and type(value) is type(cond.value)
        elif isinstance(cond, NotTrue):
            ok = value is not True
        else:
            below = isinstance(value, int | float) and not isinstance(value, bool) and value < cond.value
            ok = (present and below) or (isinstance(cond, AbsentOrLt) and not present)
        if not ok:
            return False
    return True


# --- what a backend implements ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Records of one batched read. A key in `errors` could not be read: skip that booking."""

    records: Mapping[RecordKey, BookingRecord]
    errors: Mapping[RecordKey, str] = field(default_factory=dict)
    read_calls: int = 0


@runtime_checkable
class RecordStore(Protocol):
    """The storage primitives of the `sms` table. Third-party errors are translated to `RepositoryError`."""

    def get_items(
        self, keys: Sequence[RecordKey]
    ) -> tuple[dict[RecordKey, dict[str, Any]], dict[RecordKey, str], int]:
        """Batched, strongly consistent read: (items found, read errors by key, number of read calls)."""
        ...

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        """Insert the item unless a row with its key exists. True when inserted."""
        ...

    def update_if(
        self,
        key: RecordKey,
        *,
        expect: Mapping[str, Expect],
        set_: Mapping[str, Any],
        remove: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        """One atomic conditional update of an existing row: when the row exists and every condition holds,
        set and remove the attributes and return the new item; otherwise change nothing and return None.
        Raises `RecordMissing` when the row does not exist."""
        ...

    def scan_items(self, limit: int | None = None) -> Iterable[dict[str, Any]]:
        """Every row (for `history` and operator tools - never on the run's hot path)."""
        ...


@dataclass(frozen=True, slots=True)
class LoginPause:
    """Scheduled runs start no browser login before `until`: Naver blocked the last one (`reason`).

    Every blocked attempt with the password makes Naver's next answer harder (a captcha, then a lock), so
    after one the runs wait for a person (`naver-sms login --interactive`) or for the pause to end."""

    since: datetime
    until: datetime
    reason: str

    def to_json(self) -> str:
        return json.dumps(
            {"since": self.since.isoformat(), "until": self.until.isoformat(), "reason": self.reason},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> LoginPause | None:
        """None for anything unreadable: a damaged marker must not stop logins for good. A time written
        without a zone (by hand) is Korean time."""
        try:
            raw = json.loads(text)
            since, until = (datetime.fromisoformat(raw[k]) for k in ("since", "until"))
            return cls(
                since=since if since.tzinfo else since.replace(tzinfo=KST),
                until=until if until.tzinfo else until.replace(tzinfo=KST),
                reason=str(raw["reason"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


@runtime_checkable
class SessionRepository(Protocol):
    """The `session` table: item `id = "1"`, `cookies` = JSON string of the browser's cookie list; and the
    item `id = "login_pause"` while browser logins are paused."""

    def load_cookies(self) -> list[dict[str, Any]] | None: ...

    def save_cookies(self, cookies: Sequence[Mapping[str, Any]]) -> None: ...

    def clear_cookies(self) -> None: ...

    def load_login_pause(self) -> LoginPause | None: ...

    def save_login_pause(self, pause: LoginPause) -> None: ...

    def clear_login_pause(self) -> None: ...


# --- the state machine --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaleClaim:
    """A claim whose lease ran out: its run crashed or hung, possibly after sending."""

    run_id: str
    claimed_at: datetime | None
    lease_until: datetime
    attempt: int
    info: Mapping[str, Any]  # what the claim recorded before sending: to, from, template, ...


@dataclass(frozen=True, slots=True)
class Claim:
    """A live claim held by `run_id`. When `stale` is set, this claim took over an expired one and the
    caller must find out whether that one's message went out before sending again."""

    key: RecordKey
    flag: str
    run_id: str
    attempt: int
    claimed_at: datetime
    lease_until: datetime
    stale: StaleClaim | None = None
    lookups: int = 0  # look-ups of stale claims that could not tell, so far


#: what a live claim holds; commit and release remove all of it
_CLAIM_ATTRS = ("_claim_run", "_claim_until", "_claim_at", "_claim_info", "_attempt")


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _attr(flag: str, suffix: str) -> str:
    return f"{flag}{suffix}"


class FlagRepository:
    """The booking repository for every backend: reads, creates, and the flag state machine.

    Subclasses provide the `RecordStore` primitives (or pass a store to the constructor).
    """

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

    def records(self, limit: int | None = None) -> list[BookingRecord]:
        return [BookingRecord.from_item(i) for i in self.store.scan_items(limit)]

    # plain flag writes (update_flag without a preceding send)

    def set_flag(self, key: RecordKey, flag: str, value: bool, *, now: datetime | None = None) -> bool:
        """Set a boolean flag. True when it changed; False when it already had that value (idempotent).

        Setting true is also refused (False) while a run holds a live claim on the flag - that run's send
        decides, by committing or releasing - and when the flag failed for good (an operator's reset
        decides). A stale claim (its run died) is cleared: nothing is left to send once the flag is true."""
        if not value:  # a flag opened again by a rule starts afresh: no earlier failures make it "due"
            history = [_attr(flag, s) for s in ("_attempts", "_last_error", "_reset_at")]
            return (
                self.store.update_if(key, expect={flag: Eq(True)}, set_={flag: False}, remove=history)
                is not None
            )
        at = now if now is not None else datetime.now(KST)
        expect: dict[str, Expect] = {
            flag: NotTrue(),
            _attr(flag, "_failed"): NotTrue(),
            _attr(flag, "_claim_until"): AbsentOrLt(_epoch(at) + 1),
        }
        remove = [_attr(flag, s) for s in _CLAIM_ATTRS]
        return self.store.update_if(key, expect=expect, set_={flag: True}, remove=remove) is not None

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
    ) -> Claim:
        """Claim an open flag, or take over a stale claim. One conditional write; one winner.

        Raises FlagAlreadyDone, FlagClaimed (a live claim of another run), FlagFailedForGood, RecordMissing.
        """
        items, errors, _ = self.store.get_items([key])
        if key in errors:
            raise RecordReadError(errors[key])
        item = items.get(key)
        if item is None:
            raise RecordMissing(f"{key[0]}: no record to claim {flag} on")
        self._refuse_unless_open(key, flag, item, now)
        lease_until = now + lease
        token = uuid.uuid4().hex  # tells our own write apart from anyone else's, should a retry replay it
        attempts = int(item.get(_attr(flag, "_attempts"), 0))
        set_ = {
            _attr(flag, "_claim_run"): run_id,
            _attr(flag, "_claim_until"): _epoch(lease_until),
            _attr(flag, "_claim_at"): now.isoformat(),
            _attr(flag, "_claim_info"): json.dumps(
                {**(info or {}), "token": token}, ensure_ascii=False, sort_keys=True
            ),
        }
        previous_run = item.get(_attr(flag, "_claim_run"))
        expect: dict[str, Expect] = {flag: NotTrue(), _attr(flag, "_failed"): NotTrue()}
        stale: StaleClaim | None = None
        if previous_run is None:
            expect[_attr(flag, "_claim_run")] = Absent()
        else:  # take over an expired claim: it must still be that claim, and still expired
            expect[_attr(flag, "_claim_run")] = Eq(previous_run)
            expect[_attr(flag, "_claim_until")] = Lt(_epoch(now) + 1)
            stale = _stale_from(item, flag)
            # the stale claim's send may have happened: it counts, so a send that keeps ending with no
            # answer stops at the bound like one that keeps failing
            attempts = max(attempts, stale.attempt)
        attempt = attempts + 1
        set_[_attr(flag, "_attempt")] = attempt
        lookups = int(item.get(_attr(flag, "_lookups"), 0))
        if self.store.update_if(key, expect=expect, set_=set_) is None:
            items, _, _ = self.store.get_items([key])
            current = items.get(key, item)
            if current.get(_attr(flag, "_claim_info")) == set_[_attr(flag, "_claim_info")]:
                # our own write landed, and a transport retry of it then found its condition false
                return Claim(key, flag, run_id, attempt, now, lease_until, stale, lookups)
            # someone else moved first: report what they did
            self._refuse_unless_open(key, flag, current, now)
            raise FlagClaimed("claimed by another run meanwhile", key=key, flag=flag)
        return Claim(key, flag, run_id, attempt, now, lease_until, stale, lookups)

    def commit(self, claim: Claim, *, request_id: str | None, sent_at: datetime) -> None:
        """The send succeeded: flag true, with the provider's id and time. Only the claim's holder can."""
        set_: dict[str, Any] = {claim.flag: True, _attr(claim.flag, "_sent_at"): sent_at.isoformat()}
        if request_id:
            set_[_attr(claim.flag, "_request_id")] = request_id
        remove = [_attr(claim.flag, s) for s in (*_CLAIM_ATTRS, "_reset_at")]
        self._as_holder(claim, "commit", set_, remove=remove)

    def release(self, claim: Claim, *, error: str, count_attempt: bool = True) -> bool:
        """The send failed: back to open with attempts + 1, or to failed when the bound is reached.

        Returns True when the flag is now failed for good. `count_attempt=False` releases without
        counting (the send was never tried, e.g. the provider look-up itself was unavailable)."""
        attempts = claim.attempt if count_attempt else claim.attempt - 1
        failed = attempts >= self.max_attempts
        set_: dict[str, Any] = {
            _attr(claim.flag, "_attempts"): attempts,
            _attr(claim.flag, "_last_error"): error[:1000],
        }
        if failed:
            set_[_attr(claim.flag, "_failed")] = True
        self._as_holder(claim, "release", set_, remove=[_attr(claim.flag, s) for s in _CLAIM_ATTRS])
        return failed

    def abandon(self, claim: Claim, *, error: str) -> bool:
        """A stale claim's look-up could not tell whether its message went out: put that claim back as it
        was, expired, so the next run asks again - never a send that might be the second. After
        `max_attempts` look-ups that could not tell, the flag fails for good (an operator decides).
        Returns True when it failed for good."""
        stale = claim.stale
        if stale is None:
            raise ValueError("abandon() is for a claim that took over a stale one")
        lookups = claim.lookups + 1
        failed = lookups >= self.max_attempts
        set_: dict[str, Any] = {
            _attr(claim.flag, "_claim_run"): stale.run_id,
            _attr(claim.flag, "_claim_until"): _epoch(stale.lease_until),
            _attr(claim.flag, "_claim_info"): json.dumps(
                dict(stale.info), ensure_ascii=False, sort_keys=True
            ),
            _attr(claim.flag, "_attempt"): stale.attempt,
            _attr(claim.flag, "_lookups"): lookups,
            _attr(claim.flag, "_last_error"): error[:1000],
        }
        if stale.claimed_at is not None:
            set_[_attr(claim.flag, "_claim_at")] = stale.claimed_at.isoformat()
        if failed:
            set_[_attr(claim.flag, "_failed")] = True
        self._as_holder(claim, "abandon", set_)
        return failed

    def _as_holder(
        self, claim: Claim, what: str, set_: Mapping[str, Any], remove: Sequence[str] = ()
    ) -> None:
        """One conditional write that only the claim's holder can make; anyone else gets `ClaimLost`."""
        done = self.store.update_if(
            claim.key, expect={_attr(claim.flag, "_claim_run"): Eq(claim.run_id)}, set_=set_, remove=remove
        )
        if done is None:
            raise ClaimLost(
                f"{what} by a run that does not hold the claim",
                key=claim.key,
                flag=claim.flag,
                run_id=claim.run_id,
            )

    def reset(self, key: RecordKey, flag: str, *, now: datetime | None = None) -> bool:
        """An operator's reset of a flag that failed for good: open again, attempts cleared, and the time of
        the reset recorded (`<flag>_reset_at`), which makes the flag due for a retry (`flag_retry_due`)."""
        at = now if now is not None else datetime.now(KST)
        return (
            self.store.update_if(
                key,
                expect={_attr(flag, "_failed"): Eq(True)},
                set_={_attr(flag, "_attempts"): 0, _attr(flag, "_reset_at"): at.isoformat()},
                remove=[_attr(flag, "_failed"), _attr(flag, "_last_error"), _attr(flag, "_lookups")],
            )
            is not None
        )

    @staticmethod
    def flag_state(record: BookingRecord | None, flag: str, now: datetime) -> str:
        """open | claimed | stale | done | failed - for reports, `plan` and conditions."""
        return "open" if record is None else _state_of(record.to_item(), flag, now)

    def _refuse_unless_open(self, key: RecordKey, flag: str, item: Mapping[str, Any], now: datetime) -> None:
        state = _state_of(item, flag, now)
        if state == "done":
            raise FlagAlreadyDone("already set", key=key, flag=flag)
        if state == "failed":
            raise FlagFailedForGood(
                f"failed {item.get(_attr(flag, '_attempts'))} times: {item.get(_attr(flag, '_last_error'), '')}",
                key=key,
                flag=flag,
                last_error=item.get(_attr(flag, "_last_error")),
            )
        if state == "claimed":
            run = item.get(_attr(flag, "_claim_run"))
            raise FlagClaimed(f"claimed by run {run}", key=key, flag=flag, run_id=run)


def _state_of(item: Mapping[str, Any], flag: str, now: datetime) -> str:
    """The state of `flag` in a row (the table of product.md): done, failed, claimed, stale or open."""
    if item.get(flag) is True:
        return "done"
    if item.get(_attr(flag, "_failed")) is True:
        return "failed"
    if _attr(flag, "_claim_run") in item:
        until = item.get(_attr(flag, "_claim_until"), 0)
        return "claimed" if isinstance(until, int | float) and until > _epoch(now) else "stale"
    return "open"


def _stale_from(item: Mapping[str, Any], flag: str) -> StaleClaim:
    raw_info = item.get(_attr(flag, "_claim_info"), "{}")
    try:
        info = json.loads(raw_info) if isinstance(raw_info, str) else {}
    except ValueError:
        info = {}
    info.pop("token", None)
    at = item.get(_attr(flag, "_claim_at"))
    return StaleClaim(
        run_id=str(item.get(_attr(flag, "_claim_run"))),
        claimed_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        lease_until=datetime.fromtimestamp(int(item.get(_attr(flag, "_claim_until"), 0)), KST),
        attempt=int(item.get(_attr(flag, "_attempt"), 1)),
        info=info,
    )


@runtime_checkable
class BookingRepository(Protocol):
    """What the engine and the executors use. `FlagRepository` implements it for every backend."""

    max_attempts: int

    def load(self, keys: Sequence[RecordKey]) -> LoadResult: ...

    def get(self, key: RecordKey) -> BookingRecord | None: ...

    def create(self, record: BookingRecord) -> bool: ...

    def records(self, limit: int | None = None) -> list[BookingRecord]: ...

    def set_flag(self, key: RecordKey, flag: str, value: bool, *, now: datetime | None = None) -> bool: ...

    def claim(
        self,
        key: RecordKey,
        flag: str,
        *,
        run_id: str,
        now: datetime,
        lease: timedelta,
        info: Mapping[str, Any] | None = None,
    ) -> Claim: ...

    def commit(self, claim: Claim, *, request_id: str | None, sent_at: datetime) -> None: ...

    def release(self, claim: Claim, *, error: str, count_attempt: bool = True) -> bool: ...

    def abandon(self, claim: Claim, *, error: str) -> bool: ...

    def reset(self, key: RecordKey, flag: str, *, now: datetime | None = None) -> bool: ...
