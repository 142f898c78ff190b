"""SENS's wire format (external-apis.md §2): the request signature, the look-up's windows and times, its
answers' times and error texts, and how a listed message is compared with ours. No HTTP client here."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from naver_sms.domain.clock import KST
from naver_sms.domain.privacy import mask_text
from naver_sms.domain.sms_text import non_euc_kr_chars
from naver_sms.ports import LOOKUP_MARGIN, SmsMessage

__all__ = [
    "CLOCK_SKEW_MARGIN",
    "LOOKUP_MAX_CANDIDATES",
    "LOOKUP_MAX_PAGES",
    "LOOKUP_MAX_WINDOW",
    "LOOKUP_PAGE_SIZE",
    "LOOKUP_TIME_FORMAT",
    "aware",
    "digits",
    "error_message",
    "lookup_time",
    "make_signature",
    "parse_sens_time",
    "same_text",
    "windows",
]

#: `requestStartTime` / `requestEndTime` of the look-up, in Asia/Seoul (external-apis.md §2).
LOOKUP_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The list endpoint refuses windows longer than this; longer look-ups are split.
LOOKUP_MAX_WINDOW = timedelta(days=30) - timedelta(seconds=2)  # room for rounding to seconds
#: The gateway accepts a client clock up to 5 minutes off, so SENS's `requestTime` of our request may be
#: that far from our own clock: the look-up after a lost answer searches this much around it.
CLOCK_SKEW_MARGIN = LOOKUP_MARGIN
#: Pages of the list endpoint read at most per window; more than that and the client cannot tell.
LOOKUP_MAX_PAGES = 20
LOOKUP_PAGE_SIZE = 100
#: Candidates (same recipient and sender) whose result is fetched at most per look-up.
LOOKUP_MAX_CANDIDATES = 20


def make_signature(method: str, uri: str, timestamp_ms: int | str, access_key: str, secret_key: str) -> str:
    """`x-ncp-apigw-signature-v2`: Base64(HMAC-SHA256(secret, "{METHOD} {URI}\\n{timestamp}\\n{accessKey}")).

    `uri` is the path plus the query string exactly as sent, without the host (external-apis.md §2)."""
    text = f"{method} {uri}\n{timestamp_ms}\n{access_key}"
    digest = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def error_message(response: httpx.Response) -> str | None:
    """SENS's `errorMessage` (400), or the API gateway's `error.message` / `error.details` (401, 403),
    with any phone number masked; None when the body says nothing usable."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return mask_text(text[:200]) if text else None
    if not isinstance(data, dict):
        return None
    parts: list[str] = []
    if isinstance(data.get("errorMessage"), str):
        parts.append(data["errorMessage"])
    errors = data.get("errors")
    if isinstance(errors, list):
        parts.extend(str(e) for e in errors[:5])
    gateway = data.get("error")
    if isinstance(gateway, dict):
        parts.extend(str(gateway[k]) for k in ("errorCode", "message", "details") if gateway.get(k))
    return mask_text("; ".join(parts)) if parts else None


def aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def windows(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    start = since
    while True:
        end = min(until, start + LOOKUP_MAX_WINDOW)
        yield start, end
        if end >= until:
            return
        start = end


def lookup_time(value: datetime, *, ceil: bool) -> str:
    local = value.astimezone(KST)
    if ceil and local.microsecond:
        local = local.replace(microsecond=0) + timedelta(seconds=1)
    return local.strftime(LOOKUP_TIME_FORMAT)


def parse_sens_time(raw: object) -> datetime | None:
    """SENS times: `2026-11-26T18:40:00.123` or `2026-11-26 18:40:00`, KST when there is no offset."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=KST)


def digits(raw: object) -> str:
    return "".join(ch for ch in str(raw or "") if ch.isdigit())


def comparable(text: str) -> str:
    """Text as SENS may give it back: characters outside EUC-KR possibly dropped, whitespace normalised."""
    dropped = set(non_euc_kr_chars(text))
    return "".join(ch for ch in text if not ch.isspace() and ch not in dropped and ch != "?")


def same_text(result: dict[str, Any], message: SmsMessage) -> bool:
    """Where SENS shows content and subject, they must be the message's: a confirmation and a guide can go to
    the same number from the same sender within minutes (legacy-behaviour.md §3, §5)."""
    content = result.get("content")
    if isinstance(content, str) and comparable(content) != comparable(message.content):
        return False
    subject = result.get("subject")
    return not (
        isinstance(subject, str)
        and subject
        and message.type != "SMS"
        and comparable(subject) != comparable(message.subject)
    )
