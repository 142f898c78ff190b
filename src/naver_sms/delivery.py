"""A customer's SMS, exactly once per flag: the guarded effect, a stale claim resolved by the provider's look-up
around the stale claim's real time (`wall_at`), and a send with no answer (`OutcomeUnknown`) keeping its claim.
The look-up window is real time (the provider's clock), never the decision clock that `--now` may set. Right
before each request of a send (SENS: `GuardedSmsService`) the claim must hold for one more send (`send_margin`):
renewed when it does not; taken over meanwhile (this run was paused past its lease) -> nothing is sent (issue 9,
item 2; the window that is left: docs/database.md).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import Clock
from naver_sms.errors import ClaimLost, FlagAlreadyDone, OutcomeUnknown
from naver_sms.flags.effect import Done, guarded_effect
from naver_sms.flags.machine import Claim, FlagRepository, Seen
from naver_sms.flags.store import RecordKey
from naver_sms.ports import LOOKUP_MARGIN, SmsMessage, SmsReceipt, SmsService, send_checked

OutcomeStatus = Literal["sent", "outbox", "reconciled", "already_done", "claimed_elsewhere", "deferred"]


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What `deliver_once` did: sent (or to the outbox), reconciled (a crashed run's SMS was found), or nothing
    (deferred: the run's deadline is near). A send whose flag could not be set carries why in `uncommitted`."""

    status: OutcomeStatus
    request_id: str | None = None
    attempt: int = 0
    detail: str = ""
    uncommitted: Exception | None = None


def deliver_once(
    *,
    repo: FlagRepository,
    sms: SmsService,
    message: SmsMessage,
    key: RecordKey,
    flag: str,
    run_id: str,
    now: datetime,
    lease: timedelta,
    info: Mapping[str, Any] | None = None,
    exclude_request_ids: Collection[str] = (),
    seen: Seen | None = None,
    create: BookingRecord | None = None,
    cutoff: datetime | None = None,
    clock: Clock | None = None,
    send_margin: timedelta = timedelta(0),
) -> DeliveryOutcome:
    """Send `message` unless `flag` of row `key` says it went out; set the flag when it does. Requests in
    `exclude_request_ids` are other messages: a look-up never takes them for this one. `seen` / `create`: the
    row as the run read it, and the row to create with the claim (`FlagRepository.claim`); `cutoff`: no claim
    after it (deferred); `clock` (real time) is read again right before each request: a lease with less than
    `send_margin` left is renewed first. Raises the send's `DeliveryError` (claim released), `OutcomeUnknown`
    (claim kept), `FlagFailedForGood`, `RecordMissing`, `RepositoryError`."""
    claim_info = {
        "channel": "sms",
        "to": message.to,
        "from": message.sender,
        "type": message.type,
        "wall_at": now.isoformat(),
    }
    real = clock or (lambda: now)

    def resolve(claim: Claim) -> Done[SmsReceipt] | None:
        assert claim.stale is not None
        raw = claim.stale.info.get("wall_at")
        try:
            since = datetime.fromisoformat(raw) if isinstance(raw, str) else now - timedelta(days=1)
        except ValueError:
            since = now - timedelta(days=1)
        found = sms.find_sent(
            message, since=since - LOOKUP_MARGIN, until=now + LOOKUP_MARGIN, exclude=exclude_request_ids
        )
        return None if found is None else Done(found, found.accepted_at, found.request_id)

    def send(claims: tuple[Claim, ...]) -> Done[SmsReceipt]:
        held = list(claims)

        def still_ours() -> None:
            """Right before a request goes out: the claim must hold for one more send, or be renewed."""
            at = real()
            if at + send_margin >= held[0].lease_until:  # too little of the lease is left for a send
                held[0] = repo.renew(held[0], now=at, lease=lease)  # ClaimLost: another run holds it now

        receipt = send_checked(sms, message, still_ours)  # before each request (a retry's too)
        return Done(receipt, receipt.accepted_at, receipt.request_id)

    guarded = guarded_effect(
        repo,
        [key],
        flag,
        send,
        run_id=run_id,
        now=now,
        lease=lease,
        info={**claim_info, **(info or {})},
        resolve=resolve,
        keep_claims_on=(OutcomeUnknown,),
        seen={key: seen} if seen is not None else None,
        create={key: create} if create is not None else None,
        cutoff=cutoff,
        local=not sms.live,  # the sandbox's outbox row and its commit: one transaction on SQLite
    )
    (outcome,) = guarded.outcomes
    if outcome.status == "deferred":
        return DeliveryOutcome("deferred", detail=outcome.detail)
    if outcome.status == "skipped":
        if isinstance(outcome.error, FlagAlreadyDone):
            return DeliveryOutcome("already_done", detail=f"{flag} already set")
        if isinstance(outcome.error, ClaimLost):
            detail = (
                "not sent by this run: its claim ran out before the send (the run was paused or too slow)"
            )
            return DeliveryOutcome("claimed_elsewhere", detail=f"{detail}; another run holds it now")
        return DeliveryOutcome("claimed_elsewhere", detail=outcome.detail)
    if outcome.status == "reconciled":
        return DeliveryOutcome("reconciled", outcome.request_id, outcome.attempt, outcome.detail)
    if outcome.status == "uncommitted" and guarded.value is not None:  # sent; the flag is not ours to set
        status: OutcomeStatus = "outbox" if guarded.value.status == "outbox" else "sent"
        return DeliveryOutcome(status, outcome.request_id, outcome.attempt, uncommitted=outcome.error)
    if outcome.error is not None:  # refused: failed for good, no row, the look-up, the store
        raise outcome.error
    assert guarded.value is not None
    status = "outbox" if guarded.value.status == "outbox" else "sent"
    return DeliveryOutcome(status, outcome.request_id, outcome.attempt)
