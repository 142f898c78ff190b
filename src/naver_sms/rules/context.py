"""What executors receive and what they give back.

`ActionContext` is frozen (and holds only immutable data and thread-safe services), so one context may be
passed to any number of executors, in any thread, without one seeing another's changes. Executors return an
`ActionResult` describing their effects; they never change the context.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from naver_sms.config.models import AppConfig
from naver_sms.database.repositories import BookingRepository
from naver_sms.domain.booking import Booking, BookingRecord, Store
from naver_sms.domain.clock import SystemClock
from naver_sms.notifications.protocols import SlackService, SmsService, TelegramService

__all__ = [
    "ActionContext",
    "ActionResult",
    "ActionServicesBundle",
    "FlagChange",
    "NotificationRecord",
    "RunOptions",
    "SmsRecord",
]


@dataclass(frozen=True)
class ActionServicesBundle:
    """The services executors reach the outside world through (injected once, at bootstrap)."""

    db_repo: BookingRepository
    sms_service: SmsService
    telegram_service: TelegramService
    slack_service: SlackService
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("naver_sms.actions"))


@dataclass(frozen=True, slots=True)
class RunOptions:
    run_id: str
    lease: timedelta = timedelta(minutes=10)
    dry_run: bool = False
    #: real time for claims and leases; the decision clock (`ActionContext.now`) may be set anywhere
    wall_clock: Callable[[], datetime] = field(default=SystemClock())


@dataclass(frozen=True)
class ActionContext:
    """Immutable context of one action: the booking (or, for digest rules, the bookings), the state before the
    run, the clock, the configuration and the services."""

    rule: str
    booking: Booking | None
    record: BookingRecord | None
    store: Store | None
    now: datetime
    config: AppConfig
    services: ActionServicesBundle
    options: RunOptions
    bookings: tuple[Booking, ...] = ()
    #: SMS requests already recorded for this booking's phone number (on any loaded row): a look-up of a
    #: send with no answer must never take one of them for this one
    known_request_ids: frozenset[str] = frozenset()

    @property
    def booking_id(self) -> str:
        return self.booking.booking_num if self.booking else f"digest:{self.rule}"

    @property
    def logger(self) -> logging.Logger:
        return self.services.logger

    def template_vars(self) -> dict[str, Any]:
        return {
            "booking": self.booking,
            "store": self.store,
            "now": self.now,
            "rule": self.rule,
            "bookings": list(self.bookings),
            "count": len(self.bookings),
            "stores": self.config.stores,
        }


SmsStatus = Literal["sent", "outbox", "planned", "failed", "unknown", "reconciled"]


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
        }


@dataclass(frozen=True, slots=True)
class FlagChange:
    booking_num: str
    phone: str
    flag: str
    value: bool
    rule: str
    via: Literal["commit", "set", "create"] = "set"

    def to_json(self) -> dict[str, Any]:
        return {
            "booking_num": self.booking_num,
            "phone": self.phone,
            "flag": self.flag,
            "value": self.value,
            "rule": self.rule,
            "via": self.via,
        }


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    channel: Literal["telegram", "slack", "log"]
    text: str
    status: str
    rule: str
    booking_num: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "text": self.text,
            "status": self.status,
            "rule": self.rule,
            "booking_num": self.booking_num,
        }


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an executor did. `status`: ok | skipped | planned (dry run) | noop."""

    status: str = "ok"
    detail: str = ""
    sms: tuple[SmsRecord, ...] = ()
    flags: tuple[FlagChange, ...] = ()
    notifications: tuple[NotificationRecord, ...] = ()
