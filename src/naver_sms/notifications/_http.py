"""What the three channel clients share: the retry policy, keeping secrets and phone numbers out of logs,
and splitting long texts.

Internal to `naver_sms.notifications`; the clients are the public surface.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from naver_sms.domain.booking import mask_phone

__all__ = [
    "BEFORE_SEND_ERRORS",
    "RetryPolicy",
    "Sleep",
    "mask_phones",
    "redact_httpx_logs",
    "reveal",
    "split_text",
    "utf16_length",
]

#: An injectable `time.sleep`.
Sleep = Callable[[float], None]

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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    `max_attempts` counts every request of one call (the first one included). The n-th retry waits
    `min(max_delay, base_delay * 2**(n-1))`, reduced by up to `jitter` (a fraction) at random so that several
    runs do not retry in lockstep. A server's own hint (`Retry-After`, Telegram's `retry_after`) replaces
    the computed delay but may not exceed `max_hint` - a longer hint ends the retries at once.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.3
    max_hint: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter is a fraction between 0 and 1")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        delay = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return float(delay * (1.0 - self.jitter * self.rng.random()))


def reveal(value: SecretStr | str | None) -> str:
    """The plain value of a credential (constructor arguments may be `SecretStr` or `str`)."""
    if value is None:
        return ""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


# A Korean phone number as digits (mobile 01x, Seoul 02, area 0xx), with or without hyphens. Used only to
# scrub text that came from outside (provider error messages, library log lines).
_PHONE = re.compile(r"(?<!\d)0\d{1,2}-?\d{3,4}-?\d{4}(?!\d)")


def mask_phones(text: str) -> str:
    """Every phone number in `text` masked the project's way (`010-****-5678`, `010****5678`)."""
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


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
        return mask_phones(text)

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
    """Split `text` into parts of at most `limit` (measured by `length`), on line boundaries.

    Lines are kept whole where they fit; the newline between two parts is dropped, and so are parts that
    would be blank (the services refuse an empty text). A single line longer than `limit` is cut hard
    (never inside a character).
    """
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
