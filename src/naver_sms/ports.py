"""The ports of the core: the protocols it needs from the outside world and the values they carry. The core
calls them; the adapters (notifications, naver, database) implement them and import them from here (style.md
§12: the consumer owns its ports). The flags' store has its own port: `naver_sms.flags.store.RecordStore`.

A channel returns a receipt or raises a `DeliveryError`: `DeliveryRejected` (final), `DeliveryUnavailable`
(retries exhausted), `OutcomeUnknown` (sent, no answer: never resend blindly), `MessageTooLong`. The opt-out
list (`OptOutList`: who refused advertising) is a port too: a file today (config.opt_out), SENS's list later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, cast, runtime_checkable

from naver_sms.domain.booking import Booking, BookingError, Store
from naver_sms.domain.clock import KST

__all__ = [
    "LOGIN_PAUSE_ID",
    "LOOKUP_MARGIN",
    "BatchedBookingSource",
    "BookingSource",
    "ChannelReceipt",
    "DeliveryLookup",
    "DeliveryResult",
    "FetchResult",
    "GuardedSmsService",
    "LoginPause",
    "OptOutList",
    "RunLog",
    "RunRecord",
    "SessionRepository",
    "SlackService",
    "SmsMessage",
    "SmsReceipt",
    "SmsService",
    "TelegramService",
    "fetch_batches",
    "merged",
    "send_checked",
]

# --- channels -----------------------------------------------------------------------------------------------

#: how a channel answered: sent, written to the sandbox outbox, or not sent because the channel is off
ReceiptStatus = Literal["sent", "outbox", "disabled"]

#: How far around a send's wall-clock time the provider's records are searched: SENS's gateway accepts a
#: clock up to 5 minutes off (external-apis.md §2), so either side may be that far apart.
LOOKUP_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """One SMS to one recipient, as SENS takes it (external-apis.md §2)."""

    to: str  # recipient, digits only
    sender: str  # `from`: a registered sender number, digits only
    type: str  # SMS | LMS | MMS
    subject: str
    content: str
    content_type: str = "COMM"

    def sens_body(self) -> dict[str, Any]:
        """The request body in the legacy key order; `json.dumps(body)` with the defaults (what the legacy
        `requests.post(json=...)` sent) gives the legacy bytes."""
        return {
            "type": self.type,
            "contentType": self.content_type,
            "from": self.sender,
            "subject": self.subject,
            "content": self.content,
            "messages": [{"to": self.to}],
        }

    def sens_bytes(self) -> bytes:
        return json.dumps(self.sens_body()).encode("utf-8")


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """An accepted SMS: SENS's requestId (None in the outbox) and when it was accepted."""

    status: ReceiptStatus
    request_id: str | None
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelReceipt:
    """A Telegram or Slack message: sent, written to the outbox, or not sent because the channel is off."""

    channel: str
    status: ReceiptStatus
    parts: int = 1
    detail: str = ""


