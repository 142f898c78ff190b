"""One retry policy for every HTTP client (the Naver partner API, SENS, Telegram, Slack).

Bounded exponential backoff with jitter, and servers' own hints (`Retry-After`, read by
`naver_sms.retry_after.parse_retry_after`; Telegram's `retry_after`). The clients differ only in their
numbers: the Naver fetch waits longer and spreads concurrent store workers further apart
(`RetryPolicy.for_naver`); the channels use the defaults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    `max_attempts` counts every request of one call (the first one included). The n-th retry waits
    `min(max_delay, base_delay * 2**(n-1))`, reduced by up to `jitter` (a fraction) at random so that several
    runs do not retry in lockstep. A server's own hint replaces the computed delay, plus up to `hint_jitter`
    seconds at random; a hint over `max_hint` ends the retries at once rather than stall the run.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.3
    max_hint: float = 60.0
    hint_jitter: float = 0.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter is a fraction between 0 and 1")
        if self.hint_jitter < 0.0:
            raise ValueError("hint_jitter cannot be negative")

    @classmethod
    def for_naver(cls, rng: random.Random | None = None) -> RetryPolicy:
        """The partner API's: five tries, waits up to 20 s, "equal jitter" (each wait between half and all
        of its ceiling, so concurrent stores never retry in step and no wait is near zero), and up to half a
        second added to a `Retry-After`."""
        return cls(max_attempts=5, max_delay=20.0, jitter=0.5, hint_jitter=0.5, rng=rng or random.Random())

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        delay = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return float(delay * (1.0 - self.jitter * self.rng.random()))

    def after_hint(self, hint: float) -> float:
        """Seconds to wait when the server said `hint` (already checked against `max_hint`)."""
        return hint + (self.rng.uniform(0.0, self.hint_jitter) if self.hint_jitter else 0.0)
