"""A local stand-in for the Telegram Bot API's `sendMessage` (external-apis.md §3), as strict as the real one.

Refuses an unknown token (401), an unknown method (404), an unknown chat (400 "chat not found"), an empty
text, a text over 4096 UTF-16 code units (400 "message is too long"), an unknown `parse_mode`, and - in HTML
mode - text that does not parse ("can't parse entities"). Answers with Telegram's shapes:
`{"ok": true, "result": {...}}` / `{"ok": false, "error_code", "description", "parameters"?}`.

Control API (Python): `rate_limit_next(retry_after)` (429 with `parameters.retry_after` in the body, no
header), `fail_next(status, description)`, `stall_next(seconds)` (held before recording), and
`accept_then_stall(seconds)`. `release_stalls()` ends every stall at once.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from tests.standins.base import RecordingApp

__all__ = ["TelegramStandIn"]

MAX_CHARS = 4096
KNOWN_KEYS = {
    "chat_id",
    "text",
    "parse_mode",
    "link_preview_options",
    "disable_web_page_preview",
    "disable_notification",
    "protect_content",
    "reply_markup",
    "entities",
    "message_thread_id",
    "reply_parameters",
    "business_connection_id",
    "message_effect_id",
}
HTML_TAGS = r"b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|a|tg-emoji|code|pre|blockquote"


@dataclass
class _Behaviour:
    kind: str  # pass | fail | rate_limit | stall | accept_then_stall
    status: int = 500
    description: str = ""
    seconds: float = 0.0


class TelegramStandIn(RecordingApp):
    def __init__(
        self,
        *,
        token: str = "123456:STANDIN-token-0000000000000000000",
        chat_ids: Iterable[str] = ("-1001234567890",),
    ) -> None:
        super().__init__()
        self.token = token
        self.chat_ids = set(chat_ids)
        self.messages: list[dict[str, Any]] = []  # accepted sendMessage payloads
        self._queue: deque[_Behaviour] = deque()
        self._next_id = 1

    # -- control API --------------------------------------------------------------------------------------

    def rate_limit_next(self, retry_after: int, *, times: int = 1) -> None:
        for _ in range(times):
            self._queue.append(
                _Behaviour(
                    "rate_limit", 429, f"Too Many Requests: retry after {retry_after}", float(retry_after)
                )
            )

    def fail_next(self, status: int, description: str = "Internal Server Error", *, times: int = 1) -> None:
        for _ in range(times):
            self._queue.append(_Behaviour("fail", status, description))

    def pass_next(self, *, times: int = 1) -> None:
        """Let the next `times` requests through untouched (to fail a later one)."""
        for _ in range(times):
            self._queue.append(_Behaviour("pass"))

    def stall_next(self, seconds: float = 5.0, *, times: int = 1) -> None:
        for _ in range(times):
            self._queue.append(_Behaviour("stall", seconds=seconds))

    def accept_then_stall(self, seconds: float = 5.0) -> None:
        self._queue.append(_Behaviour("accept_then_stall", seconds=seconds))

    def _handle(self, request: Request, body: bytes) -> Response:
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", request.path)
        if match is None:
            return _error(404, "Not Found")
        if match.group(1) != self.token:
            return _error(401, "Unauthorized")
        if match.group(2).lower() != "sendmessage":
            return _error(404, "Not Found")
        behaviour = self._queue.popleft() if self._queue else None
        if behaviour is not None:
            if behaviour.kind == "stall":
                self._release.wait(behaviour.seconds)
                return _error(502, "Bad Gateway")
            if behaviour.kind == "rate_limit":
                return _error(429, behaviour.description, {"retry_after": int(behaviour.seconds)})
            if behaviour.kind == "fail":
                return _error(behaviour.status, behaviour.description)
        params = self._params(request, body)
        if params is None:
            return _error(400, "Bad Request: invalid request body")
        unknown = set(params) - KNOWN_KEYS
        if unknown:
            return _error(400, f"Bad Request: unknown parameter(s) {sorted(unknown)}")
        if str(params.get("chat_id", "")) not in self.chat_ids:
            return _error(400, "Bad Request: chat not found")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_CHARS:
            return _error(400, "Bad Request: message is too long")
        parse_mode = params.get("parse_mode")
        if parse_mode not in (None, "", "HTML", "MarkdownV2", "Markdown"):
            return _error(400, "Bad Request: unsupported parse_mode")
        if parse_mode == "HTML" and not _html_parses(text):
            return _error(400, "Bad Request: can't parse entities: unsupported start tag")
        with self._lock:
            wait = self.pace.admit(str(params["chat_id"]))
            if wait is not None:
                return _error(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
            message_id = self._next_id
            self._next_id += 1
            self.messages.append(params)
        response = _json(
            200,
            {
                "ok": True,
                "result": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {
                        "id": int(params["chat_id"])
                        if str(params["chat_id"]).lstrip("-").isdigit()
                        else params["chat_id"],
                        "type": "supergroup",
                    },
                    "text": text,
                },
            },
        )
        if behaviour is not None and behaviour.kind == "accept_then_stall":
            self._release.wait(behaviour.seconds)
        return response

    @staticmethod
    def _params(request: Request, body: bytes) -> dict[str, Any] | None:
        content_type = request.mimetype
        if content_type == "application/json":
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return None
            return data if isinstance(data, dict) else None
        if content_type == "application/x-www-form-urlencoded":
            return {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
        return dict(request.args) or None


def _html_parses(text: str) -> bool:
    """Telegram's HTML mode: only its tags, and `&` only as an entity."""
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        return False
    return all(
        re.fullmatch(rf"</?({HTML_TAGS})(\s[^<>]*)?", tag) for tag in re.findall(r"<[^>]*>?", text)
    ) and "<" not in re.sub(r"<[^>]*>", "", text)


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    data: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        data["parameters"] = parameters
    return _json(status, data)


def _json(status: int, data: Any) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, content_type="application/json")
