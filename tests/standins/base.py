"""What the Telegram and Slack stand-ins share: request recording, stall release, and the real pace limit."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

__all__ = ["Pace", "RecordingApp"]


class Pace:
    """The real services' pace (about one message a second, external-apis.md §3-4). Off until `min_interval`
    is set; then a message for a key sooner than that after the last accepted one must wait. `clock` is the
    stand-in's time (tests give it one that the client's sleep advances)."""

    def __init__(self) -> None:
        self.min_interval: float | None = None
        self.clock: Callable[[], float] = time.monotonic
        self._last: dict[str, float] = {}

    def admit(self, key: str) -> int | None:
        """None when a message for `key` may go now (and it is counted); else whole seconds to wait, as the
        service's retry hint says it. Call under the stand-in's lock."""
        now = self.clock()
        last = self._last.get(key)
        if self.min_interval is not None and last is not None and now - last < self.min_interval:
            return max(1, math.ceil(self.min_interval - (now - last)))
        self._last[key] = now
        return None


class RecordingApp:
    """A WSGI app that records every request (path, body) and hands it to `_handle`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        self.pace = Pace()
        self._lock = threading.Lock()
        self._release = threading.Event()

    def release_stalls(self) -> None:
        self._release.set()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data()
        with self._lock:
            self.requests.append((request.path, body))
        return self._handle(request, body)(environ, start_response)

    def _handle(self, request: Request, body: bytes) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError
