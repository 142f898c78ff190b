"""What the engine needs of each channel. Clients (SENS, Telegram, Slack) and the sandbox outbox implement
these; the engine never sees HTTP.

A channel either returns a receipt or raises a `DeliveryError` (naver_sms.errors):
`DeliveryRejected` (final), `DeliveryUnavailable` (retries exhausted), `OutcomeUnknown` (sent, no answer:
never resend blindly), `MessageTooLong` (checked before sending).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "LOOKUP_MARGIN",
    "ChannelReceipt",
    "SlackService",
    "SmsMessage",
    "SmsReceipt",
    "SmsService",
    "TelegramService",
]

ReceiptStatus = Literal["sent", "outbox", "disabled"]

#: How far around a send's wall-clock time the provider's records are searched: SENS's gateway accepts a
#: clock up to 5 minutes off (external-apis.md §2), so either side may be that far apart.
LOOKUP_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """One SMS to one recipient, as SENS takes it (external-apis.md §2)."""

    to: str  # recipient, digits only
    sender: str  # `from`: a registered sender number, digits only
    type: str  # SMS | LMS | MMS
    subject: str
    content: str
    content_type: str = "COMM"

    def sens_body(self) -> dict[str, Any]:
        """The request body in the legacy key order; `json.dumps(body)` with the defaults (what the legacy
        `requests.post(json=...)` sent) gives the legacy bytes."""
        return {
            "type": self.type,
            "contentType": self.content_type,
            "from": self.sender,
            "subject": self.subject,
            "content": self.content,
            "messages": [{"to": self.to}],
        }

    def sens_bytes(self) -> bytes:
        return json.dumps(self.sens_body()).encode("utf-8")


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """An accepted SMS: SENS's requestId (None in the outbox) and when it was accepted."""

    status: ReceiptStatus
    request_id: str | None
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelReceipt:
    """A Telegram or Slack message: sent, written to the outbox, or not sent because the channel is off."""

    channel: str
    status: ReceiptStatus
    parts: int = 1
    detail: str = ""


@runtime_checkable
class SmsService(Protocol):
    live: bool  # False for the sandbox outbox

    def send(self, message: SmsMessage) -> SmsReceipt:
        """Send one SMS. Raises DeliveryError subclasses; returns only when the provider accepted it."""
        ...

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        """Reconciliation: was this message (same recipient, sender and text) accepted between `since` and
        `until`? A receipt if so, None if certainly not. Requests in `exclude` are known to be other
        messages (e.g. another booking's identical confirmation) and never match. Raises
        DeliveryUnavailable when it cannot tell - also when more than one request could be this message."""
        ...


@runtime_checkable
class TelegramService(Protocol):
    enabled: bool

    def send_message(self, text: str) -> ChannelReceipt: ...


@runtime_checkable
class SlackService(Protocol):
    enabled: bool

    def post_message(self, text: str) -> ChannelReceipt: ...
