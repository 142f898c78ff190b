"""What the three channel clients share: the client plumbing, the classified post of Telegram and Slack, secrets
and phone numbers kept out of logs, and splitting long texts."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import httpx
from pydantic import SecretStr

from naver_sms.config.settings import ENV_PREFIX, Settings
from naver_sms.domain.privacy import mask_text
from naver_sms.errors import DeliveryError, DeliveryRejected, DeliveryUnavailable, OutcomeUnknown
from naver_sms.http_direct import DirectHttp
from naver_sms.http_urllib3 import Answered
from naver_sms.retry import Again, RetryPolicy, Sleep, parse_retry_after, retry_call

#: Transport failures that happen before a byte of the request reached the server: always safe to retry.
#: Every other `httpx.TransportError` (read timeout, connection reset, server disconnected) may come after
#: the server got the request - and for SENS, after it sent the SMS (external-apis.md §2).
BEFORE_SEND_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,  # the proxy refused the tunnel: nothing reached the service
    httpx.UnsupportedProtocol,  # a misconfigured base URL: nothing was sent (retrying is harmless, bounded)
    httpx.LocalProtocolError,  # h11 refused to write our request
)


def reveal(value: SecretStr | str | None) -> str:
    """The plain value of a credential (constructor arguments may be `SecretStr` or `str`)."""
    if value is None:
        return ""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def unset_settings(settings: Settings, *names: str) -> list[str]:
    """The environment variables (`NAVER_SMS_...`) of the `settings` fields among `names` that are unset or
    empty, for a `ConfigError`'s `field`."""
    return [ENV_PREFIX + name.upper() for name in names if not reveal(getattr(settings, name))]


def retry_after_header(response: Answered) -> float | None:
    """The `Retry-After` header in seconds (SENS, Slack: external-apis.md §2, §4); None when absent."""
    return parse_retry_after(response.headers.get("Retry-After"))


