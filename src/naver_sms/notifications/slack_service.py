"""Slack incoming-webhook client (external-apis.md §4).

* Success is HTTP 200. Any other answer carries Slack's short error string in the body (`invalid_payload`,
  `action_prohibited`, `channel_not_found`, `channel_is_archived`, ...), surfaced as `provider_message`.
* 4xx other than 429 is final: `DeliveryRejected`. 429 waits exactly the `Retry-After` header's seconds
  (bounded by `RetryPolicy.max_hint`); 5xx (`rollup_error`) and connection failures before the request went
  out are retried with backoff; all bounded by `RetryPolicy.max_attempts`, then `DeliveryUnavailable`.
* No answer after the request went out: `OutcomeUnknown` (the post may be in the channel; not resent).
* Slack truncates a text past 40,000 characters. A digest list must not lose its tail silently, so a longer
  text is **split** on line boundaries into several posts, sent in order (`ChannelReceipt.parts`).
* Plain `text` only (no blocks): Slack's markup is limited to `&`, `<`, `>`, which are escaped so that
  customer text cannot turn into links or mentions.
* Disabled (`NAVER_SMS_SLACK_ENABLED=false`, the default): `post_message` returns
  `ChannelReceipt(status="disabled")` and makes no request.

The webhook URL is a credential (whoever has it can post): it is never logged, never in an error, never in a
repr.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Self
from urllib.parse import urlsplit

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

__all__ = ["SLACK_MAX_CHARS", "SlackWebhookClient", "escape_slack"]

log = logging.getLogger("naver_sms.notifications.slack")

CHANNEL = "slack"
#: Slack truncates `text` past this many characters (external-apis.md §4).
SLACK_MAX_CHARS = 40_000


def escape_slack(text: str) -> str:
    """Slack's three control characters escaped (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackWebhookClient:
    """`SlackService` over an incoming webhook. `http` / `transport` are the seam for tests."""

    def __init__(
        self,
        *,
        webhook_url: SecretStr | str | None,
        enabled: bool = True,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        max_chars: int = SLACK_MAX_CHARS,
        escape: bool = True,
    ) -> None:
        self.enabled = enabled
        self._url = reveal(webhook_url)
        if enabled and not self._url:
            raise ValueError("an enabled Slack client needs a webhook URL")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(transport=transport, timeout=timeout)
        self._retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        self._max_chars = max_chars
        self._escape = escape
        if self._url:
            path = urlsplit(self._url).path
            redact_httpx_logs(self._url, *([path] if path.strip("/") else []))

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SlackWebhookClient:
        """The client for `settings`: `NAVER_SMS_SLACK_ENABLED`, `NAVER_SMS_SLACK_WEBHOOK_URL`."""
        if not settings.slack_enabled:
            return cls(webhook_url=None, enabled=False, **overrides)
        if not reveal(settings.slack_webhook_url):
            raise ConfigError(
                f"Slack is enabled but has no webhook URL: set it, or {ENV_PREFIX}SLACK_ENABLED=false",
                file="environment",
                field=f"{ENV_PREFIX}SLACK_WEBHOOK_URL",
            )
        return cls(webhook_url=settings.slack_webhook_url, **overrides)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SlackWebhookClient(enabled={self.enabled})"

    def post_message(self, text: str) -> ChannelReceipt:
        if not self.enabled:
            log.info("slack is disabled: message not posted")
            return ChannelReceipt(CHANNEL, "disabled", parts=0, detail="slack is disabled in configuration")
        if not text.strip():
            raise DeliveryRejected("the text is empty (Slack answers no_text)", channel=CHANNEL)
        body_text = escape_slack(text) if self._escape else text
        parts = split_text(body_text, self._max_chars)
        for index, part in enumerate(parts, start=1):
            where = f"part {index} of {len(parts)}" if len(parts) > 1 else "message"
            try:
                self._post_part(part, where)
            except DeliveryError:
                if index > 1:
                    log.error("slack: %s failed after %d part(s) were posted", where, index - 1)
                raise
        log.info("slack: message posted in %d part(s)", len(parts))
        return ChannelReceipt(CHANNEL, "sent", parts=len(parts))

    def _post_part(self, text: str, where: str) -> None:
        body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
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
                    f"{where} not posted: {reason}; gave up after {attempt} attempt(s)", channel=CHANNEL
                ) from exc
            except httpx.TransportError as exc:
                raise OutcomeUnknown(
                    f"{where}: no answer after the request was sent ({type(exc).__name__}); "
                    "it may have been posted - not resent",
                    channel=CHANNEL,
                ) from exc
            status = response.status_code
            if status == 200:
                return
            error = self._error_string(response)
            if status == 429:
                hint = _retry_after(response)  # absent: fall back to our own backoff
                if attempt < attempts and (hint is None or hint <= self._retry.max_hint):
                    delay = hint if hint is not None else self._retry.backoff(attempt)
                    self._wait(attempt, where, "rate limited (429)", delay)
                    continue
                raise DeliveryUnavailable(
                    f"{where} not posted: rate limited (Retry-After {hint}); "
                    f"gave up after {attempt} attempt(s)",
                    channel=CHANNEL,
                    status_code=429,
                    provider_message=error,
                )
            if status >= 500:
                if attempt < attempts:
                    self._wait(attempt, where, f"HTTP {status} {error}", self._retry.backoff(attempt))
                    continue
                raise DeliveryUnavailable(
                    f"{where} not posted: HTTP {status} {error}; gave up after {attempt} attempt(s)",
                    channel=CHANNEL,
                    status_code=status,
                    provider_message=error,
                )
            raise DeliveryRejected(
                f"{where} refused: HTTP {status} {error}".rstrip(),
                channel=CHANNEL,
                status_code=status,
                provider_message=error,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, where: str, reason: str, delay: float) -> None:
        log.warning(
            "slack: %s: %s; retry %d of %d in %.2fs",
            where,
            reason,
            attempt,
            self._retry.max_attempts - 1,
            delay,
        )
        self._sleep(delay)

    def _error_string(self, response: httpx.Response) -> str:
        """Slack's short error string (`channel_not_found`), or the `error` of a JSON answer."""
        text = response.text.strip()
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            text = data["error"]
        text = text[:200].replace(self._url, "***") if self._url else text[:200]
        return mask_phones(text)


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None
