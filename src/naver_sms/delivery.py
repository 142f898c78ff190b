"""Exactly-once delivery of one SMS guarded by one flag: claim, (resolve), send, commit or release.

This is the one place that walks the flag state machine of `database.repositories` around a send
(product.md, "Exactly-once side effects"):

1. *claim* the flag (one conditional write). Done already, or held live by another run -> skip.
2. If the claim took over a *stale* one (its run crashed or hung), ask the SMS provider whether that
   message went out (`SmsService.find_sent`). If it did -> *commit* with the provider's id, no resend.
   If the provider cannot tell -> *abandon*: the stale claim is put back for the next run to ask again
   (bounded). If it did not -> the stale attempt counts, and past the bound the flag fails for good.
3. *send*. Accepted -> *commit* with the provider's id and time.
   Refused or unavailable -> *release* (attempts + 1; failed for good at the bound) and re-raise.
   Outcome unknown (sent, no answer) -> keep the claim: when its lease runs out the next run resolves it
   through step 2 - never a blind resend.

The look-up window is wall-clock time (the provider's clock), not the run's decision clock, which tests and
`--now` may set anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from naver_sms.database.repositories import BookingRepository, Claim, RecordKey
from naver_sms.errors import DeliveryError, FlagAlreadyDone, FlagClaimed, FlagFailedForGood, OutcomeUnknown
from naver_sms.notifications.protocols import LOOKUP_MARGIN, SmsMessage, SmsService

__all__ = ["DeliveryOutcome", "deliver_once"]

OutcomeStatus = Literal["sent", "outbox", "disabled", "reconciled", "already_done", "claimed_elsewhere"]


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    status: OutcomeStatus
    request_id: str | None = None
    attempt: int = 0
    detail: str = ""

    @property
    def delivered_now(self) -> bool:
        """True when this call made the message go out (or into the outbox)."""
        return self.status in ("sent", "outbox")


def _wall_now() -> datetime:
    return datetime.now(UTC)


def deliver_once(
    *,
    repo: BookingRepository,
    sms: SmsService,
    message: SmsMessage,
    key: RecordKey,
    flag: str,
    run_id: str,
    now: datetime,
    lease: timedelta,
    info: Mapping[str, Any] | None = None,
    wall_clock: Callable[[], datetime] = _wall_now,
    exclude_request_ids: Collection[str] = (),
) -> DeliveryOutcome:
    """Send `message` unless `flag` of record `key` says it went out; set the flag when it does.

    Raises the `DeliveryError` of a failed send (after releasing the claim), `OutcomeUnknown` (claim kept),
    `FlagFailedForGood`, `RecordMissing`, `RepositoryError`.
    """
    claim_info = {
        "to": message.to,
        "from": message.sender,
        "type": message.type,
        "wall_at": wall_clock().isoformat(),
        **(info or {}),
    }
    try:
        claim = repo.claim(key, flag, run_id=run_id, now=now, lease=lease, info=claim_info)
    except FlagAlreadyDone:
        return DeliveryOutcome("already_done", detail=f"{flag} already set")
    except FlagClaimed as exc:
        return DeliveryOutcome("claimed_elsewhere", detail=str(exc))

    if claim.stale is not None:
        found = _resolve_stale(repo, sms, message, claim, wall_clock, exclude_request_ids)
        if found is not None:
            return found
        if claim.attempt > repo.max_attempts:  # it may have gone out already; the bound says: no more
            repo.release(
                claim, error="attempts exhausted; the last one ended with no answer", count_attempt=False
            )
            raise FlagFailedForGood(
                f"{claim.attempt - 1} attempts, the last with no answer from the provider",
                key=claim.key,
                flag=claim.flag,
            )

    try:
        receipt = sms.send(message)
    except OutcomeUnknown:
        raise  # the claim stays; after its lease the next run resolves it through the look-up
    except DeliveryError as exc:
        repo.release(claim, error=str(exc))
        raise
    except Exception as exc:  # a bug or an unexpected library error: never leave a live claim behind
        repo.release(claim, error=f"{type(exc).__name__}: {exc}")
        raise
    repo.commit(claim, request_id=receipt.request_id, sent_at=receipt.accepted_at)
    return DeliveryOutcome(receipt.status, request_id=receipt.request_id, attempt=claim.attempt)


def _resolve_stale(
    repo: BookingRepository,
    sms: SmsService,
    message: SmsMessage,
    claim: Claim,
    wall_clock: Callable[[], datetime],
    exclude: Collection[str],
) -> DeliveryOutcome | None:
    """Did the crashed run's message go out? Commit it if so (returns the outcome); None to send now."""
    assert claim.stale is not None
    raw = claim.stale.info.get("wall_at")
    try:
        since = datetime.fromisoformat(raw) if isinstance(raw, str) else wall_clock() - timedelta(days=1)
    except ValueError:
        since = wall_clock() - timedelta(days=1)
    try:
        found = sms.find_sent(
            message, since=since - LOOKUP_MARGIN, until=wall_clock() + LOOKUP_MARGIN, exclude=exclude
        )
    except DeliveryError as exc:
        # cannot tell whether it went out: put the stale claim back for the next run's look-up - releasing it
        # would let the next run send without asking, and that send might be the second
        repo.abandon(claim, error=f"look-up of stale claim failed: {exc}")
        raise
    if found is None:
        return None
    repo.commit(claim, request_id=found.request_id, sent_at=found.accepted_at)
    return DeliveryOutcome(
        "reconciled",
        request_id=found.request_id,
        attempt=claim.attempt,
        detail=f"sent by run {claim.stale.run_id}, found through the provider's look-up",
    )
