"""The one walk of the flag state machine around a side effect: a customer's SMS (`deliver_once`), a message
to the owner about one booking or a digest (`send_telegram`, `send_slack`), an SMS whose text cannot be built.
Claims and leases live in real time, whatever the decision clock says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from naver_sms.domain.booking import BookingRecord
from naver_sms.errors import ClaimLost, FlagAlreadyDone, FlagClaimed, FlagFailedForGood, NaverSmsError
from naver_sms.flags.machine import Claim, FlagRepository, Seen
from naver_sms.flags.store import RecordKey

log = logging.getLogger("naver_sms.flags")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """The effect happened: what it returned, when, and the provider's id of it (None: there is none)."""

    value: T
    at: datetime
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class NotTried(Generic[T]):
    """Nothing went out and nothing was tried (the channel is off): no attempt is counted."""

    value: T
    reason: str


KeyStatus = Literal["done", "reconciled", "skipped", "refused", "uncommitted", "deferred"]


@dataclass(frozen=True, slots=True)
class KeyOutcome:
    """What became of one key (see `guarded_effect`); uncommitted: the effect happened but the flag could not
    be set (after the lease, the key is resolved or done again); deferred: not claimed, the run's deadline is
    near (the next run decides again)."""

    key: RecordKey
    status: KeyStatus
    attempt: int = 0
    request_id: str | None = None
    error: Exception | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Guarded(Generic[T]):
    """What one guarded effect did: whether `act` ran and what it returned, and each key's outcome in order."""

    acted: bool
    value: T | None
    not_tried: bool
    outcomes: tuple[KeyOutcome, ...]


def is_permanent(exc: BaseException | None) -> bool:
    """Whether no retry can fix `exc`: it, or an error it was raised from, is `permanent` (naver_sms.errors)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if getattr(exc, "permanent", False) is True:
            return True
        seen.add(id(exc))
        exc = exc.__cause__
    return False


def describe(exc: BaseException) -> str:
    """An error as a flag's `last_error` keeps it: our own errors name their channel already."""
    return str(exc) if isinstance(exc, NaverSmsError) else f"{type(exc).__name__}: {exc}"


def guarded_effect(
    repo: FlagRepository,
    keys: Sequence[RecordKey],
    flag: str,
    act: Callable[[tuple[Claim, ...]], Done[T] | NotTried[T]],
    *,
    run_id: str,
    now: datetime,
    lease: timedelta,
    info: Mapping[str, Any] | None = None,
    resolve: Callable[[Claim], Done[Any] | None] | None = None,
    keep_claims_on: tuple[type[BaseException], ...] = (),
    seen: Mapping[RecordKey, Seen] | None = None,
    create: Mapping[RecordKey, BookingRecord] | None = None,
    cutoff: datetime | None = None,
    local: bool = False,
) -> Guarded[T]:
    """Do `act` at most once per key and flag, at real time `now`:

    1. claim every key: done or held live elsewhere -> skipped; failed for good, no row, the store -> refused
       (that key only);
    2. a claim over a stale one is resolved when `resolve` can tell whether the effect happened: it did ->
       commit (reconciled); cannot tell -> abandon (the next run asks again); it did not -> the stale attempt
       counts. Without `resolve` the effect is done again (at least once: messages to the owner);
    3. `act` once for the claims left: `Done` -> commit; `NotTried` (the channel is off) -> release without
       counting; one of `keep_claims_on` raised (sent, no answer) -> claims kept for the next run's step 2,
       never a blind repeat; anything else raised -> release (attempts + 1) and re-raise.

    `seen`: the rows as the run's batch read saw them (the claims read nothing first); `create`: the rows of
    keys that had none, created with their claims. `cutoff`: no claim starts after it (the run's deadline less
    its margin) - those keys are `deferred`. `local`: the act is local and instant (the sandbox's outbox), so
    it and the commits form one transaction where the store can. An act that raises `ClaimLost` (the claim ran
    out before the effect: another run holds it now) leaves the claims to that run: those keys are `skipped`."""
    outcomes: dict[RecordKey, KeyOutcome] = {}
    claims: list[Claim] = []
    for key in dict.fromkeys(keys):
        if cutoff is not None and now > cutoff:
            outcomes[key] = KeyOutcome(key, "deferred", detail="the run's deadline is near: the next run")
            continue
        try:
            claim = repo.claim(
                key,
                flag,
                run_id=run_id,
                now=now,
                lease=lease,
                info=info,
                seen=(seen or {}).get(key),
                create=(create or {}).get(key),
            )
        except (FlagAlreadyDone, FlagClaimed) as exc:
            outcomes[key] = KeyOutcome(key, "skipped", error=exc, detail=str(exc))
            continue
        except Exception as exc:  # failed for good, no row, the store: this key only
            outcomes[key] = KeyOutcome(key, "refused", error=exc)
            continue
        if claim.stale is not None and resolve is not None:
            settled = _resolve(repo, claim, resolve)
            if settled is not None:
                outcomes[key] = settled
                continue
        claims.append(claim)
    value: T | None = None
    not_tried = False
    if claims:
        held = tuple(claims)

        def act_and_commit() -> Done[T] | NotTried[T]:
            result = act(held)
            if isinstance(result, Done):
                for claim in held:
                    outcomes[claim.key] = _commit(repo, claim, result, "done")
            return result

        try:
            result = repo.atomic(act_and_commit) if local else act_and_commit()
        except keep_claims_on:
            raise  # the outcome is unknown: after their lease, the next run resolves the claims
        except ClaimLost as exc:  # the claims ran out before the act: another run holds them now
            for claim in held:
                outcomes[claim.key] = KeyOutcome(
                    claim.key, "skipped", claim.attempt, error=exc, detail=str(exc)
                )
            return Guarded(
                False, None, False, tuple(outcomes[k] for k in dict.fromkeys(keys) if k in outcomes)
            )
        except Exception as exc:  # nothing went out (or a bug): never leave live claims behind
            # an error that says nothing was tried that could succeed (credentials refused) counts no attempt
            _release(
                repo,
                held,
                error=describe(exc),
                count=getattr(exc, "counts_attempt", True),
                permanent=is_permanent(exc),
            )
            raise
        value = result.value
        if isinstance(result, NotTried):
            not_tried = True
            _release(repo, held, error=result.reason, count=False)
    return Guarded(
        bool(claims), value, not_tried, tuple(outcomes[k] for k in dict.fromkeys(keys) if k in outcomes)
    )


