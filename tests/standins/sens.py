"""A local stand-in for Naver Cloud SENS SMS v2 (external-apis.md §2), as strict as the real service.

It checks what SENS checks - the access key, the HMAC signature over the URI exactly as received, the
5-minute timestamp window against *its own* clock, the body's fields, the 100-recipient limit - and, like
SENS, truncates over-long content instead of refusing it (recording `truncated=True`, which the tests
assert never happens). Accepted messages are recorded and served by the look-up endpoints.

The control API is Python methods (not HTTP): `fail_next`, `stall_next`, `accept_then_stall`,
`deliver_next_as`, `set_clock`. Stalls wait on an event that `release_stalls()` (called by the fixture on
teardown) ends, so no test waits for a stall to run out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

__all__ = ["RecordedMessage", "RecordedRequest", "SensStandIn"]

KST = ZoneInfo("Asia/Seoul")
TIMESTAMP_WINDOW = timedelta(minutes=5)
LIMITS = {"SMS": 90, "LMS": 2000, "MMS": 2000}
SUBJECT_LIMIT = 40
MAX_RECIPIENTS = 100
MAX_LOOKUP_WINDOW = timedelta(days=30)
BODY_KEYS = {
    "type",
    "contentType",
    "countryCode",
    "from",
    "subject",
    "content",
    "messages",
    "files",
    "reserveTime",
    "reserveTimeZone",
    "scheduleCode",
}
MESSAGE_KEYS = {"to", "subject", "content"}


@dataclass
class RecordedRequest:
    method: str
    uri: str  # path and query as received
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class RecordedMessage:
    message_id: str
    request_id: str
    request_time: datetime  # KST
    type: str
    content_type: str
    sender: str
    to: str
    subject: str
    content: str
    truncated: bool
    status: str = "COMPLETED"
    status_code: str = "0"


@dataclass
class _Behaviour:
    route: str  # send | list | result | any
    kind: str  # fail | stall | accept_then_stall
    status: int = 500
    body: Any = None
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def _char_bytes(ch: str) -> int:
    try:
        return len(ch.encode("euc-kr"))
    except UnicodeEncodeError:
        return 2


def euc_kr_bytes(text: str) -> int:
    try:  # the whole text at once when it can be (nearly always)
        return len(text.encode("euc-kr"))
    except UnicodeEncodeError:
        return sum(_char_bytes(ch) for ch in text)


def _truncate(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` EUC-KR bytes (one pass: a bench sends thousands)."""
    if euc_kr_bytes(text) <= limit:
        return text
    total = 0
    for index, ch in enumerate(text):
        total += _char_bytes(ch)
        if total > limit:
            return text[:index]
    return text


def _sign(secret: str, method: str, uri: str, timestamp: str, access_key: str) -> str:
    text = f"{method} {uri}\n{timestamp}\n{access_key}"
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


_ERROR_SHAPES: dict[int, Any] = {
    400: {"status": 400, "errorMessage": "Bad Request", "errors": []},
    401: {
        "error": {
            "errorCode": "200",
            "message": "Authentication Failed",
            "details": "Invalid authentication information.",
        }
    },
    403: {
        "error": {
            "errorCode": "210",
            "message": "Permission Denied",
            "details": "You don't have permission to access this resource.",
        }
    },
    404: {"status": 404, "errorMessage": "Not Found", "errors": []},
    429: {"status": 429, "errorMessage": "Too Many Requests", "errors": []},
    500: {"status": 500, "errorMessage": "Internal Server Error", "errors": []},
    503: {"status": 503, "errorMessage": "Service Unavailable", "errors": []},
}


