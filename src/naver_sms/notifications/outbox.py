"""The sandbox (no `--live`): every SMS and message goes to an outbox table of SQLite (in memory when the state
is kept elsewhere) instead of being sent."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from naver_sms.domain.clock import Clock, SystemClock
from naver_sms.notifications.sens_wire import check_sendable, resolve_type
from naver_sms.ports import ChannelReceipt, SmsMessage, SmsReceipt


class OutboxStore(Protocol):
    def append(
        self, *, created_at: str, run_id: str, channel: str, status: str, payload: Mapping[str, Any]
    ) -> int: ...

    def entries(
        self, *, channel: str | None = None, run_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]: ...


class OutboxSmsService:
    """`SmsService` of the sandbox: the SENS body is written to the outbox; nothing is sent."""

    live = False

    def __init__(self, store: OutboxStore, *, run_id: str, clock: Clock | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self.clock = clock or SystemClock()  # the run's real clock: the look-up window is real time

    def send(self, message: SmsMessage) -> SmsReceipt:
        # the sandbox refuses what the live client would refuse: a rehearsal must not hide a too-long text
        message = resolve_type(message)
        check_sendable(message)
        at = self.clock()
        row = self.store.append(
            created_at=at.isoformat(),
            run_id=self.run_id,
            channel="sms",
            status="outbox",
            payload=message.sens_body(),
        )
        return SmsReceipt("outbox", f"outbox-{row}", at)

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        for row in self.store.entries(channel="sms"):
            if f"outbox-{row['id']}" in exclude:
                continue
            body = row["payload"]
            at = datetime.fromisoformat(row["created_at"])
            if (
                body.get("messages") == [{"to": message.to}]
                and body.get("from") == message.sender
                and body.get("content") == message.content
                and since <= at <= until
            ):
                return SmsReceipt("outbox", f"outbox-{row['id']}", at)
        return None


class _OutboxChannel:
    """A notification channel of the sandbox: the text goes to the outbox (or nowhere, when disabled)."""

    channel = ""

    def __init__(
        self, store: OutboxStore, *, run_id: str, enabled: bool = True, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.enabled = enabled
        self.clock = clock or SystemClock()

    def _write(self, text: str, chat_id: str | None = None) -> ChannelReceipt:
        if not self.enabled:
            return ChannelReceipt(self.channel, "disabled", 0, f"{self.channel} is disabled")
        self.store.append(
            created_at=self.clock().isoformat(),
            run_id=self.run_id,
            channel=self.channel,
            status="outbox",
            payload={"text": text, **({"chat_id": chat_id} if chat_id is not None else {})},
        )
        return ChannelReceipt(self.channel, "outbox")


class OutboxTelegram(_OutboxChannel):
    """`TelegramService` of the sandbox."""

    channel = "telegram"

    def send_message(self, text: str, *, chat_id: str | None = None) -> ChannelReceipt:
        return self._write(text, chat_id)


class OutboxSlack(_OutboxChannel):
    """`SlackService` of the sandbox."""

    channel = "slack"

    def post_message(self, text: str) -> ChannelReceipt:
        return self._write(text)
