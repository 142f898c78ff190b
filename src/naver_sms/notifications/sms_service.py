"""Naver Cloud SENS SMS v2 client: sends one SMS and tells success from failure (external-apis.md §2).

The legacy job posted the body and never looked at the answer (legacy-behaviour.md §7). Here:

* only HTTP 202 counts as sent; the receipt carries SENS's `requestId` and `requestTime`;
* 4xx (not 429) is final: `DeliveryRejected` carrying SENS's `errorMessage`;
* 429, 5xx and connection failures *before the request went out* are retried with bounded exponential
  backoff and jitter, then `DeliveryUnavailable`;
* no answer *after the request went out* (read timeout, connection dropped) may mean the SMS was sent: the
  client looks it up (`find_sent`) a bounded number of times and returns the receipt if SENS has it, otherwise
  raises `OutcomeUnknown`. It never sends the same message twice in one call;
* lengths are checked before sending, in EUC-KR bytes, because SENS truncates silently.

Look-up times (`requestStartTime` / `requestEndTime`) are sent as Asia/Seoul wall-clock time
`YYYY-MM-DD HH:mm:ss`: SENS is a Korean service and answers `requestTime` in KST without an offset, so both
directions use the same zone. Recipient and sender are matched on our side (the list endpoint's own
filters are unconfirmed, and a phone number in a query string ends up in access logs).

Phone numbers are logged masked (`010****5678`); the access key, the secret and the signature never are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from pydantic import SecretStr

from naver_sms.config.settings import Settings
from naver_sms.domain.booking import mask_phone
from naver_sms.domain.clock import KST
from naver_sms.domain.sms_text import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    SUBJECT_MAX_BYTES,
    choose_type,
    euc_kr_length,
    non_euc_kr_chars,
)
from naver_sms.errors import (
    ConfigError,
    DeliveryRejected,
    DeliveryUnavailable,
    MessageTooLong,
    OutcomeUnknown,
)
from naver_sms.notifications._http import (
    BEFORE_SEND_ERRORS,
    ChannelClient,
    RetryPolicy,
    Sleep,
    mask_phones,
    redact_httpx_logs,
    retry_after_header,
    reveal,
    unset_settings,
)
from naver_sms.notifications.protocols import LOOKUP_MARGIN, SmsMessage, SmsReceipt

__all__ = [
    "LOOKUP_TIME_FORMAT",
    "RetryPolicy",
    "SensClient",
    "check_sendable",
    "make_signature",
    "resolve_type",
]

log = logging.getLogger("naver_sms.notifications.sms")

CHANNEL = "sens"
SENS_TYPES = ("SMS", "LMS", "MMS")
CONTENT_TYPES = ("COMM", "AD")
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
    limit = SMS_MAX_BYTES if message.type == "SMS" else LMS_MAX_BYTES
    size = euc_kr_length(message.content)
    if size > limit:
        raise MessageTooLong(
            f"{message.type} content is {size} bytes in EUC-KR, over the limit of {limit} "
            "(SENS would truncate it)",
            channel=CHANNEL,
        )
    if message.type != "SMS":
        subject_size = euc_kr_length(message.subject)
        if subject_size > SUBJECT_MAX_BYTES:
            raise MessageTooLong(
                f"subject is {subject_size} bytes in EUC-KR, over the limit of {SUBJECT_MAX_BYTES}",
                channel=CHANNEL,
            )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SensClient(ChannelClient):
    """`SmsService` over the SENS v2 API.

    `http` (an `httpx.Client`) or `transport` (e.g. `httpx.MockTransport`) is the seam for tests; without
    either the client makes its own `httpx.Client` with `timeout` seconds. `sleep` is the wait between
    retries; `clock` is the wall clock (an aware datetime) for the signature timestamp and the look-up window.

    The send loop is SENS's own, not `PostingClient`'s: 429 and 5xx are alike, and an answer lost after the
    request went out is looked up (`find_sent`) instead of reported.
    """

    CHANNEL = CHANNEL
    LOG_NAME = "SENS"
    log = log
    live: bool = True

    def __init__(
        self,
        *,
        base_url: str,
        service_id: str,
        access_key: SecretStr | str,
        secret_key: SecretStr | str,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        lookup_attempts: int = 3,
        lookup_delay: float = 2.0,
        sleep: Sleep = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not service_id:
            raise ValueError("service_id is required")
        self._base = base_url.rstrip("/")
        self._service_id = service_id
        self._access_key = reveal(access_key)
        self._secret_key = reveal(secret_key)
        if not self._access_key or not self._secret_key:
            raise ValueError("access_key and secret_key are required")
        super().__init__(http=http, transport=transport, timeout=timeout, retry=retry, sleep=sleep)
        # requests this client has accounted for (its sends, its look-ups' answers): never another message's
        self._accounted: set[str] = set()
        self._accounted_lock = threading.Lock()
        self._lookup_attempts = max(1, lookup_attempts)
        self._lookup_delay = lookup_delay
        self._clock = clock
        redact_httpx_logs(self._access_key, self._secret_key)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SensClient:
        """The client for `settings` (`NAVER_SMS_SENS_*`); `overrides` go to the constructor."""
        missing = unset_settings(settings, "sens_access_key", "sens_secret_key", "sens_service_id")
        if missing:
            raise ConfigError(
                "SENS needs an access key, a secret key and a service id to send for real",
                file="environment",
                field=", ".join(missing),
            )
        assert settings.sens_access_key is not None and settings.sens_secret_key is not None
        assert settings.sens_service_id is not None
        return cls(
            base_url=settings.sens_base,
            service_id=settings.sens_service_id,
            access_key=settings.sens_access_key,
            secret_key=settings.sens_secret_key,
            **overrides,
        )

    def __repr__(self) -> str:
        return f"SensClient(base_url={self._base!r}, service_id={self._service_id!r})"

    # -- send -------------------------------------------------------------------------------------------

    @property
    def _messages_path(self) -> str:
        # the service id is put in the path unencoded, as SENS documents and signs it (external-apis.md §2)
        return f"/sms/v2/services/{self._service_id}/messages"

    def send(self, message: SmsMessage) -> SmsReceipt:
        message = resolve_type(message)
        check_sendable(message)
        who = mask_phone(message.to)
        odd = non_euc_kr_chars(message.content + message.subject)
        if odd:
            # kept as written (legacy-behaviour.md §5); SENS may drop them (external-apis.md §2, unconfirmed)
            log.warning("SMS to %s holds %d character(s) outside EUC-KR; sent as written", who, len(odd))
        body = message.sens_bytes()
        attempts = self._retry.max_attempts
        for attempt in range(1, attempts + 1):
            sent_at = self._clock()
            try:
                response = self._request("POST", self._messages_path, content=body)
            except BEFORE_SEND_ERRORS as exc:
                reason = f"connection failed ({type(exc).__name__})"
                if attempt < attempts:
                    self._wait_before_retry(attempt, reason, f"SMS to {who}")
                    continue
                raise DeliveryUnavailable(
                    f"SMS to {who} not sent: {reason}; gave up after {attempt} attempt(s)",
                    channel=CHANNEL,
                ) from exc
            except httpx.TransportError as exc:
                return self._resolve_lost_answer(message, sent_at, f"no answer ({type(exc).__name__})", exc)

            status = response.status_code
            if status == 202:
                receipt = self._receipt(response)
                if receipt.request_id:
                    self._account(receipt.request_id)
                log.info("SMS to %s accepted by SENS, requestId %s", who, receipt.request_id)
                return receipt
            provider = _error_message(response)
            if status == 429 or status >= 500:
                reason = f"HTTP {status}" + (f" ({provider})" if provider else "")
                hint = retry_after_header(response)
                if attempt < attempts and (hint is None or hint <= self._retry.max_hint):
                    self._wait_before_retry(attempt, reason, f"SMS to {who}", hint=hint)
                    continue
                raise DeliveryUnavailable(
                    f"SMS to {who} not sent: {reason}; gave up after {attempt} attempt(s)",
                    channel=CHANNEL,
                    status_code=status,
                    provider_message=provider,
                )
            if 200 <= status < 300:
                # a success code SENS does not use: the request arrived, whether it was sent is not known
                return self._resolve_lost_answer(message, sent_at, f"unexpected HTTP {status}", None)
            raise DeliveryRejected(
                f"SMS to {who} refused: HTTP {status}" + (f": {provider}" if provider else ""),
                channel=CHANNEL,
                status_code=status,
                provider_message=provider,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_before_retry(self, attempt: int, reason: str, what: str, *, hint: float | None = None) -> None:
        self._wait(attempt, what, reason, hint if hint is not None else self._retry.backoff(attempt))

    def _resolve_lost_answer(
        self, message: SmsMessage, sent_at: datetime, reason: str, exc: Exception | None
    ) -> SmsReceipt:
        """The request went out and no usable answer came: ask SENS whether it has the message - never resend.

        SENS may not list a message at once, so the look-up is tried `lookup_attempts` times."""
        who = mask_phone(message.to)
        log.warning(
            "SENS: SMS to %s: %s after the request was sent; looking it up instead of resending", who, reason
        )
        for attempt in range(1, self._lookup_attempts + 1):
            self._sleep(self._lookup_delay)
            try:
                found = self.find_sent(
                    message, since=sent_at - CLOCK_SKEW_MARGIN, until=self._clock() + CLOCK_SKEW_MARGIN
                )
            except (DeliveryUnavailable, DeliveryRejected) as lookup_error:
                log.warning(
                    "SENS: look-up %d of %d for SMS to %s failed: %s",
                    attempt,
                    self._lookup_attempts,
                    who,
                    lookup_error,
                )
                continue
            if found is not None:
                log.info(
                    "SENS: SMS to %s was accepted (requestId %s), found by the look-up", who, found.request_id
                )
                return found
            log.info(
                "SENS: look-up %d of %d: SMS to %s not listed (yet)", attempt, self._lookup_attempts, who
            )
        raise OutcomeUnknown(
            f"SMS to {who}: {reason} after the request was sent, and the look-up did not find it; "
            "it may still have been sent - not resent",
            channel=CHANNEL,
        ) from exc

    # -- look-up ----------------------------------------------------------------------------------------

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        """Was this message (same recipient, sender, type and - where SENS shows them - content and subject)
        accepted by SENS between `since` and `until`? Naive datetimes are taken as UTC.

        Lists the requests in the window (split into windows of at most 30 days), then reads each candidate's
        result: READY / PROCESSING / COMPLETED with statusCode "0" count as sent; COMPLETED with another code
        failed and does not count. A request in `exclude`, or one this client already accounted for (a send
        it made, or an earlier look-up's answer), is another message and never matches: one customer's two
        bookings get the same confirmation text, and one message must not settle both.

        Raises `DeliveryUnavailable` when SENS cannot be asked, or cannot tell: more than one request could be
        this message, or more than one candidate and SENS does not show their text."""
        message = resolve_type(message)
        since, until = _aware(since), _aware(until)
        if since > until:
            raise ValueError("since must not be after until")
        who = mask_phone(message.to)
        taken = set(exclude) | self._accounted_ids()
        candidates: list[dict[str, Any]] = []
        for start, end in _windows(since, until):
            for entry in self._list_requests(start, end):
                if (
                    _digits(entry.get("to")) == message.to
                    and _digits(entry.get("from")) == message.sender
                    and str(entry.get("type") or message.type).upper() == message.type
                    and str(entry.get("requestId") or "") not in taken
                ):
                    candidates.append(entry)
        candidates.sort(key=lambda e: str(e.get("requestTime", "")), reverse=True)
        log.debug("SENS look-up for SMS to %s: %d candidate(s)", who, len(candidates))
        if len(candidates) > LOOKUP_MAX_CANDIDATES:
            # reading only some of them could miss the one that went out: say so instead of guessing
            raise DeliveryUnavailable(
                f"SENS look-up: {len(candidates)} messages to {who} from that sender in the window "
                f"(at most {LOOKUP_MAX_CANDIDATES} are checked); cannot tell",
                channel=CHANNEL,
            )
        matches: list[tuple[dict[str, Any], dict[str, Any]]] = []
        text_unknown = False
        for entry in candidates:
            message_id = entry.get("messageId")
            if not isinstance(message_id, str) or not message_id:
                continue
            result = self._message_result(message_id)
            if result is None or not _same_text(result, message):
                continue
            status = str(result.get("status", "")).upper()
            code = result.get("statusCode")
            if status == "COMPLETED" and str(code) != "0":
                log.info(
                    "SENS look-up: SMS to %s (message %s) failed at the carrier: %s",
                    who,
                    message_id,
                    mask_phones(str(result.get("statusMessage") or code)),
                )
                continue
            text_unknown = text_unknown or not isinstance(result.get("content"), str)
            matches.append((entry, result))
        if len(matches) > 1:
            raise DeliveryUnavailable(
                f"SENS look-up: {len(matches)} requests to {who} could be this message"
                + (" (SENS does not show their text)" if text_unknown else "")
                + "; cannot tell which",
                channel=CHANNEL,
            )
        if not matches:
            return None
        entry, result = matches[0]
        request_id = entry.get("requestId") or result.get("requestId")
        accepted_at = _parse_sens_time(entry.get("requestTime") or result.get("requestTime"))
        if request_id:
            self._account(str(request_id))
        return SmsReceipt(
            status="sent",
            request_id=str(request_id) if request_id else None,
            accepted_at=accepted_at or self._clock(),
        )

    def _account(self, request_id: str) -> None:
        with self._accounted_lock:
            self._accounted.add(request_id)

    def _accounted_ids(self) -> set[str]:
        with self._accounted_lock:
            return set(self._accounted)

    def _list_requests(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        for page in range(LOOKUP_MAX_PAGES):
            query = urlencode(
                {
                    "requestStartTime": _lookup_time(start, ceil=False),
                    "requestEndTime": _lookup_time(end, ceil=True),
                    "pageIndex": page,
                    "pageSize": LOOKUP_PAGE_SIZE,
                },
                quote_via=quote,
            )
            data = self._get_json(f"{self._messages_path}?{query}", what="message list")
            if data is None:
                return
            entries = data.get("messages")
            if not isinstance(entries, list):
                raise DeliveryUnavailable(
                    "SENS message list: answer without a `messages` list", channel=CHANNEL
                )
            yield from (e for e in entries if isinstance(e, dict))
            if data.get("hasMore") is not True:
                return
        raise DeliveryUnavailable(
            f"SENS message list: more than {LOOKUP_MAX_PAGES} pages in the window; cannot tell",
            channel=CHANNEL,
        )

    def _message_result(self, message_id: str) -> dict[str, Any] | None:
        data = self._get_json(f"{self._messages_path}/{quote(message_id, safe='')}", what="message result")
        if data is None:
            return None
        nested = data.get("messages")
        if isinstance(nested, list):  # the documented shape nests the message in a one-element list
            first = nested[0] if nested else None
            return first if isinstance(first, dict) else None
        return data

    def _get_json(self, uri: str, *, what: str) -> dict[str, Any] | None:
        """GET with retries (a GET is safe to repeat). None on 404; `DeliveryUnavailable` otherwise."""
        attempts = self._retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                response = self._request("GET", uri)
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}"
                if attempt < attempts:
                    self._wait_before_retry(attempt, reason, what)
                    continue
                raise DeliveryUnavailable(
                    f"SENS {what}: {reason}; gave up after {attempt} attempt(s)",
                    channel=CHANNEL,
                ) from exc
            status = response.status_code
            if status == 404:
                return None
            if status == 429 or status >= 500:
                hint = retry_after_header(response)
                if attempt < attempts and (hint is None or hint <= self._retry.max_hint):
                    self._wait_before_retry(attempt, f"HTTP {status}", what, hint=hint)
                    continue
            if status != 200 and status != 202:
                provider = _error_message(response)
                raise DeliveryUnavailable(
                    f"SENS {what}: HTTP {status}" + (f": {provider}" if provider else "") + "; cannot tell",
                    channel=CHANNEL,
                    status_code=status,
                    provider_message=provider,
                )
            try:
                data = response.json()
            except ValueError as exc:
                raise DeliveryUnavailable(f"SENS {what}: the answer is not JSON", channel=CHANNEL) from exc
            if not isinstance(data, dict):
                raise DeliveryUnavailable(f"SENS {what}: the answer is not a JSON object", channel=CHANNEL)
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    # -- HTTP -------------------------------------------------------------------------------------------

    def _request(self, method: str, uri: str, *, content: bytes | None = None) -> httpx.Response:
        """One signed request. `uri` is signed exactly as it goes on the wire (path and encoded query)."""
        timestamp = str(int(self._clock().timestamp() * 1000))
        signature = make_signature(method, uri, timestamp, self._access_key, self._secret_key)
        headers = {
            "x-ncp-apigw-timestamp": timestamp,
            "x-ncp-iam-access-key": self._access_key,
            "x-ncp-apigw-signature-v2": signature,
        }
        if content is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        log.debug("SENS %s %s", method, uri.split("?", 1)[0])
        return self._http.request(method, self._base + uri, content=content, headers=headers)

    def _receipt(self, response: httpx.Response) -> SmsReceipt:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not data.get("requestId"):
            # accepted is accepted: a 202 without its usual body still means SENS took the message
            log.warning("SENS answered 202 without a requestId")
            return SmsReceipt(status="sent", request_id=None, accepted_at=self._clock())
        return SmsReceipt(
            status="sent",
            request_id=str(data["requestId"]),
            accepted_at=_parse_sens_time(data.get("requestTime")) or self._clock(),
        )


# -- helpers ----------------------------------------------------------------------------------------------


def _error_message(response: httpx.Response) -> str | None:
    """SENS's `errorMessage` (400), or the API gateway's `error.message` / `error.details` (401, 403),
    with any phone number masked; None when the body says nothing usable."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return mask_phones(text[:200]) if text else None
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
    return mask_phones("; ".join(parts)) if parts else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _windows(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    start = since
    while True:
        end = min(until, start + LOOKUP_MAX_WINDOW)
        yield start, end
        if end >= until:
            return
        start = end


def _lookup_time(value: datetime, *, ceil: bool) -> str:
    local = value.astimezone(KST)
    if ceil and local.microsecond:
        local = local.replace(microsecond=0) + timedelta(seconds=1)
    return local.strftime(LOOKUP_TIME_FORMAT)


def _parse_sens_time(raw: object) -> datetime | None:
    """SENS times: `2026-11-26T18:40:00.123` or `2026-11-26 18:40:00`, KST when there is no offset."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=KST)


def _digits(raw: object) -> str:
    return "".join(ch for ch in str(raw or "") if ch.isdigit())


def _comparable(text: str) -> str:
    """Text as SENS may give it back: characters outside EUC-KR possibly dropped, whitespace normalised."""
    dropped = set(non_euc_kr_chars(text))
    return "".join(ch for ch in text if not ch.isspace() and ch not in dropped and ch != "?")


def _same_text(result: dict[str, Any], message: SmsMessage) -> bool:
    """Where SENS shows content and subject, they must be the message's: a confirmation and a guide can go to
    the same number from the same sender within minutes (legacy-behaviour.md §3, §5)."""
    content = result.get("content")
    if isinstance(content, str) and _comparable(content) != _comparable(message.content):
        return False
    subject = result.get("subject")
    return not (
        isinstance(subject, str)
        and subject
        and message.type != "SMS"
        and _comparable(subject) != _comparable(message.subject)
    )