def _resolve(
    repo: FlagRepository, claim: Claim, resolve: Callable[[Claim], Done[Any] | None]
) -> KeyOutcome | None:
    """Did the crashed run's effect happen? The key's outcome if settled; None to act now."""
    assert claim.stale is not None
    try:
        found = resolve(claim)
    except Exception as exc:
        # cannot tell whether it happened: put the stale claim back for the next run's look-up - releasing it
        # would let the next run act without asking, and that effect might be the second
        try:
            repo.abandon(claim, error=f"look-up of stale claim failed: {exc}")
        except Exception:  # the claim stays stale; the next run takes it over and asks again
            log.warning(
                "could not put back the stale claim on %s %s", claim.key[0], claim.flag, exc_info=True
            )
        return KeyOutcome(claim.key, "refused", claim.attempt, error=exc)
    if found is not None:
        detail = f"sent by run {claim.stale.run_id}, found through the provider's look-up"
        return _commit(repo, claim, found, "reconciled", detail)
    if claim.attempt > repo.max_attempts:  # it may have happened already; the bound says: no more
        error = "attempts exhausted; the last one ended with no answer"
        _release(repo, (claim,), error=error, count=False)
        gone = FlagFailedForGood(
            f"{claim.attempt - 1} attempts, the last with no answer from the provider",
            key=claim.key,
            flag=claim.flag,
        )
        return KeyOutcome(claim.key, "refused", claim.attempt, error=gone)
    return None


def _commit(
    repo: FlagRepository, claim: Claim, done: Done[Any], status: KeyStatus, detail: str = ""
) -> KeyOutcome:
    try:
        repo.commit(claim, request_id=done.request_id, sent_at=done.at)
    except Exception as exc:  # done, but not marked: after the lease, the key is resolved or done again
        return KeyOutcome(claim.key, "uncommitted", claim.attempt, done.request_id, exc)
    return KeyOutcome(claim.key, status, claim.attempt, done.request_id, detail=detail)


def _release(
    repo: FlagRepository, claims: Sequence[Claim], *, error: str, count: bool = True, permanent: bool = False
) -> None:
    for claim in claims:
        try:
            repo.release(claim, error=error, count_attempt=count, permanent=permanent)
        except Exception:  # the claim expires after its lease; the next run takes it over
            log.warning("could not release the claim on %s %s", claim.key[0], claim.flag, exc_info=True)
