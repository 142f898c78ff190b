"""What SENS takes, without HTTP (external-apis.md §2): the checks of a message before any request (the sandbox
outbox refuses the same texts the live client would, so a rehearsal never hides a too-long message), the
request signature, the look-up's windows and times, and how a listed message is compared with ours."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from naver_sms.domain.clock import KST
from naver_sms.domain.sms_text import choose_type, length_problem, non_euc_kr_chars
from naver_sms.errors import DeliveryRejected, MessageTooLong
from naver_sms.ports import LOOKUP_MARGIN, SmsMessage

CHANNEL = "sens"
SENS_TYPES = ("SMS", "LMS", "MMS")
CONTENT_TYPES = ("COMM", "AD")


def resolve_type(message: SmsMessage) -> SmsMessage:
    """A template's `type: auto` becomes SMS when the content fits in 90 EUC-KR bytes, LMS otherwise."""
    if message.type.strip().lower() == "auto":
        return replace(message, type=choose_type(message.content))
    return message


def check_sendable(message: SmsMessage) -> None:
    """Refuse, before any request, what SENS would refuse or - worse - silently truncate.

    Raises `MessageTooLong` (content over 90 bytes for SMS / 2000 for LMS and MMS, subject over 40 bytes,
    counted in EUC-KR) or `DeliveryRejected` (unknown type, empty content, a number that is not digits)."""
    if message.type not in SENS_TYPES:
        raise DeliveryRejected(f"unknown SMS type {message.type!r} (SMS, LMS, MMS or auto)", channel=CHANNEL)
    if message.content_type not in CONTENT_TYPES:
        raise DeliveryRejected(f"unknown contentType {message.content_type!r} (COMM or AD)", channel=CHANNEL)
    if not message.to.isdigit() or not message.to.isascii():
        raise DeliveryRejected("the recipient must be digits only", channel=CHANNEL)
    if not message.sender.isdigit() or not message.sender.isascii():
        raise DeliveryRejected("the sender number must be digits only", channel=CHANNEL)
    if not message.content:
        raise DeliveryRejected("the content is empty", channel=CHANNEL)
    problem = length_problem(message.type, message.content, message.subject)
    if problem is not None:
        raise MessageTooLong(problem, channel=CHANNEL)


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
