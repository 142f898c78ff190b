"""Naver Cloud SENS SMS v2 client (external-apis.md §2). The legacy job never looked at the answer
(legacy-behaviour.md §7); here only HTTP 202 is sent, 4xx is final, 429/5xx and failures before the request
went out are retried, and no answer after it went out (the SMS may be sent) is looked up (`find_sent`) a
bounded number of times - `OutcomeUnknown` if not found, never a second send. Phone numbers are logged
masked; the access key, the secret and the signature never are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from naver_sms.config.settings import Settings
from naver_sms.domain.clock import Clock, SystemClock
from naver_sms.domain.privacy import mask_phone, mask_text
from naver_sms.domain.sms_text import non_euc_kr_chars
from naver_sms.errors import ConfigError, DeliveryError, DeliveryRejected, DeliveryUnavailable, OutcomeUnknown
from naver_sms.http_urllib3 import Answered, HeaderTemplate, Urllib3Transport, wire_headers
from naver_sms.notifications._http import (
    BEFORE_SEND_ERRORS,
    ChannelClient,
    redact_httpx_logs,
    retry_after_header,
    reveal,
    unset_settings,
)
from naver_sms.notifications.sens_lookup import SensLookup
from naver_sms.notifications.sens_wire import (
    CHANNEL,
    CLOCK_SKEW_MARGIN,
    check_sendable,
    make_signature,
    parse_sens_time,
    resolve_type,
)
from naver_sms.pacing import Pacer
from naver_sms.ports import DeliveryResult, SmsMessage, SmsReceipt
from naver_sms.retry import Again, RetryPolicy, Sleep, retry_call

log = logging.getLogger("naver_sms.notifications.sms")

#: the signed request's headers that change from one request to the next (external-apis.md §2)
_TIMESTAMP = "x-ncp-apigw-timestamp"
_SIGNATURE = "x-ncp-apigw-signature-v2"


class SensClient(ChannelClient):
    """`SmsService` over SENS. `clock` is the real time of the signature and the look-up window."""

    CHANNEL = CHANNEL
    LOG_NAME = "SENS"
    log = log
    live: bool = True
    #: a run's sends go straight to urllib3 (`_request`); its errors still tell "not sent" from "maybe sent"
    DEFAULT_TRANSPORT = Urllib3Transport

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
        clock: Clock | None = None,
        send_timeout: float = 30.0,
        pacer: Pacer | None = None,
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
        self._timeout = timeout
        #: the urllib3 transport a run's client sends through without httpx's objects (`_request`); any
        #: other (a caller's client, a proxy, a test's transport) gets every request through httpx
        self._urllib3 = self._http.transport if isinstance(self._http.transport, Urllib3Transport) else None
        self._timeouts = self._http.timeouts
        #: the wire headers of a GET and of a POST, worked out once (`HeaderTemplate`)
        self._templates: dict[str, HeaderTemplate] = {}
        # the longest one send may take (NAVER_SMS_SEND_TIMEOUT_SECONDS): a claim is sure to hold that long
        self._send_timeout = send_timeout
        # one backoff for every send of the run, however many are in flight at once
        self._pacer = pacer or Pacer(sleep=sleep)
        self._lookup_attempts = max(1, lookup_attempts)
        self._lookup_delay = lookup_delay
        self._clock = clock or SystemClock()
        # requests this client has accounted for (its sends, its look-ups' answers): never another message's
        self._lookup = SensLookup(self._get_json, self._messages_path, self._clock)
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
            **{"send_timeout": float(settings.send_timeout_seconds), **overrides},
        )

    def __repr__(self) -> str:
        return f"SensClient(base_url={self._base!r}, service_id={self._service_id!r})"

    @property
    def _messages_path(self) -> str:
        # the service id is put in the path unencoded, as SENS documents and signs it (external-apis.md §2)
        return f"/sms/v2/services/{self._service_id}/messages"

    def send(self, message: SmsMessage) -> SmsReceipt:
        return self.send_guarded(message, None)

    def send_guarded(self, message: SmsMessage, before_request: Callable[[], None] | None) -> SmsReceipt:
        """Send one SMS (see the module's docstring); `before_request` runs right before each POST (a retry's
        too) and stops the send by raising - `deliver_once` checks there that its claim still holds."""
        message = resolve_type(message)
        check_sendable(message)
        who = mask_phone(message.to)
        odd = non_euc_kr_chars(message.content + message.subject)
        if odd:
            # kept as written (legacy-behaviour.md §5); SENS may drop them (external-apis.md §2, unconfirmed)
            log.warning("SMS to %s holds %d character(s) outside EUC-KR; sent as written", who, len(odd))
        body = message.sens_bytes()
        what = f"SMS to {who}"
        # every request of this send, and every wait before one, ends within the send's budget: a claim
        # is renewed or given up unless that much of its lease is left (naver_sms.delivery)
        last_request = self._pacer.now() + self._send_timeout - self._timeout
        last: list[tuple[int, Again]] = []

        def out_of_time() -> DeliveryError:
            """Nothing went out, and no time is left for another try: a later run retries it."""
            if last:
                tries, again = last[0]
                return _unavailable(f"{what} not sent: {again.reason}; no time left for another try")(tries)
            return DeliveryUnavailable(
                f"{what} not sent: SENS asked every send to wait longer than one may take", channel=CHANNEL
            )

        def wait(seconds: float) -> None:  # the retry helper's wait, shared with every send in flight
            if self._pacer.now() + seconds > last_request:
                raise out_of_time()
            self._pacer.hold(seconds)

        def waiting(tries: int, again: Again, seconds: float) -> None:
            last[:] = [(tries, again)]
            self._waiting(what)(tries, again, seconds)

        def attempt() -> SmsReceipt | Again:
            if not self._pacer.wait_turn(until=last_request):
                raise out_of_time()
            if before_request is not None:
                before_request()
            sent_at = self._clock()
            try:
                response = self._request("POST", self._messages_path, content=body)
            except BEFORE_SEND_ERRORS as exc:
                reason = f"connection failed ({type(exc).__name__})"
                return Again(reason, _unavailable(f"{what} not sent: {reason}"), cause=exc)
            except httpx.RequestError as exc:  # no answer, or one that cannot be read (`DecodingError`):
                # SENS may have sent it - looked up, never sent again
                return self._resolve_lost_answer(message, sent_at, f"no answer ({type(exc).__name__})", exc)
            status = response.status_code
            if status == 202:
                receipt = self._receipt(response)
                if receipt.request_id:
                    self._lookup.account(receipt.request_id)
                log.info("SMS to %s accepted by SENS, requestId %s", who, receipt.request_id)
                return receipt
            provider = error_message(response)
            if status == 429 or status >= 500:
                reason = f"HTTP {status}" + (f" ({provider})" if provider else "")
                details = {"status_code": status, "provider_message": provider}
                give_up = _unavailable(f"{what} not sent: {reason}", **details)
                return Again(reason, give_up, hint=retry_after_header(response))
            if 200 <= status < 300:
                # a success code SENS does not use: the request arrived, whether it was sent is not known
                return self._resolve_lost_answer(message, sent_at, f"unexpected HTTP {status}", None)
            raise DeliveryRejected(
                f"{what} refused: HTTP {status}" + (f": {provider}" if provider else ""),
                channel=CHANNEL,
                status_code=status,
                provider_message=provider,
            )

        return retry_call(attempt, self._retry, sleep=wait, on_wait=waiting)

    def _resolve_lost_answer(
        self, message: SmsMessage, sent_at: datetime, reason: str, exc: Exception | None
    ) -> SmsReceipt:
        """No usable answer after the request went out: ask SENS (it may not list a message at once, so up to
        `lookup_attempts` times) - never resend."""
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

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        return self._lookup.find_sent(message, since=since, until=until, exclude=exclude)

    def delivery_result(self, request_id: str) -> DeliveryResult:
        """What became of an accepted SMS (`DeliveryLookup`: the daily report, `history`)."""
        return self._lookup.delivery_result(request_id)

    def _get_json(self, uri: str, what: str) -> dict[str, Any] | None:
        """GET with retries (a GET is safe to repeat). None on 404; `DeliveryUnavailable` otherwise."""

        def attempt() -> Answered | Again | None:
            try:
                response = self._request("GET", uri)
            except httpx.RequestError as exc:  # no answer, or one that does not decode: a GET is asked again
                reason = type(exc).__name__
                return Again(reason, _unavailable(f"SENS {what}: {reason}"), cause=exc)
            status = response.status_code
            if status == 404:
                return None
            if status in (200, 202):
                return response
            provider = error_message(response)
            cannot_tell = DeliveryUnavailable(
                f"SENS {what}: HTTP {status}" + (f": {provider}" if provider else "") + "; cannot tell",
                channel=CHANNEL,
                status_code=status,
                provider_message=provider,
            )
            if status == 429 or status >= 500:
                return Again(f"HTTP {status}", lambda tries: cannot_tell, hint=retry_after_header(response))
            raise cannot_tell

        response = retry_call(attempt, self._retry, sleep=self._sleep, on_wait=self._waiting(what))
        if response is None:
            return None
        try:
            data = response.json()
        except ValueError as exc:
            raise DeliveryUnavailable(f"SENS {what}: the answer is not JSON", channel=CHANNEL) from exc
        if not isinstance(data, dict):
            raise DeliveryUnavailable(f"SENS {what}: the answer is not a JSON object", channel=CHANNEL)
        return data

    def _request(self, method: str, uri: str, *, content: bytes | None = None) -> Answered:
        """One signed request. `uri` is signed exactly as it goes on the wire (path and encoded query)."""
        timestamp = str(int(self._clock().timestamp() * 1000))
        signature = make_signature(method, uri, timestamp, self._access_key, self._secret_key)
        log.debug("SENS %s %s", method, uri.split("?", 1)[0])
        if self._urllib3 is None:
            headers = self._headers(timestamp, signature, content)
            return self._http.request(method, self._base + uri, content=content, headers=headers)
        # the same request on the wire as through httpx (tests/notifications/test_sens_wire.py), its headers
        # worked out by httpx once: a third of a send's instructions went to httpx's objects
        template = self._templates.get(method)
        if template is None:
            wire = wire_headers(
                self._http.client,
                self._base + uri,
                self._headers(timestamp, signature, content),
                method=method,
                content=content,
            )
            template = self._templates[method] = HeaderTemplate.of(wire)
        values = {_TIMESTAMP: timestamp, _SIGNATURE: signature}
        if content is not None:
            values["content-length"] = str(len(content))
        wire = template.filled(values)
        return self._urllib3.request(method, self._base + uri, wire, self._timeouts, body=content)

    def _headers(self, timestamp: str, signature: str, content: bytes | None) -> dict[str, str]:
        headers = {
            _TIMESTAMP: timestamp,
            "x-ncp-iam-access-key": self._access_key,
            _SIGNATURE: signature,
        }
        if content is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return headers

    def _receipt(self, response: Answered) -> SmsReceipt:
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
            accepted_at=parse_sens_time(data.get("requestTime")) or self._clock(),
        )


def _unavailable(message: str, **details: Any) -> Callable[[int], DeliveryError]:
    """The error when the retries of a SENS call are used up: `message`, and how many tries it took."""
    return lambda tries: DeliveryUnavailable(
        f"{message}; gave up after {tries} attempt(s)", channel=CHANNEL, **details
    )


def error_message(response: Answered) -> str | None:
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
