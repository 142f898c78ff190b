"""The numbers that refused advertising, as one run sees them: read from the opt-out list (`ports.OptOutList`)
once, on the run's first advertising SMS, and kept for the run (a run that sends none never reads it)."""

from __future__ import annotations

import threading

from naver_sms.ports import OptOutList


class OptOutCache:
    """One run's view of the opt-out list. Thread-safe; a list that could not be read stays unreadable for
    the run (each advertising SMS of the run fails with that error, and is retried by a later run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._numbers: frozenset[str] | None = None
        self._error: Exception | None = None

    def refuses(self, source: OptOutList | None, digits: str) -> bool:
        """Whether the number (national digits) is on the list; raises what reading the list raised."""
        if source is None:
            return False
        with self._lock:
            if self._numbers is None and self._error is None:
                try:
                    self._numbers = source.numbers()
                except Exception as exc:  # the adapter's own error, kept for every send of this run
                    self._error = exc
            if self._error is not None:
                raise self._error
            assert self._numbers is not None
            return digits in self._numbers
