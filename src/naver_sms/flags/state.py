"""A flag's state read from its row into a frozen value, like Powertools' `DataRecord` (style.md §11): the only
code that spells the bookkeeping attributes. Per flag ``F`` (the legacy boolean ``F`` keeps its name and type;
docs/database.md):

    F_claim_run    run id holding the claim          F_attempts     failed attempts so far (int)
    F_claim_until  lease expiry, epoch seconds (int)  F_last_error   the last failure, as text
    F_claim_at     claim time, ISO 8601               F_failed       true once attempts reached the bound
    F_claim_info   JSON: what the claim will send     F_request_id   the provider's id of the send
    F_attempt      the attempt number of the claim    F_sent_at      time of the send, ISO 8601
    F_lookups      look-ups of a stale claim that could not tell whether it was sent (int)
    F_reset_at     an operator's reset after the flag failed for good, ISO 8601 (makes it due for a retry)
    F_permanent    true when it failed for good at once: no retry could fix it (a text too long, a template
                   that cannot render); reported in the run it happened in, then left for the operator
    F_sent_info    JSON: what went out, kept from the claim by the commit (channel, rule, template, type, to)
    F_suppressed   why the send was never made and never will be (the number refused advertising); F is true
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST

#: open: never sent or released; claimed: a live run holds it; stale: its run died or hung (the lease ran
#: out); done: the flag is true; failed: attempts reached the bound (an operator resets it)
FlagStatus = Literal["open", "claimed", "stale", "done", "failed"]


class FlagAttrs(NamedTuple):
    """The names of one flag's bookkeeping attributes (`FlagAttrs.of("confirm_sms").attempts` is
    `"confirm_sms_attempts"`)."""

    flag: str
    claim_run: str
    claim_until: str
    claim_at: str
    claim_info: str
    attempt: str
    attempts: str
    last_error: str
    failed: str
    request_id: str
    sent_at: str
    lookups: str
    reset_at: str
    permanent: str
    sent_info: str
    suppressed: str

    @classmethod
    def of(cls, flag: str) -> FlagAttrs:
        return _attrs_of(flag)

    @property
    def claim(self) -> tuple[str, ...]:
        """What a live claim holds; commit and release remove all of it."""
        return (self.claim_run, self.claim_until, self.claim_at, self.claim_info, self.attempt)


@lru_cache(maxsize=256)  # a handful of flags, read for every booking and rule: names built once each
def _attrs_of(flag: str) -> FlagAttrs:
    return FlagAttrs(flag, *(f"{flag}_{name}" for name in FlagAttrs._fields[1:]))


#: the suffixes of the bookkeeping attributes (`_claim_run`, ..., `_reset_at`): a flag name may not end in one
CLAIM_SUFFIXES = tuple(f"_{name}" for name in FlagAttrs._fields[1:])


@dataclass(frozen=True, slots=True)
class HeldClaim:
    """The claim a row holds on a flag (live or expired): who, until when, and what it will send."""

    run_id: str
    lease_until: datetime
    claimed_at: datetime | None
    attempt: int
    info: Mapping[str, Any]  # what the claim recorded before sending: to, from, template, ... (no token)
    info_text: str | None  # the stored JSON itself (it tells one claim's write from another's)


@dataclass(frozen=True, slots=True)
class FlagState:
    """One flag of one row, as read at `at` (a claim is live or stale relative to that time)."""

    flag: str
    status: FlagStatus
    attempts: int | None  # failed attempts counted so far; None when none was ever counted
    last_error: str | None
    request_id: str | None
    sent_at: str | None
    reset_at: str | None
    lookups: int
    claim: HeldClaim | None
    #: failed for good at once, because no retry could fix it (see `permanent` of naver_sms.errors)
    permanent: bool = False
    #: the JSON the commit kept of the send (`sent_info` reads it); None for rows committed before it was
    sent_info_text: str | None = None

    @property
    def sent_info(self) -> Mapping[str, Any]:
        """What went out, as the commit recorded it: channel, rule, template, type, to (empty when unknown)."""
        try:
            info = json.loads(self.sent_info_text) if self.sent_info_text else {}
        except ValueError:
            info = {}
        return MappingProxyType(info if isinstance(info, dict) else {})

    #: done without sending, for good, and why (the number refused advertising: docs/rules/actions.md)
    suppressed: str | None = None

    @property
    def retry_due(self) -> bool:
        """An earlier send failed (attempts counted), its run crashed (stale claim), an operator reset the
        flag after it failed for good (`db reset`), or a claim was released without counting an attempt
        (credentials refused: nothing was tried, the error is kept): a retry is due (`flag_retry_due`)."""
        if self.status == "stale":
            return True
        tried = (self.attempts or 0) > 0 or self.reset_at is not None or self.last_error is not None
        return self.status == "open" and tried

    @property
    def waiting(self) -> bool:
        """Attempts were counted and the flag is not done: failed for good, or waiting for a retry (`history`)."""
        return self.attempts is not None and self.status != "done"

    @property
    def failed_for_good(self) -> bool:
        """Attempts reached the bound: reported on every run until an operator resets it (`db reset`)."""
        return self.status == "failed" and self.attempts is not None


def _item(row: BookingRecord | Mapping[str, Any] | None) -> Mapping[str, Any]:
    if row is None:
        return {}
    return row.to_item() if isinstance(row, BookingRecord) else row


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _claim_of(item: Mapping[str, Any], names: FlagAttrs) -> HeldClaim | None:
    if names.claim_run not in item:
        return None
    raw_info = item.get(names.claim_info)
    try:
        info = json.loads(raw_info) if isinstance(raw_info, str) else {}
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    info.pop("token", None)
    at = item.get(names.claim_at)
    return HeldClaim(
        run_id=str(item.get(names.claim_run)),
        lease_until=datetime.fromtimestamp(_int(item.get(names.claim_until, 0)), KST),
        claimed_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        attempt=_int(item.get(names.attempt, 1), 1),
        info=info,
        info_text=raw_info if isinstance(raw_info, str) else None,
    )


def read_flag(row: BookingRecord | Mapping[str, Any] | None, flag: str, at: datetime) -> FlagState:
    """The state of `flag` in a row (a `BookingRecord`, a stored item, or None for no row) at real time `at`:
    done, failed, claimed, stale or open (the table of docs/database.md)."""
    if isinstance(row, BookingRecord):  # the bookkeeping is in `extra`; no copy of the row (the hot path)
        item, done = row.extra, row.flag(flag)
    else:
        item = row or {}
        done = item.get(flag) is True
    names = _attrs_of(flag)
    status: FlagStatus
    if done:
        status = "done"
    elif item.get(names.failed) is True:
        status = "failed"
    elif names.claim_run in item:
        until = item.get(names.claim_until, 0)
        live = isinstance(until, int | float) and until > int(at.timestamp())
        status = "claimed" if live else "stale"
    else:
        status = "open"
    return FlagState(
        flag=flag,
        status=status,
        attempts=_int(item[names.attempts]) if names.attempts in item else None,
        last_error=_text(item.get(names.last_error)),
        request_id=_text(item.get(names.request_id)) if item.get(names.request_id) else None,
        sent_at=_text(item.get(names.sent_at)),
        reset_at=_text(item.get(names.reset_at)),
        lookups=_int(item.get(names.lookups, 0)),
        claim=_claim_of(item, names),
        permanent=item.get(names.permanent) is True,
        sent_info_text=_text(item.get(names.sent_info)),
        suppressed=_text(item.get(names.suppressed)),
    )


def flags_on(row: BookingRecord | Mapping[str, Any]) -> list[str]:
    """The flags a row holds, in the order they appear: its boolean attributes, and the flags its
    bookkeeping attributes belong to."""
    found: dict[str, None] = {}
    for key, value in _item(row).items():
        owner = next((key[: -len(s)] for s in CLAIM_SUFFIXES if key.endswith(s) and len(key) > len(s)), None)
        if owner is not None:
            found.setdefault(owner)
        elif isinstance(value, bool):
            found.setdefault(key)
    return list(found)


def flag_states(row: BookingRecord | Mapping[str, Any], at: datetime) -> list[FlagState]:
    """Every flag of a row (`flags_on`), read at `at`."""
    return [read_flag(row, flag, at) for flag in flags_on(row)]


def failed_flags(row: BookingRecord, at: datetime) -> list[FlagState]:
    """The flags of a row that failed for good (read only for the rows that have one: every run asks)."""
    suffix = "_failed"
    owners = [
        key[: -len(suffix)] for key, value in row.extra.items() if value is True and key.endswith(suffix)
    ]
    return [state for flag in owners if (state := read_flag(row, flag, at)).failed_for_good]


def request_ids(row: BookingRecord) -> set[str]:
    """The provider's request ids of every send recorded on a row (any flag)."""
    suffix = "_request_id"
    return {str(value) for key, value in row.extra.items() if value and key.endswith(suffix)}


def reset_command(booking_num: str, flag: str) -> str:
    """The operator's command that opens a flag failed for good again (`FlagRepository.reset`)."""
    return f"naver-sms db reset {booking_num} {flag}"