@runtime_checkable
class SmsService(Protocol):
    live: bool  # False for the sandbox outbox

    def send(self, message: SmsMessage) -> SmsReceipt:
        """Send one SMS. Raises DeliveryError subclasses; returns only when the provider accepted it."""
        ...

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        """Reconciliation: was this message (same recipient, sender and text) accepted between `since` and
        `until`? A receipt if so, None if certainly not. Requests in `exclude` are known to be other
        messages (e.g. another booking's identical confirmation) and never match. Raises
        DeliveryUnavailable when it cannot tell - also when more than one request could be this message."""
        ...


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What the provider says became of an accepted SMS: delivered to the phone, failed at the carrier (with
    its reason), still pending, or unknown (the provider does not know the request)."""

    request_id: str
    status: Literal["delivered", "failed", "pending", "unknown"]
    detail: str = ""


@runtime_checkable
class DeliveryLookup(Protocol):
    """An SMS service that can tell what became of a message it accepted (SENS's look-up endpoints); the
    sandbox outbox cannot (nothing is delivered)."""

    def delivery_result(self, request_id: str) -> DeliveryResult:
        """Raises `DeliveryUnavailable` when the provider cannot be asked."""
        ...


@runtime_checkable
class GuardedSmsService(Protocol):
    """An `SmsService` that can check something right before each of its requests goes out (SENS): what
    `deliver_once` checks there is that the claim of the SMS still holds (issue 9, item 2)."""

    def send_guarded(self, message: SmsMessage, before_request: Callable[[], None] | None) -> SmsReceipt:
        """`send`, calling `before_request` right before every request of it (a retry's too). When it raises,
        the send stops with that error: nothing more of it goes out."""
        ...


def send_checked(
    sms: SmsService, message: SmsMessage, before_request: Callable[[], None] | None
) -> SmsReceipt:
    """`sms.send(message)` with `before_request` run right before each of its requests where the service can
    (`GuardedSmsService`), else once before the send. Wrappers of a service (name masking, rotating
    credentials) forward through this, so the check reaches the client that makes the requests."""
    # what isinstance(sms, GuardedSmsService) checks (the attribute), without the protocol's per-call scan of
    # its members: this runs once per SMS
    if hasattr(sms, "send_guarded"):
        return cast(GuardedSmsService, sms).send_guarded(message, before_request)
    if before_request is not None:
        before_request()
    return sms.send(message)


@runtime_checkable
class TelegramService(Protocol):
    enabled: bool

    def send_message(self, text: str, *, chat_id: str | None = None) -> ChannelReceipt:
        """Post `text` to the configured chat, or to `chat_id` (a digest's or the daily report's own)."""
        ...


@runtime_checkable
class SlackService(Protocol):
    enabled: bool

    def post_message(self, text: str) -> ChannelReceipt: ...


@runtime_checkable
class OptOutList(Protocol):
    """The numbers that refused advertising (무료수신거부): no SMS of `contentType: AD` goes to them.

    The list of the repository is a file of numbers (`config.opt_out.FileOptOut`). SENS keeps the numbers
    that called its free 080 opt-out line too, but the API that lists them is not among the facts this project
    builds on (docs/rules/actions.md, "Advertising"): an adapter giving `numbers()` from it can be added in
    notifications/ and wired in wiring.py beside the file, without changing the core."""

    description: str

    def numbers(self) -> frozenset[str]:
        """The national digits of every number on the list (read once per run). Raises when it cannot tell."""
        ...


# --- the booking source ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class FetchResult:
    """Bookings of one fetch. Malformed bookings and failing stores are reported, never fatal."""

    bookings: list[Booking] = field(default_factory=list)
    skipped: list[BookingError] = field(default_factory=list)
    failed_stores: dict[str, str] = field(default_factory=dict)  # store id -> what went wrong
    requests: int = 0  # HTTP requests made (0 for files)
    #: the parts the source read from (files, or stores), and those of which not one booking could be read
    #: (a file that is not JSON or whose every booking is malformed, a store that failed); 0: not counted
    parts: int = 0
    parts_lost: int = 0

    @property
    def lost_everything(self) -> bool:
        """The source had bookings and not one could be read: a run problem, never "nothing to send"."""
        return self.parts > 0 and self.parts_lost == self.parts


@runtime_checkable
class BookingSource(Protocol):
    #: Shown by the CLI: "naver (live)" or "files: examples/bookings".
    description: str

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        """Confirmed (RC03) bookings from today on and completed (RC08) bookings of the recent window,
        for every store given - and requested (RC02) or cancelled (RC04) ones when the rules ask about them
        (the source is made knowing that: wiring). `now` is Korean wall-clock time."""
        ...


@runtime_checkable
class BatchedBookingSource(BookingSource, Protocol):
    """A source that gives its bookings a part at a time (a store's, a file's): a run decides each part as it
    comes and keeps only what is due (issue 12). `fetch` gives the same parts merged."""

    def fetch_batches(self, stores: Sequence[Store], now: datetime) -> Iterator[FetchResult]:
        """What `fetch` gives, as parts in `fetch`'s order; each `FetchResult.requests` counts the requests
        made since the part before."""
        ...


def fetch_batches(source: BookingSource, stores: Sequence[Store], now: datetime) -> Iterator[FetchResult]:
    """The bookings of `source` in parts: its own (`BatchedBookingSource`), or its whole `fetch` as one."""
    if isinstance(source, BatchedBookingSource):
        yield from source.fetch_batches(stores, now)
    else:
        yield source.fetch(stores, now)


def merged(parts: Iterable[FetchResult]) -> FetchResult:
    """Parts of a fetch as one result (`fetch` of a `BatchedBookingSource`)."""
    whole = FetchResult()
    for part in parts:
        whole.bookings.extend(part.bookings)
        whole.skipped.extend(part.skipped)
        whole.failed_stores.update(part.failed_stores)
        whole.requests += part.requests
        whole.parts += part.parts
        whole.parts_lost += part.parts_lost
    return whole


# --- the session store ----------------------------------------------------------------------------------------

#: the `session` table's item that pauses browser logins (beside legacy's item "1", the cookies)
LOGIN_PAUSE_ID = "login_pause"


@dataclass(frozen=True, slots=True)
class LoginPause:
    """Scheduled runs start no browser login before `until`: Naver blocked the last one (`reason`), and every
    further try makes its answer harder (a captcha, then a lock)."""

    since: datetime
    until: datetime
    reason: str

    def to_json(self) -> str:
        return json.dumps(
            {"since": self.since.isoformat(), "until": self.until.isoformat(), "reason": self.reason},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> LoginPause | None:
        """None for anything unreadable: a damaged marker must not stop logins for good. A time written
        without a zone (by hand) is Korean time."""
        try:
            raw = json.loads(text)
            since, until = (datetime.fromisoformat(raw[k]) for k in ("since", "until"))
            return cls(
                since=since if since.tzinfo else since.replace(tzinfo=KST),
                until=until if until.tzinfo else until.replace(tzinfo=KST),
                reason=str(raw["reason"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


@runtime_checkable
class SessionRepository(Protocol):
    """The `session` table: item `id = "1"`, `cookies` = JSON string of the browser's cookie list; and the
    item `id = "login_pause"` while browser logins are paused."""

    def load_cookies(self) -> list[dict[str, Any]] | None: ...

    def save_cookies(self, cookies: Sequence[Mapping[str, Any]], *, at: datetime | None = None) -> None:
        """Cache the cookies; `at` (the real time of the login) is kept beside them for `naver-sms status`."""
        ...

    def cookies_saved_at(self) -> datetime | None:
        """When the cached cookies were saved (None: unknown, e.g. cached before this was recorded)."""
        ...

    def clear_cookies(self) -> None: ...

    def load_login_pause(self) -> LoginPause | None: ...

    def save_login_pause(self, pause: LoginPause) -> None: ...

    def clear_login_pause(self) -> None: ...


# --- the run log ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as the state store keeps it (`naver-sms status`, the daily report): its id, its Korean day and
    start, its summary (a JSON object: `naver_sms.owner.runlog` writes and reads it) and its counters - what
    the day's totals add up, `"<kind>|<store>|<type>|<status>"` -> count."""

    run_id: str
    day: str  # YYYY-MM-DD, Korean time
    started_at: str  # ISO 8601, UTC
    summary: Mapping[str, Any]
    counters: Mapping[str, int] = field(default_factory=dict)


@runtime_checkable
class RunLog(Protocol):
    """The runs of the state store (docs/database.md, "Periods and runs"), beside the legacy tables."""

    def record(self, run: RunRecord) -> None:
        """Keep one finished run (a run id recorded twice keeps the first)."""
        ...

    def last(self) -> RunRecord | None: ...

    def runs_on(self, day: str) -> list[RunRecord]:
        """The runs that started on Korean day `day` (YYYY-MM-DD), oldest first."""
        ...

    def day_totals(self, days: Sequence[str]) -> dict[str, dict[str, int]]:
        """Per day, the sum of its runs' counters (days without runs are absent)."""
        ...
