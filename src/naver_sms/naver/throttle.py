"""How hard the fetch presses Naver, set by Naver's answers (issue 12, item 3).

Naver publishes no limit for a partner's requests: the number of stores fetched at once (`auto_workers`, at most
16, or `NAVER_SMS_FETCH_CONCURRENCY`) is a guess, and a guess that is too high must cost little. So when Naver
answers 429 ("too many requests") while the fetch has several requests in flight:

- every request of the fetch waits out the refused one's retry wait (Naver's `Retry-After`, or the backoff),
  not only the refused one (`naver_sms.pacing.Pacer`, as the SMS sends share SENS's) - the others would
  otherwise meet the same limit and each back off alone;
- the requests allowed in flight are halved (never below one), once per refusal: the requests that were already
  in flight when the bound was cut may be refused too, and do not cut it again;
- after as many answers since the last cut as `GROWTH` times the bound, one more request is allowed - additive increase
  and multiplicative decrease, as TCP finds a link's rate - back up to one fewer than were in flight when Naver
  last refused (the fetch does not knock at a limit it has met: every 429 holds every store for its wait); the
  next fetch starts from its own concurrency again.

A 5xx or a lost answer is retried as before, by the store that met it only: it may be that store's trouble,
and the other stores need not wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from naver_sms.config.settings import MAX_FETCH_CONCURRENCY
from naver_sms.pacing import Pacer
from naver_sms.retry import Sleep

log = logging.getLogger("naver_sms.naver.throttle")

#: answers in a row, per request allowed in flight, before one more is allowed
GROWTH = 8


class Throttle:
    """The requests a fetch may have in flight to Naver, and the shared wait after a refusal."""

    def __init__(
        self,
        *,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        ceiling: int = MAX_FETCH_CONCURRENCY,
    ) -> None:
        self.pacer = Pacer(sleep=sleep, clock=clock)
        self._changed = threading.Condition()
        self._ceiling = ceiling
        self._bound = ceiling
        self._in_flight = 0
        self._cut = 0  # one more at every cut and every new fetch: a request knows under which it started
        self._streak = 0  # answers since the bound last changed
        self._queued = 0
        #: the lowest bound of this throttle's life (0: never cut), for bench/fetch.py and the tests
        self.lowest = 0

    @property
    def bound(self) -> int:
        """The requests allowed in flight now."""
        return self._bound

    @property
    def queued(self) -> int:
        """Requests waiting for a slot now."""
        with self._changed:
            return self._queued

    def reset(self, ceiling: int) -> None:
        """A new fetch, with `ceiling` stores at once: the bound starts there again (and a 429 to a request of
        an earlier fetch no longer cuts it)."""
        with self._changed:
            self._ceiling = self._bound = max(1, ceiling)
            self._streak = 0
            self._cut += 1
            self._changed.notify_all()

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one of the requests in flight for the `with` block, after any shared wait - also one that
        began while this request waited for its slot: gives the number of the cut the request started under,
        for `refused`."""
        while True:
            self.pacer.wait_turn()
            with self._changed:
                self._queued += 1
                try:
                    while self._in_flight >= self._bound:
                        self._changed.wait()
                finally:
                    self._queued -= 1
                if not self.pacer.held():
                    self._in_flight += 1
                    cut = self._cut
                    break
                self._changed.notify()  # the slot this one leaves to the others (they wait out the hold too)
        try:
            yield cut
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify()

    def answered(self) -> None:
        """Naver answered a request: after enough in a row, one more may be in flight."""
        with self._changed:
            if self._bound >= self._ceiling:
                return
            self._streak += 1
            if self._streak >= GROWTH * self._bound:
                self._bound += 1
                self._streak = 0
                self._changed.notify()

    def refused(self, started_under: int, wait: float | None) -> None:
        """Naver answered 429 to a request that started under cut number `started_under`, asking to wait
        `wait` seconds (None: no wait will be taken, the request gives up): every request waits from now on
        (the refused one's retry then holds them for its own wait); the bound is halved, unless it was cut since
        that request started."""
        if wait is not None:
            self.pacer.mark(wait)
        with self._changed:
            if started_under != self._cut:
                return
            was = min(self._bound, self._in_flight)  # this request is still in flight: at least 1
            self._bound = max(1, was // 2)
            self._ceiling = max(self._bound, was - 1)  # no growing back into the limit just met
            self._cut += 1
            self._streak = 0
            self.lowest = self._bound if not self.lowest else min(self.lowest, self._bound)
        log.warning(
            "Naver answered 429 (too many requests) with %d request(s) in flight: at most %d at once from now on",
            was,
            self._bound,
        )
