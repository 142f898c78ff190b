"""What executors give back (`ActionResult`) and the records of a run's effects that the report lists: each SMS
(`SmsRecord`, the public shape of the report's `sms`), each flag change and each notification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ActionResult", "FlagChange", "NotificationRecord", "SmsRecord", "SmsStatus"]

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
    """What an executor did. `status`: ok | noop | skipped (ends the rule for this booking quietly) |
    disabled (the channel is off) | planned (a preview)."""

    status: str = "ok"
    detail: str = ""
    sms: tuple[SmsRecord, ...] = ()
    flags: tuple[FlagChange, ...] = ()
    notifications: tuple[NotificationRecord, ...] = ()