class SensStandIn:
    """WSGI app; serve it with `tests.standins.server.serve_wsgi`."""

    def __init__(
        self,
        *,
        service_id: str = "ncp:sms:kr:000000000000:standin",
        access_key: str = "AKSTANDIN00000000000",
        secret_key: str = "SKSTANDIN00000000000000000000000000000000",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.service_id = service_id
        self.access_key = access_key
        self.secret_key = secret_key
        self._clock = clock or (lambda: datetime.now(UTC))
        self.requests: list[RecordedRequest] = []
        self.messages: list[RecordedMessage] = []
        self._queue: deque[_Behaviour] = deque()
        self._deliver_as: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        #: the real look-up is unconfirmed in two ways the client must survive: a message may be listed only
        #: some time after it was accepted, and a message's result may not show its text
        self.list_lag = timedelta(0)
        self.hide_text = False

    # -- control API ---------------------------------------------------------------------------------

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        route: str = "send",
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests of `route` with `status` and SENS's error shape (or `body`)."""
        for _ in range(times):
            self._queue.append(
                _Behaviour(route, "fail", status=status, body=body, headers=dict(headers or {}))
            )

    def stall_next(self, seconds: float = 5.0, *, times: int = 1, route: str = "send") -> None:
        """Hold the next request `seconds` *before* doing anything, then drop it (nothing is recorded)."""
        for _ in range(times):
            self._queue.append(_Behaviour(route, "stall", seconds=seconds))

    def accept_then_stall(self, seconds: float = 5.0, *, times: int = 1) -> None:
        """Accept and record the next send (the SMS goes out), then hold the answer `seconds`:
        the client's read timeout fires after the message was sent."""
        for _ in range(times):
            self._queue.append(_Behaviour("send", "accept_then_stall", seconds=seconds))

    def deliver_next_as(self, status: str, status_code: str | None) -> None:
        """The next recorded message gets this result (e.g. COMPLETED/"3015" = failed, READY/None)."""
        self._deliver_as.append((status, status_code or ""))

    def clear_queue(self) -> None:
        """Forget every queued behaviour: the service behaves normally again."""
        with self._lock:
            self._queue.clear()

    def release_stalls(self) -> None:
        self._release.set()

    @property
    def send_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    # -- WSGI ------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path.rstrip("?")
        body = request.get_data()
        recorded = RecordedRequest(request.method, uri, dict(request.headers), body)
        with self._lock:
            self.requests.append(recorded)
        response = self._handle(request, uri, body)
        recorded.status = response.status_code
        return response(environ, start_response)

    def _route(self, request: Request, uri: str) -> tuple[str, str | None]:
        prefix = f"/sms/v2/services/{self.service_id}/messages"
        path = uri.split("?", 1)[0]
        if path == prefix:
            return ("send" if request.method == "POST" else "list"), None
        if path.startswith(prefix + "/") and request.method == "GET":
            return "result", unquote(path[len(prefix) + 1 :])
        return "unknown", None

    def _next_behaviour(self, route: str) -> _Behaviour | None:
        with self._lock:
            for behaviour in self._queue:
                if behaviour.route in (route, "any"):
                    self._queue.remove(behaviour)
                    return behaviour
        return None

    def _handle(self, request: Request, uri: str, body: bytes) -> Response:
        route, message_id = self._route(request, uri)
        if route == "unknown":
            return _json(404, _ERROR_SHAPES[404])
        behaviour = self._next_behaviour(route)
        if behaviour is not None and behaviour.kind == "stall":
            self._release.wait(behaviour.seconds)
            return _json(503, _ERROR_SHAPES[503])  # by then the client gave up; the answer goes nowhere
        if behaviour is not None and behaviour.kind == "fail":
            shape = (
                behaviour.body
                if behaviour.body is not None
                else _ERROR_SHAPES.get(
                    behaviour.status, {"status": behaviour.status, "errorMessage": "error", "errors": []}
                )
            )
            return _json(behaviour.status, shape, headers=behaviour.headers)
        denied = self._check_auth(request, uri)
        if denied is not None:
            return denied
        if route == "send":
            response = self._send(request, body)
            if behaviour is not None and behaviour.kind == "accept_then_stall":
                self._release.wait(behaviour.seconds)
            return response
        if route == "list":
            return self._list(request)
        return self._result(message_id or "")

    def _check_auth(self, request: Request, uri: str) -> Response | None:
        timestamp = request.headers.get("x-ncp-apigw-timestamp", "")
        access_key = request.headers.get("x-ncp-iam-access-key", "")
        signature = request.headers.get("x-ncp-apigw-signature-v2", "")
        if not timestamp or not access_key or not signature:
            return _json(
                401,
                {
                    "error": {
                        "errorCode": "200",
                        "message": "Authentication Failed",
                        "details": "Required headers are missing.",
                    }
                },
            )
        try:
            sent = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
        except ValueError:
            return _json(
                401,
                {
                    "error": {
                        "errorCode": "200",
                        "message": "Authentication Failed",
                        "details": "Invalid timestamp.",
                    }
                },
            )
        if abs(self._clock() - sent) > TIMESTAMP_WINDOW:
            return _json(
                401,
                {
                    "error": {
                        "errorCode": "200",
                        "message": "Authentication Failed",
                        "details": "The timestamp is out of the allowed range.",
                    }
                },
            )
        if access_key != self.access_key:
            return _json(
                401,
                {
                    "error": {
                        "errorCode": "200",
                        "message": "Authentication Failed",
                        "details": "Invalid access key.",
                    }
                },
            )
        expected = _sign(self.secret_key, request.method, uri, timestamp, access_key)
        if not hmac.compare_digest(expected, signature):
            return _json(
                401,
                {
                    "error": {
                        "errorCode": "200",
                        "message": "Authentication Failed",
                        "details": "Invalid signature.",
                    }
                },
            )
        return None

    def _send(self, request: Request, body: bytes) -> Response:
        if not (request.content_type or "").startswith("application/json"):
            return _bad("Content-Type must be application/json")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _bad("Invalid JSON")
        if not isinstance(data, dict):
            return _bad("Invalid JSON")
        unknown = set(data) - BODY_KEYS
        if unknown:
            return _bad(f"Unknown field(s): {sorted(unknown)}")
        type_ = data.get("type")
        if type_ not in LIMITS:
            return _bad("type must be SMS, LMS or MMS")
        content_type = data.get("contentType", "COMM")
        if content_type not in ("COMM", "AD"):
            return _bad("contentType must be COMM or AD")
        sender = data.get("from")
        if not isinstance(sender, str) or not sender.isdigit():
            return _bad("from is required and must be digits")
        content = data.get("content")
        if not isinstance(content, str) or not content:
            return _bad("content is required")
        subject = data.get("subject", "")
        if not isinstance(subject, str):
            return _bad("subject must be a string")
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            return _bad("messages is required")
        if len(messages) > MAX_RECIPIENTS:
            return _bad(f"messages must have at most {MAX_RECIPIENTS} entries")
        for entry in messages:
            if not isinstance(entry, dict) or set(entry) - MESSAGE_KEYS:
                return _bad("messages[] entries are {to, subject?, content?}")
            if not isinstance(entry.get("to"), str) or not entry["to"].isdigit():
                return _bad("messages[].to must be digits")
        request_id = "RSTANDIN-" + uuid.uuid4().hex[:20]
        now = self._clock().astimezone(KST)
        for entry in messages:
            own_content = entry.get("content", content)
            own_subject = entry.get("subject", subject) if type_ != "SMS" else ""
            truncated = euc_kr_bytes(own_content) > LIMITS[type_] or euc_kr_bytes(own_subject) > SUBJECT_LIMIT
            status, code = self._deliver_as.popleft() if self._deliver_as else ("COMPLETED", "0")
            with self._lock:
                self.messages.append(
                    RecordedMessage(
                        message_id="0-STANDIN-" + uuid.uuid4().hex[:16],
                        request_id=request_id,
                        request_time=now,
                        type=type_,
                        content_type=content_type,
                        sender=sender,
                        to=entry["to"],
                        # SENS truncates over-long text and sends it anyway (external-apis.md §2)
                        subject=_truncate(own_subject, SUBJECT_LIMIT),
                        content=_truncate(own_content, LIMITS[type_]),
                        truncated=truncated,
                        status=status,
                        status_code=code,
                    )
                )
        return _json(
            202,
            {
                "requestId": request_id,
                "requestTime": _sens_time(now),
                "statusCode": "202",
                "statusName": "success",
            },
        )

    def _list(self, request: Request) -> Response:
        args = request.args
        request_id = args.get("requestId")
        page_index = args.get("pageIndex", "0")
        page_size = args.get("pageSize", "100")
        if not page_index.isdigit() or not page_size.isdigit() or not 1 <= int(page_size) <= 100:
            return _bad("pageIndex / pageSize are invalid")
        if request_id:
            found = [m for m in self.messages if m.request_id == request_id]
        else:
            try:
                start = datetime.strptime(args["requestStartTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST)
                end = datetime.strptime(args["requestEndTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST)
            except (KeyError, ValueError):
                return _bad("requestId, or requestStartTime and requestEndTime (yyyy-MM-dd HH:mm:ss)")
            if end < start or end - start > MAX_LOOKUP_WINDOW:
                return _bad("the time range must be at most 30 days")
            found = [m for m in self.messages if start <= m.request_time.replace(microsecond=0) <= end]
        listed_by = self._clock() - self.list_lag
        found = [m for m in found if m.request_time <= listed_by]
        index, size = int(page_index), int(page_size)
        page = found[index * size : (index + 1) * size]
        return _json(
            200,
            {
                "requestId": request_id,
                "statusCode": "202",
                "statusName": "success",
                "messages": [
                    {
                        "requestId": m.request_id,
                        "campaignId": None,
                        "messageId": m.message_id,
                        "requestTime": _sens_time(m.request_time),
                        "contentType": m.content_type,
                        "type": m.type,
                        "countryCode": "82",
                        "from": m.sender,
                        "to": m.to,
                    }
                    for m in page
                ],
                "pageIndex": index,
                "pageSize": size,
                "itemCount": len(found),
                "hasMore": (index + 1) * size < len(found),
            },
        )

    def _result(self, message_id: str) -> Response:
        for m in self.messages:
            if m.message_id == message_id:
                completed = m.status == "COMPLETED"
                return _json(
                    200,
                    {
                        "statusCode": "202",
                        "statusName": "success",
                        "messages": [
                            {
                                "requestTime": _sens_time(m.request_time),
                                "contentType": m.content_type,
                                **({} if self.hide_text else {"content": m.content, "subject": m.subject}),
                                "countryCode": "82",
                                "from": m.sender,
                                "to": m.to,
                                "status": m.status,
                                "messageId": m.message_id,
                                "statusCode": m.status_code if completed else None,
                                "statusName": ("success" if m.status_code == "0" else "fail")
                                if completed
                                else None,
                                "statusMessage": ("성공" if m.status_code == "0" else "실패")
                                if completed
                                else None,
                                "completeTime": _sens_time(m.request_time) if completed else None,
                                "telcoCode": "SKT" if completed else None,
                            }
                        ],
                    },
                )
        return _json(404, _ERROR_SHAPES[404])


def _sens_time(value: datetime) -> str:
    return value.astimezone(KST).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _json(status: int, data: Any, *, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def _bad(message: str) -> Response:
    return _json(400, {"status": 400, "errorMessage": message, "errors": [message]})
