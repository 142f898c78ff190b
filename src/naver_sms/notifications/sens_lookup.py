"""SENS's look-up (external-apis.md §2, "Look-ups after sending"): was this message accepted in a window?
Recipient and sender are matched on our side: the list endpoint's own filters are unconfirmed, and a phone
number in a query string would end up in access logs. Times are KST, as SENS answers them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from naver_sms.domain.clock import Clock
from naver_sms.domain.privacy import mask_phone, mask_text
from naver_sms.errors import DeliveryUnavailable
from naver_sms.notifications.sens_wire import (
    CHANNEL,
    LOOKUP_MAX_CANDIDATES,
    LOOKUP_MAX_PAGES,
    LOOKUP_PAGE_SIZE,
    aware,
    digits,
    lookup_time,
    parse_sens_time,
    resolve_type,
    same_text,
    windows,
)
from naver_sms.ports import DeliveryResult, SmsMessage, SmsReceipt

log = logging.getLogger("naver_sms.notifications.sms")


class SensLookup:
    """The look-up of one `SensClient`: its GET (`get_json(uri, what)`: one signed GET with retries, the JSON
    object or None on 404), its messages path, its clock, and the requests it accounted for."""

    def __init__(
        self, get_json: Callable[[str, str], dict[str, Any] | None], messages_path: str, clock: Clock
    ) -> None:
        self._get_json = get_json
        self._messages_path = messages_path
        self._clock = clock
        self._accounted: set[str] = set()
        self._accounted_lock = threading.Lock()

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        """Was this message (same recipient, sender, type and - where SENS shows them - content and subject)
        accepted between `since` and `until` (naive: UTC)? COMPLETED with a statusCode other than "0" failed.
        A request in `exclude` or already accounted for (a send of this client, an earlier answer) is another
        message: one customer's two bookings get the same text, and one message must not settle both.
        Raises `DeliveryUnavailable` when SENS cannot be asked or cannot tell (more than one could be it)."""
        message = resolve_type(message)
        since, until = aware(since), aware(until)
        if since > until:
            raise ValueError("since must not be after until")
        who = mask_phone(message.to)
        taken = set(exclude) | self._accounted_ids()
        candidates: list[dict[str, Any]] = []
        for start, end in windows(since, until):
            for entry in self._list_requests(start, end):
                if (
                    digits(entry.get("to")) == message.to
                    and digits(entry.get("from")) == message.sender
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
            if result is None or not same_text(result, message):
                continue
            status = str(result.get("status", "")).upper()
            code = result.get("statusCode")
            if status == "COMPLETED" and str(code) != "0":
                log.info(
                    "SENS look-up: SMS to %s (message %s) failed at the carrier: %s",
                    who,
                    message_id,
                    mask_text(str(result.get("statusMessage") or code)),
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
        accepted_at = parse_sens_time(entry.get("requestTime") or result.get("requestTime"))
        if request_id:
            self.account(str(request_id))
        return SmsReceipt(
            status="sent",
            request_id=str(request_id) if request_id else None,
            accepted_at=accepted_at or self._clock(),
        )

    def delivery_result(self, request_id: str) -> DeliveryResult:
        """What became of request `request_id`: its messages' results (statusCode "0" = delivered)."""
        query = urlencode({"requestId": request_id}, quote_via=quote)
        data = self._get_json(f"{self._messages_path}?{query}", "request")
        entries = data.get("messages") if data is not None else None
        ids = [
            e["messageId"]
            for e in entries or ()
            if isinstance(e, dict) and isinstance(e.get("messageId"), str)
        ]
        if not ids:
            return DeliveryResult(request_id, "unknown", "SENS does not know this request")
        result = self._message_result(ids[0])
        if result is None:
            return DeliveryResult(request_id, "unknown", "SENS does not know this message")
        status = str(result.get("status", "")).upper()
        if status != "COMPLETED":
            return DeliveryResult(request_id, "pending", status.lower() or "pending")
        if str(result.get("statusCode")) == "0":
            return DeliveryResult(request_id, "delivered", str(result.get("completeTime") or ""))
        why = mask_text(
            str(result.get("statusMessage") or result.get("statusName") or result.get("statusCode"))
        )
        return DeliveryResult(request_id, "failed", why)

    def account(self, request_id: str) -> None:
        """`request_id` is one of this client's messages (a send it made, a look-up's answer)."""
        with self._accounted_lock:
            self._accounted.add(request_id)

    def _accounted_ids(self) -> set[str]:
        with self._accounted_lock:
            return set(self._accounted)

    def _list_requests(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        for page in range(LOOKUP_MAX_PAGES):
            query = urlencode(
                {
                    "requestStartTime": lookup_time(start, ceil=False),
                    "requestEndTime": lookup_time(end, ceil=True),
                    "pageIndex": page,
                    "pageSize": LOOKUP_PAGE_SIZE,
                },
                quote_via=quote,
            )
            data = self._get_json(f"{self._messages_path}?{query}", "message list")
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
        data = self._get_json(f"{self._messages_path}/{quote(message_id, safe='')}", "message result")
        if data is None:
            return None
        nested = data.get("messages")
        if isinstance(nested, list):  # the documented shape nests the message in a one-element list
            first = nested[0] if nested else None
            return first if isinstance(first, dict) else None
        return data
