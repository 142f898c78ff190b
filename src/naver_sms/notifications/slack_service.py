"""Slack incoming-webhook client (external-apis.md §4), retried as `PostingClient` does.

Slack truncates a text past 40,000 characters, so a longer one (a digest) is split on line boundaries into
several posts. Plain `text` with `&`, `<`, `>` escaped: customer text cannot turn into links or mentions. The
webhook URL is a credential (whoever has it can post): never logged, never in an error or a repr.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from naver_sms.config.settings import ENV_PREFIX, Settings
from naver_sms.domain.privacy import mask_text
from naver_sms.errors import ConfigError, DeliveryRejected
from naver_sms.notifications._http import (
    Answer,
    PostingClient,
    redact_httpx_logs,
    retry_after_header,
    reveal,
    split_text,
    unset_settings,
)
from naver_sms.ports import ChannelReceipt
from naver_sms.retry import RetryPolicy, Sleep

log = logging.getLogger("naver_sms.notifications.slack")

CHANNEL = "slack"
#: Slack truncates `text` past this many characters (external-apis.md §4).
SLACK_MAX_CHARS = 40_000


def escape_slack(text: str) -> str:
    """Slack's three control characters escaped (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackWebhookClient(PostingClient):
    """`SlackService`: success is HTTP 200, the wait hint `Retry-After`, the error Slack's short string."""

    CHANNEL = CHANNEL
    LOG_NAME = "slack"
    log = log
    DONE = "posted"
    HINT_NAME = "Retry-After"
    ERROR_IN_RETRY_LOG = True

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
        super().__init__(http=http, transport=transport, timeout=timeout, retry=retry, sleep=sleep)
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
        missing = unset_settings(settings, "slack_webhook_url")
        if missing:
            raise ConfigError(
                f"Slack is enabled but has no webhook URL: set it, or {ENV_PREFIX}SLACK_ENABLED=false",
                file="environment",
                field=", ".join(missing),
            )
        return cls(webhook_url=settings.slack_webhook_url, **overrides)

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
        self._post_parts(self._url, [{"text": part} for part in parts])
        return ChannelReceipt(CHANNEL, "sent", parts=len(parts))

    def _read(self, response: httpx.Response) -> Answer:
        if response.status_code == 200:
            return Answer(ok=True)
        return Answer(
            ok=False, provider_message=self._error_string(response), retry_after=retry_after_header(response)
        )

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
        return mask_text(text)
