"""Telegram Bot API client: `sendMessage` to one chat (external-apis.md §3).

* **Plain text**, no `parse_mode`: customer names and store texts go out as written and can never break the
  message with a 400 "can't parse entities" (external-apis.md §3). Nothing needs escaping; `escape_html` is
  there for a caller that wants HTML mode.
* Texts over 4096 characters (counted in UTF-16 code units, as Telegram counts them) are split on line
  boundaries into several messages, sent in order; a single longer line is cut hard.
* 429 waits exactly the `parameters.retry_after` of the answer's body (bounded by `RetryPolicy.max_hint`);
  5xx and connection failures before the request went out are retried with backoff; both are bounded by
  `RetryPolicy.max_attempts` per part, then `DeliveryUnavailable`.
* `{"ok": false}` answers (400, 401, 403, 404) are final: `DeliveryRejected` with Telegram's `description`.
* No answer after the request went out: `OutcomeUnknown` - the part may have been posted, it is not resent.
* Disabled (`NAVER_SMS_TELEGRAM_ENABLED=false`): `send_message` returns `ChannelReceipt(status="disabled")`
  and makes no request.

The bot token is part of the URL: it is never logged (the `httpx` logger is redacted too) and never appears in
an error message or a repr.
"""

from __future__ import annotations

import html
import json
import logging
import time
from typing import Any, Self

import httpx
from pydantic import SecretStr

from naver_sms.config.settings import ENV_PREFIX, Settings
from naver_sms.errors import ConfigError, DeliveryError, DeliveryRejected, DeliveryUnavailable, OutcomeUnknown
from naver_sms.notifications._http import (
    BEFORE_SEND_ERRORS,
    RetryPolicy,
    Sleep,
    mask_phones,
    redact_httpx_logs,
    reveal,
    split_text,
)
from naver_sms.notifications.protocols import ChannelReceipt

__all__ = ["TELEGRAM_MAX_CHARS", "TelegramClient", "escape_html"]

log = logging.getLogger("naver_sms.notifications.telegram")

CHANNEL = "telegram"
#: sendMessage's `text` limit (external-apis.md §3), in UTF-16 code units.
TELEGRAM_MAX_CHARS = 4096


def escape_html(text: str) -> str:
    """`text` safe inside a `parse_mode=HTML` message: `&`, `<` and `>` escaped (quotes need not be)."""
    return html.escape(text, quote=False)


class TelegramClient:
    """`TelegramService` over the Bot API. `http` / `transport` are the seam for tests; `sleep` the wait."""

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
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(transport=transport, timeout=timeout)
        self._retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        self._max_chars = max_chars
        if self._token:
            redact_httpx_logs(self._token)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TelegramClient:
        """The client for `settings`: `NAVER_SMS_TELEGRAM_{ENABLED,TOKEN,CHAT_ID,BASE}`."""
        if not settings.telegram_enabled:
            return cls(token=None, chat_id=None, base_url=settings.telegram_base, enabled=False, **overrides)
        missing = [
            name
            for name, value in (
                ("telegram_token", reveal(settings.telegram_token)),
                ("telegram_chat_id", settings.telegram_chat_id),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                "Telegram is enabled but not configured: set the variable(s), or "
                f"{ENV_PREFIX}TELEGRAM_ENABLED=false",
                file="environment",
                field=", ".join(ENV_PREFIX + name.upper() for name in missing),
            )
        return cls(
            token=settings.telegram_token,
            chat_id=settings.telegram_chat_id,
            base_url=settings.telegram_base,
            **overrides,
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TelegramClient(enabled={self.enabled}, chat_id={self._chat_id!r})"

    def send_message(self, text: str) -> ChannelReceipt:
        if not self.enabled:
            log.info("telegram is disabled: message not sent")
            return ChannelReceipt(
                CHANNEL, "disabled", parts=0, detail="telegram is disabled in configuration"
            )
        if not text.strip():
            raise DeliveryRejected("the text is empty (Telegram refuses an empty message)", channel=CHANNEL)
        parts = split_text(text, self._max_chars)
        message_ids: list[str] = []
        for index, part in enumerate(parts, start=1):
            where = f"part {index} of {len(parts)}" if len(parts) > 1 else "message"
            try:
                message_ids.append(self._send_part(part, where))
            except DeliveryError:
                if index > 1:
                    log.error("telegram: %s failed after %d part(s) were sent", where, index - 1)
                raise
        log.info("telegram: message sent in %d part(s)", len(parts))
        return ChannelReceipt(
            CHANNEL, "sent", parts=len(parts), detail="message_id " + ", ".join(message_ids)
        )

    def _send_part(self, text: str, where: str) -> str:
        payload = {"chat_id": self._chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        attempts = self._retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.post(self._url, content=body, headers=headers)
            except BEFORE_SEND_ERRORS as exc:
                reason = f"connection failed ({type(exc).__name__})"
                if attempt < attempts:
                    self._wait(attempt, where, reason, self._retry.backoff(attempt))
                    continue
                raise DeliveryUnavailable(
                    f"{where} not sent: {reason}; gave up after {attempt} attempt(s)", channel=CHANNEL
                ) from exc
            except httpx.TransportError as exc:
                raise OutcomeUnknown(
                    f"{where}: no answer after the request was sent ({type(exc).__name__}); "
                    "it may have been posted - not resent",
                    channel=CHANNEL,
                ) from exc
            data = _json_object(response)
            status = response.status_code
            if status == 200 and data.get("ok") is True:
                result = data.get("result")
                return str(result.get("message_id", "")) if isinstance(result, dict) else ""
            description = self._scrub(str(data.get("description") or response.reason_phrase or ""))
            error_code = data.get("error_code") if isinstance(data.get("error_code"), int) else status
            if status == 429:
                hint = _retry_after(data)  # absent: fall back to our own backoff
                if attempt < attempts and (hint is None or hint <= self._retry.max_hint):
                    delay = hint if hint is not None else self._retry.backoff(attempt)
                    self._wait(attempt, where, "rate limited (429)", delay)
                    continue
                raise DeliveryUnavailable(
                    f"{where} not sent: rate limited (retry_after {hint}); "
                    f"gave up after {attempt} attempt(s)",
                    channel=CHANNEL,
                    status_code=429,
                    provider_message=description,
                )
            if status >= 500:
                if attempt < attempts:
                    self._wait(attempt, where, f"HTTP {status}", self._retry.backoff(attempt))
                    continue
                raise DeliveryUnavailable(
                    f"{where} not sent: HTTP {status} {description}; gave up after {attempt} attempt(s)",
                    channel=CHANNEL,
                    status_code=status,
                    provider_message=description,
                )
            raise DeliveryRejected(
                f"{where} refused: HTTP {status} {description}".rstrip(),
                channel=CHANNEL,
                status_code=error_code,
                provider_message=description,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, where: str, reason: str, delay: float) -> None:
        log.warning(
            "telegram: %s: %s; retry %d of %d in %.2fs",
            where,
            reason,
            attempt,
            self._retry.max_attempts - 1,
            delay,
        )
        self._sleep(delay)

    def _scrub(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return mask_phones(text)


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
