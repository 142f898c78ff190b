"""What the rows of the `sms` table say was sent, is waiting for a retry, or failed for good (`naver-sms
history`, `status`, the console), one entry per flag, filtered - every phone number masked in one form.

The rule, the template and the channel of a send come from what its commit kept (`FlagState.sent_info`); for
rows committed before that was kept, and for sends not done yet, from the compiled rules: the rule whose send
is guarded by that flag, when there is one. The store is the booking's (`booking_num` = `<store>_<id>`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Literal

from naver_sms.config.models import AppConfig
from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST
from naver_sms.domain.privacy import mask_phone_uniform, mask_uniform
from naver_sms.flags.state import FlagState, flag_states
from naver_sms.owner.runlog import kind_of
from naver_sms.rules.plan import CompiledRule

Status = Literal["sent", "outbox", "retrying", "failed", "sending", "unknown"]
STATUSES: tuple[str, ...] = ("sent", "outbox", "retrying", "failed", "sending", "unknown")
CHANNELS: tuple[str, ...] = ("sms", "telegram", "slack")


@dataclass(frozen=True, slots=True)
class Entry:
    """One flag of one row: a send that happened, or one that is waiting or failed."""

    booking_num: str
    phone: str  # masked
    store_id: str
    flag: str
    status: Status
    at: datetime | None  # Korean time: sent, or claimed; None when unknown
    rule: str | None
    channel: str | None
    template: str | None
    kind: str | None
    request_id: str | None
    attempts: int | None
    last_error: str | None  # masked
    #: the provider's delivery result, where it was looked up (`with_delivery`)
    delivery: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat() if self.at else None}


@dataclass(frozen=True, slots=True)
class Filters:
    since: date | None = None  # Korean days, inclusive
    until: date | None = None
    stores: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def keep(self, e: Entry) -> bool:
        day = e.at.date() if e.at else None
        if (self.since or self.until) and day is None:
            return False
        return (
            (self.since is None or (day is not None and day >= self.since))
            and (self.until is None or (day is not None and day <= self.until))
            and (not self.stores or e.store_id in self.stores)
            and (not self.rules or e.rule in self.rules)
            and (not self.statuses or e.status in self.statuses)
            and (not self.channels or e.channel in self.channels)
        )


def guarded_sends(rules: Sequence[CompiledRule]) -> dict[str, tuple[str, str, str | None]]:
    """flag -> (rule, channel, template) of the send it guards, for the flags that guard exactly one kind."""
    found: dict[str, set[tuple[str, str, str | None]]] = {}
    for rule in rules:
        for action in rule.actions:
            flag = getattr(action.params, "flag", None)
            if action.atype.sends is None or flag is None:
                continue
            channel = "sms" if action.atype.sends == "sms" else action.name.removeprefix("send_")
            found.setdefault(flag, set()).add((rule.name, channel, getattr(action.params, "template", None)))
    return {flag: next(iter(sends)) for flag, sends in found.items() if len(sends) == 1}


def _at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=KST)).astimezone(KST)


def _status(state: FlagState) -> Status | None:
    if state.status == "done":
        return "outbox" if (state.request_id or "").startswith("outbox-") else "sent"
    if state.status == "failed":
        return "failed"
    if state.status == "claimed":
        return "sending"
    if state.status == "stale":
        return "unknown"
    return "retrying" if state.waiting else None


def entry(
    record: BookingRecord,
    state: FlagState,
    config: AppConfig | None,
    guards: Mapping[str, tuple[str, str, str | None]],
) -> Entry | None:
    """The entry of one flag of a row, or None for a flag with nothing to tell (open, never tried)."""
    status = _status(state)
    if status is None or (status in ("sent", "outbox") and not state.sent_at):
        return None  # a legacy flag set without a send time: nothing this project sent
    info: Mapping[str, Any] = state.sent_info or (state.claim.info if state.claim else {})
    rule, channel, template = guards.get(state.flag, (None, None, None))
    rule = str(info.get("rule") or rule or "") or None
    channel = str(info.get("channel") or channel or "") or None
    template = str(info.get("template") or template or "") or None
    at = _at(state.sent_at) or (
        state.claim.claimed_at.astimezone(KST) if state.claim and state.claim.claimed_at else None
    )
    return Entry(
        booking_num=record.booking_num,
        phone=mask_phone_uniform(record.phone),
        store_id=record.booking_num.split("_", 1)[0],
        flag=state.flag,
        status=status,
        at=at,
        rule=rule,
        channel=channel,
        template=template,
        kind=(kind_of(config, template) if config is not None else template) if template else None,
        request_id=state.request_id,
        attempts=state.attempts,
        last_error=mask_uniform(state.last_error) if state.last_error is not None else None,
    )


def ledger(
    records: Iterable[BookingRecord],
    config: AppConfig | None,
    rules: Sequence[CompiledRule],
    at: datetime,
    filters: Filters | None = None,
) -> list[Entry]:
    """Every entry of the rows (read at real time `at`) that passes `filters`, newest first."""
    guards = guarded_sends(rules)
    keep = (filters or Filters()).keep
    found = [
        e
        for record in records
        for state in flag_states(record, at)
        if (e := entry(record, state, config, guards)) is not None and keep(e)
    ]
    oldest = datetime.min.replace(tzinfo=KST)
    return sorted(found, key=lambda e: (e.at or oldest, e.booking_num, e.flag), reverse=True)
