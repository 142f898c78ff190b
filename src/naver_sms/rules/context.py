"""What executors receive - one run's `RunScope` (with its two times: the decision time `now`, and the real
clock for claims, leases, look-ups and what is written) and the frozen `ActionContext` of one action, safe to
share across executors and threads - and what they give back (`ActionResult`, with the records the report lists).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from naver_sms.config.models import AppConfig
from naver_sms.domain.booking import Booking, BookingRecord, Store
from naver_sms.domain.clock import Clock, SystemClock
from naver_sms.flags.machine import FlagRepository
from naver_sms.ports import OptOutList, SlackService, SmsService, TelegramService
from naver_sms.rules.facts import Facts
from naver_sms.rules.opt_out import OptOutCache


@dataclass(frozen=True)
class ActionServicesBundle:
    """The services executors reach the outside world through."""

    db_repo: FlagRepository
    sms_service: SmsService
    telegram_service: TelegramService
    slack_service: SlackService
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("naver_sms.actions"))
    #: the period claims of digests with `once_per` (naver_sms.flags.periods); None: such a rule fails
    periods: FlagRepository | None = None
    #: who refused advertising (None: nobody; config/opt-out.txt when it exists)
    opt_out: OptOutList | None = None


@dataclass(frozen=True, slots=True)
class RunScope:
    """What every action of one run shares."""

    run_id: str
    config: AppConfig
    services: ActionServicesBundle
    #: the decision time, Korean (aware): what the rules and templates see
    now: datetime
    #: real time, for claims and leases (which live in real time even when `now` is set by --now)
    real: Clock = field(default_factory=SystemClock)
    #: how long a claim holds before another run may take it over
    lease: timedelta = timedelta(minutes=10)
    #: real time after which no claim starts (the run's deadline less its margin); None: no deadline
    cutoff: datetime | None = None
    #: the longest one send may take: a claim with less of its lease left is renewed before its send
    send_margin: timedelta = timedelta(seconds=30)
    #: bookings acted on at once (their SMS sent in parallel); 1: one after the other
    workers: int = 1
    #: the rows this run wrote for bookings its batch read found none for (a later claim of the same row,
    #: e.g. the guide after the confirmation, is then one update, not a put that finds the row)
    rows_written: set[tuple[str, str]] = field(default_factory=set, repr=False, compare=False)

    def past_cutoff(self) -> bool:
        """The run's deadline is near: no new claim (and no booking's actions) starts now."""
        return self.cutoff is not None and self.real() > self.cutoff

    #: the opt-out list as this run sees it (read once, on the first advertising SMS)
    opt_out: OptOutCache = field(default_factory=OptOutCache)


@dataclass(frozen=True)
class ActionContext:
    """One action's booking (or a digest's bookings), its row as read before the run, and the run's scope."""

    rule: str
    booking: Booking | None
    record: BookingRecord | None
    store: Store | None
    scope: RunScope
    bookings: tuple[Booking, ...] = ()
    #: SMS requests already recorded for this booking's phone number: a look-up never takes them for this one
    known_request_ids: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        scope: RunScope,
        rule: str,
        facts: Facts | None,
        group: tuple[Facts, ...] = (),
        known: Mapping[str, frozenset[str]] | None = None,
    ) -> ActionContext:
        if facts is None:
            return cls(rule, None, None, None, scope, tuple(f.booking for f in group))
        ids = (known or {}).get(facts.booking.phone_digits, frozenset())
        return cls(rule, facts.booking, facts.record, facts.store, scope, (), ids)

    @property
    def now(self) -> datetime:
        return self.scope.now

    @property
    def config(self) -> AppConfig:
        return self.scope.config

    @property
    def services(self) -> ActionServicesBundle:
        return self.scope.services

    @property
    def logger(self) -> logging.Logger:
        return self.scope.services.logger

    @property
    def subject(self) -> str:
        """What the action is about, for errors and logs: the booking's `booking_num`, or `digest:<rule>`."""
        return self.booking.booking_num if self.booking else f"digest:{self.rule}"

    @property
    def targets(self) -> tuple[Booking, ...]:
        """The bookings the action acts on: its booking, or every booking of a digest."""
        return (self.booking,) if self.booking is not None else self.bookings

    def template_vars(self) -> dict[str, Any]:
        return {
            "booking": self.booking,
            "store": self.store,
            "now": self.now,
            "rule": self.rule,
            "bookings": list(self.bookings),
            "count": len(self.bookings),
            "stores": self.config.stores,
            "by_store": by_store(self.bookings, self.config.stores),
        }


@dataclass(frozen=True, slots=True)
class StoreGroup:
    """A digest's bookings of one store (`by_store`): `store` (its `name`, `alias`, `id`) and `bookings`."""

    store: Store
    bookings: tuple[Booking, ...]


def by_store(bookings: Sequence[Booking], stores: Mapping[str, Store]) -> list[StoreGroup]:
    """`bookings` grouped by store, in the order of stores.yaml (then any other store, by id)."""
    grouped: dict[str, list[Booking]] = {}
    for b in bookings:
        grouped.setdefault(b.store_id, []).append(b)
    order = [s for s in stores if s in grouped] + sorted(s for s in grouped if s not in stores)
    return [StoreGroup(stores.get(s) or Store(id=s, name=s, alias=s), tuple(grouped[s])) for s in order]


SmsStatus = Literal["sent", "outbox", "planned", "failed", "unknown", "reconciled", "suppressed"]


@dataclass(frozen=True, slots=True)
class SmsRecord:
    """One SMS of a run: the public shape of the report's `sms` list (docs/cli.md)."""

    to: str
    sender: str
    type: str
    subject: str
    content: str
    store_id: str
    template: str
    rule: str
    status: SmsStatus
    booking_num: str
    phone: str  # the hyphenated key form
    label: str | None = None
    request_id: str | None = None
    error: str | None = None
    flag: str | None = None
    #: what the operator must do when no retry can send it (the fix, and the command that sends it again)
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "from": self.sender,
            "type": self.type,
            "subject": self.subject,
            "content": self.content,
            "store_id": self.store_id,
            "template": self.template,
            "rule": self.rule,
            "status": self.status,
            "booking_num": self.booking_num,
            "flag": self.flag,
            "request_id": self.request_id,
            "error": self.error,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class FlagChange:
    booking_num: str
    phone: str
    flag: str
    value: bool
    rule: str
    via: Literal["commit", "set", "create", "suppress", "reopen"] = "set"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    channel: Literal["telegram", "slack", "log"]
    text: str
    status: str
    rule: str
    booking_num: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an executor did. `status`: ok | noop | skipped (ends the rule quietly) | disabled | planned."""

    status: str = "ok"
    detail: str = ""
    sms: tuple[SmsRecord, ...] = ()
    flags: tuple[FlagChange, ...] = ()
    notifications: tuple[NotificationRecord, ...] = ()
