"""A customer's SMS, exactly once per flag: the guarded effect, a stale claim resolved by the provider's look-up
around the stale claim's real time (`wall_at`), and a send with no answer (`OutcomeUnknown`) keeping its claim.
The look-up window is real time (the provider's clock), never the decision clock that `--now` may set.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from naver_sms.errors import FlagAlreadyDone, OutcomeUnknown
from naver_sms.flags.effect import Done, guarded_effect
from naver_sms.flags.machine import Claim, FlagRepository
from naver_sms.flags.store import RecordKey
from naver_sms.ports import LOOKUP_MARGIN, SmsMessage, SmsReceipt, SmsService

OutcomeStatus = Literal["sent", "outbox", "reconciled", "already_done", "claimed_elsewhere"]


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What `deliver_once` did: sent (or to the outbox), reconciled (a crashed run's SMS was found), or nothing."""

    status: OutcomeStatus
    request_id: str | None = None
    attempt: int = 0
    detail: str = ""


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
) -> DeliveryOutcome:
    """Send `message` unless `flag` of row `key` says it went out; set the flag when it does. Requests in
    `exclude_request_ids` are other messages: a look-up never takes them for this one. Raises the send's
    `DeliveryError` (claim released), `OutcomeUnknown` (claim kept), `FlagFailedForGood`, `RecordMissing`,
    `RepositoryError`."""
    claim_info = {
        "channel": "sms",
        "to": message.to,
        "from": message.sender,
        "type": message.type,
        "wall_at": now.isoformat(),
    }

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
        receipt = sms.send(message)
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
    )
    (outcome,) = guarded.outcomes
    if outcome.status == "skipped":
        if isinstance(outcome.error, FlagAlreadyDone):
            return DeliveryOutcome("already_done", detail=f"{flag} already set")
        return DeliveryOutcome("claimed_elsewhere", detail=outcome.detail)
    if outcome.error is not None:  # refused (failed for good, no row, the look-up), or sent and not committed
        raise outcome.error
    if outcome.status == "reconciled":
        return DeliveryOutcome("reconciled", outcome.request_id, outcome.attempt, outcome.detail)
    assert guarded.value is not None
    status: OutcomeStatus = "outbox" if guarded.value.status == "outbox" else "sent"
    return DeliveryOutcome(status, outcome.request_id, outcome.attempt)