class ChannelClient:
    """An HTTP client (`http`, or one made over `transport`: the seam for tests, style.md §2; its requests go
    straight to the transport, `http_direct`) closed with the client only if it made it, the retry policy,
    the injectable sleep, the logged wait before a retry."""

    CHANNEL: ClassVar[str]
    LOG_NAME: ClassVar[str]
    log: ClassVar[logging.Logger]
    #: the transport made when neither a client nor a transport is given (`DirectHttp.make`'s `default`)
    DEFAULT_TRANSPORT: ClassVar[type[httpx.BaseTransport]] = httpx.HTTPTransport

    def __init__(
        self,
        *,
        http: httpx.Client | None,
        transport: httpx.BaseTransport | None,
        timeout: float,
        retry: RetryPolicy | None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._http = DirectHttp.make(
            http=http, transport=transport, timeout=timeout, default=self.DEFAULT_TRANSPORT
        )
        self._retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _waiting(self, what: str) -> Callable[[int, Again, float], None]:
        def log_wait(attempt: int, again: Again, delay: float) -> None:
            self.log.warning(
                "%s: %s: %s; retry %d of %d in %.2fs",
                self.LOG_NAME,
                what,
                again.reason,
                attempt,
                self._retry.max_attempts - 1,
                delay,
            )

        return log_wait


@dataclass(frozen=True, slots=True)
class Answer:
    """What a `PostingClient` reads from one HTTP answer."""

    ok: bool  #: delivered
    result: str = ""  #: what the service returned for a delivered message (Telegram's message_id)
    provider_message: str = ""  #: the service's own error text, scrubbed of secrets and phone numbers
    code: int | None = None  #: the error code to report on a refusal, when not the HTTP status
    retry_after: float | None = None  #: the service's wait hint on a 429, in seconds


class PostingClient(ChannelClient):
    """A channel that posts one JSON body per part and never looks up what it sent (Telegram, Slack): 429 waits
    the service's hint, 5xx and failures before the request went out back off, then `DeliveryUnavailable`;
    any other answer not `ok` is `DeliveryRejected`; no answer after it went out is `OutcomeUnknown` (not
    resent). A subclass reads an answer (`_read`) its service's way."""

    #: How an error says the part did not go out ("not sent" / "not posted") and how it went ("sent"/"posted").
    DONE: ClassVar[str]
    #: The name of the wait hint in a rate-limit error ("retry_after", "Retry-After").
    HINT_NAME: ClassVar[str]
    #: Whether the wait before retrying a 5xx logs the service's error text after the status.
    ERROR_IN_RETRY_LOG: ClassVar[bool] = False

    def _read(self, response: httpx.Response) -> Answer:
        raise NotImplementedError

    def _post_parts(self, url: str, payloads: list[dict[str, Any]]) -> list[str]:
        """Post each payload in order (a long text split into parts); the `Answer.result` of each."""
        results: list[str] = []
        for index, payload in enumerate(payloads, start=1):
            where = f"part {index} of {len(payloads)}" if len(payloads) > 1 else "message"
            try:
                results.append(self._post_with_retries(url, payload, where).result)
            except DeliveryError:
                if index > 1:
                    self.log.error(
                        "%s: %s failed after %d part(s) were %s", self.LOG_NAME, where, index - 1, self.DONE
                    )
                raise
        self.log.info("%s: message %s in %d part(s)", self.LOG_NAME, self.DONE, len(payloads))
        return results

    def _post_with_retries(self, url: str, payload: dict[str, Any], where: str) -> Answer:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        channel = self.CHANNEL

        def unavailable(message: str, **details: Any) -> Callable[[int], DeliveryError]:
            return lambda tries: DeliveryUnavailable(
                f"{where} not {self.DONE}: {message}; gave up after {tries} attempt(s)",
                channel=channel,
                **details,
            )

        def attempt() -> Answer | Again:
            try:
                response = self._http.request("POST", url, content=body, headers=headers)
            except BEFORE_SEND_ERRORS as exc:
                reason = f"connection failed ({type(exc).__name__})"
                return Again(reason, unavailable(reason), cause=exc)
            except httpx.RequestError as exc:  # no answer, or one that does not decode (`DecodingError`)
                raise OutcomeUnknown(
                    f"{where}: no answer after the request was sent ({type(exc).__name__}); "
                    "it may have been posted - not resent",
                    channel=channel,
                ) from exc
            answer = self._read(response)
            if answer.ok:
                return answer
            status, error = response.status_code, answer.provider_message
            if status == 429:  # the service's hint, when it gave one; otherwise our own backoff
                limited = f"rate limited ({self.HINT_NAME} {answer.retry_after})"
                details = {"status_code": 429, "provider_message": error}
                return Again("rate limited (429)", unavailable(limited, **details), hint=answer.retry_after)
            if status >= 500:
                reason = f"HTTP {status} {error}" if self.ERROR_IN_RETRY_LOG else f"HTTP {status}"
                details = {"status_code": status, "provider_message": error}
                return Again(reason, unavailable(f"HTTP {status} {error}", **details))
            raise DeliveryRejected(
                f"{where} refused: HTTP {status} {error}".rstrip(),
                channel=channel,
                status_code=answer.code if answer.code is not None else status,
                provider_message=error,
            )

        return retry_call(attempt, self._retry, sleep=self._sleep, on_wait=self._waiting(where))


class _Redactor(logging.Filter):
    """Rewrites records of the `httpx` logger: httpx logs every request's full URL at INFO, and the Telegram
    bot token and the Slack webhook secret are part of their URLs."""

    def __init__(self) -> None:
        super().__init__("httpx-redactor")
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if len(s) >= 4)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "***")
        return mask_text(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix; drop its arguments rather than leak them
            message = str(record.msg)
        record.msg = self.scrub(message)
        record.args = None
        return True


_REDACTOR = _Redactor()
_INSTALL_LOCK = threading.Lock()


def redact_httpx_logs(*secrets: str) -> _Redactor:
    """Keep `secrets` (and phone numbers) out of the `httpx` / `httpcore` loggers from now on."""
    with _INSTALL_LOCK:
        for name in ("httpx", "httpcore"):
            logger = logging.getLogger(name)
            if _REDACTOR not in logger.filters:
                logger.addFilter(_REDACTOR)
    _REDACTOR.add(secrets)
    return _REDACTOR


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: how Telegram counts its 4096 (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, *, length: Callable[[str], int] = utf16_length) -> list[str]:
    """Parts of at most `limit` (by `length`), split on line boundaries; blank parts dropped (the services refuse
    an empty text); a longer line cut hard, never inside a character."""
    if length(text) <= limit:
        return [text]
    parts: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        if current is not None:
            candidate = current + "\n" + line
            if length(candidate) <= limit:
                current = candidate
                continue
            parts.append(current)
            current = None
        while length(line) > limit:
            head = _prefix_within(line, limit, length)
            parts.append(head)
            line = line[len(head) :]
        current = line
    if current is not None:
        parts.append(current)
    return [part for part in parts if part.strip()]


def _prefix_within(line: str, limit: int, length: Callable[[str], int]) -> str:
    """The longest prefix of `line` whose length is at most `limit` (binary search: lengths only grow)."""
    lo, hi = 1, len(line)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if length(line[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return line[:lo]
