"""A local stand-in for a Slack incoming webhook (external-apis.md §4), as strict as the real one.

`POST /services/T.../B.../...` with a JSON body holding `text` (or `blocks`): 200 `ok`. An unknown webhook
path answers 404 `no_service`, a body that is not JSON 400 `invalid_payload`, no text and no blocks 400
`no_text`. Errors are plain-text bodies, as Slack sends them.

Control API (Python): `rate_limit_next(retry_after)` (429 with a `Retry-After` header),
`fail_next(status, error)` (e.g. 404 `channel_not_found`, 410 `channel_is_archived`, 500 `rollup_error`),
`stall_next(seconds)`. `release_stalls()` ends every stall at once.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.standins.base import RecordingApp

__all__ = ["SlackStandIn"]

MAX_TEXT = 40_000


@dataclass
class _Behaviour:
    kind: str  # fail | rate_limit | stall
    status: int = 500
    error: str = ""
    seconds: float = 0.0


class SlackStandIn(RecordingApp):
    def __init__(self, *, path: str = "/services/T00000000/B00000000/STANDINxxxxxxxxxxxxxxxxxxxx") -> None:
        super().__init__()
        self.path = path
        self.messages: list[dict[str, Any]] = []
        self._queue: deque[_Behaviour] = deque()

    def rate_limit_next(self, retry_after: int, *, times: int = 1) -> None:
        for _ in range(times):
            self._queue.append(_Behaviour("rate_limit", 429, "rate_limited", float(retry_after)))

    def fail_next(self, status: int, error: str, *, times: int = 1) -> None:
        for _ in range(times):
            self._queue.append(_Behaviour("fail", status, error))

    def stall_next(self, seconds: float = 5.0) -> None:
        self._queue.append(_Behaviour("stall", seconds=seconds))

    def _handle(self, request: Request, body: bytes) -> Response:
        if request.method != "POST":
            return _text(405, "invalid_method")
        if request.path != self.path:
            return _text(404, "no_service")
        behaviour = self._queue.popleft() if self._queue else None
        if behaviour is not None:
            if behaviour.kind == "stall":
                self._release.wait(behaviour.seconds)
                return _text(503, "service_unavailable")
            if behaviour.kind == "rate_limit":
                return _text(429, behaviour.error, {"Retry-After": str(int(behaviour.seconds))})
            return _text(behaviour.status, behaviour.error)
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _text(400, "invalid_payload")
        if not isinstance(data, dict):
            return _text(400, "invalid_payload")
        text, blocks = data.get("text"), data.get("blocks")
        if (not isinstance(text, str) or not text.strip()) and not blocks:
            return _text(400, "no_text")
        record = dict(data)
        if isinstance(text, str) and len(text) > MAX_TEXT:
            record["text"] = text[:MAX_TEXT]  # Slack truncates past 40,000 characters
            record["truncated"] = True
        with self._lock:
            wait = self.pace.admit("webhook")
            if wait is not None:
                return _text(429, "rate_limited", {"Retry-After": str(wait)})
            self.messages.append(record)
        return _text(200, "ok")


def _text(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, headers=headers, content_type="text/html")
