"""One shared backoff for the requests a run makes in parallel to one service (issue 12, items 2 and 3).

SENS and Naver publish no rate limit; when one answers 429 to one of the run's parallel requests (SENS: or 5xx),
every request of the run to it waits, not just the one that was refused - otherwise the other threads keep
hitting the limit and each backs off alone. `Pacer` holds the one "no request before" time of a client: a
request that must wait (`hold(seconds)`: its own retry wait, or the service's `Retry-After`) moves that time
on, and every request asks for its turn (`wait_turn`) first. The waits themselves are the retry helper's
(`naver_sms.retry`): this only makes them shared.

Time is the monotonic clock, plus every wait an injected `sleep` (tests) returned from early, so the budget of
a send (`SensClient`'s `send_timeout`) counts waits the same way with a real or a recording sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from naver_sms.retry import Sleep


class Pacer:
    """The shared "no request before" time of one client's requests, and the waits for it."""

    def __init__(self, *, sleep: Sleep = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._not_before = float("-inf")
        self._offset = 0.0  # waits a (recording) sleep returned from early

    def now(self) -> float:
        return self._clock() + self._offset

    def hold(self, seconds: float) -> None:
        """This request must wait `seconds` (a refused request's backoff or hint): so must every other."""
        self.mark(seconds)
        self._wait(seconds)

    def mark(self, seconds: float) -> None:
        """Every request waits `seconds` from now - the caller's own wait comes later (`hold`, in its retry)."""
        with self._lock:
            self._not_before = max(self._not_before, self.now() + seconds)

    def held(self) -> bool:
        """A hold is in force now."""
        with self._lock:
            return self._not_before > self.now()

    def wait_turn(self, *, until: float | None = None) -> bool:
        """Wait while a hold is in force. False, without waiting, when it lasts past `until` (`now()`'s
        time): the caller gives up instead."""
        while True:
            with self._lock:
                target = self._not_before
            delay = target - self.now()
            if delay <= 0:
                return True
            if until is not None and target > until:
                return False
            self._wait(delay)
            with self._lock:
                if self._not_before <= target:  # nobody moved it on while this one waited
                    return True

    def _wait(self, seconds: float) -> None:
        started = self._clock()
        self._sleep(seconds)
        early = seconds - (self._clock() - started)
        if early > 0:
            with self._lock:
                self._offset += early
