"""Telegram Bot API client: `sendMessage` to one chat (external-apis.md §3), retried as `PostingClient` does.

Plain text, no `parse_mode`: customer names and store texts can never break the message with a 400 "can't
parse entities" (`escape_html` is for a caller that wants HTML mode). Texts over 4096 UTF-16 code units are
split on line boundaries. The bot token is part of the URL: never logged (the `httpx` logger is redacted),
never in an error or a repr.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any

import httpx
from pydantic import SecretStr

from naver_sms.config.settings import ENV_PREFIX, Settings
from naver_sms.domain.privacy import mask_text
from naver_sms.errors import ConfigError, DeliveryRejected
from naver_sms.notifications._http import (
    Answer,
    PostingClient,
    redact_httpx_logs,
    reveal,
    split_text,
    unset_settings,
)
from naver_sms.ports import ChannelReceipt
from naver_sms.retry import RetryPolicy, Sleep

log = logging.getLogger("naver_sms.notifications.telegram")

CHANNEL = "telegram"
#: sendMessage's `text` limit (external-apis.md §3), in UTF-16 code units.
TELEGRAM_MAX_CHARS = 4096


def escape_html(text: str) -> str:
    """`text` safe inside a `parse_mode=HTML` message: `&`, `<` and `>` escaped (quotes need not be)."""
    return html.escape(text, quote=False)


class TelegramClient(PostingClient):
    """`TelegramService`: success is `{"ok": true}`, the wait hint `parameters.retry_after` in the body."""

    CHANNEL = CHANNEL
    LOG_NAME = "telegram"
    log = log
    DONE = "sent"
    HINT_NAME = "retry_after"

    def __init__(
        self,
        *,
        token: SecretStr | str | None,
        chat_id: str | int | None,
        base_url: str = "https://api.telegram.org",
        enabled: bool = True,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        max_chars: int = TELEGRAM_MAX_CHARS,
    ) -> None:
        self.enabled = enabled
        self._token = reveal(token)
        self._chat_id = _chat_id(chat_id)
        if enabled and (not self._token or self._chat_id in (None, "")):
            raise ValueError("an enabled Telegram client needs a bot token and a chat id")
        self._url = f"{base_url.rstrip('/')}/bot{self._token}/sendMessage"
        super().__init__(http=http, transport=transport, timeout=timeout, retry=retry, sleep=sleep)
        self._max_chars = max_chars
        if self._token:
            redact_httpx_logs(self._token)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TelegramClient:
        """The client for `settings`: `NAVER_SMS_TELEGRAM_{ENABLED,TOKEN,CHAT_ID,BASE}`."""
        if not settings.telegram_enabled:
            return cls(token=None, chat_id=None, base_url=settings.telegram_base, enabled=False, **overrides)
        missing = unset_settings(settings, "telegram_token", "telegram_chat_id")
        if missing:
            raise ConfigError(
                "Telegram is enabled but not configured: set the variable(s), or "
                f"{ENV_PREFIX}TELEGRAM_ENABLED=false",
                file="environment",
                field=", ".join(missing),
            )
        return cls(
            token=settings.telegram_token,
            chat_id=settings.telegram_chat_id,
            base_url=settings.telegram_base,
            **overrides,
        )

    def __repr__(self) -> str:
        return f"TelegramClient(enabled={self.enabled}, chat_id={self._chat_id!r})"

    def send_message(self, text: str, *, chat_id: str | None = None) -> ChannelReceipt:
        if not self.enabled:
            log.info("telegram is disabled: message not sent")
            return ChannelReceipt(
                CHANNEL, "disabled", parts=0, detail="telegram is disabled in configuration"
            )
        if not text.strip():
            raise DeliveryRejected("the text is empty (Telegram refuses an empty message)", channel=CHANNEL)
        parts = split_text(text, self._max_chars)
        chat = _chat_id(chat_id) if chat_id is not None else self._chat_id
        message_ids = self._post_parts(
            self._url,
            [
                {"chat_id": chat, "text": part, "link_preview_options": {"is_disabled": True}}
                for part in parts
            ],
        )
        return ChannelReceipt(
            CHANNEL, "sent", parts=len(parts), detail="message_id " + ", ".join(message_ids)
        )

    def _read(self, response: httpx.Response) -> Answer:
        data = _json_object(response)
        if response.status_code == 200 and data.get("ok") is True:
            result = data.get("result")
            return Answer(
                ok=True, result=str(result.get("message_id", "")) if isinstance(result, dict) else ""
            )
        error_code = data.get("error_code")
        return Answer(
            ok=False,
            provider_message=self._scrub(str(data.get("description") or response.reason_phrase or "")),
            code=error_code if isinstance(error_code, int) else None,
            retry_after=_retry_after(data),
        )

    def _scrub(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return mask_text(text)


def _chat_id(value: str | int | None) -> str | int | None:
    """A numeric chat id goes out as a number, `@channelname` as a string."""
    if isinstance(value, str):
        value = value.strip()
        if value.lstrip("-").isdigit():
            return int(value)
    return value


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(data: dict[str, Any]) -> float | None:
    """Telegram puts the wait in the body, `parameters.retry_after` (external-apis.md §3), not a header."""
    parameters = data.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
