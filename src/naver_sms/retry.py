"""One retry loop, on `tenacity`, for every client of an outside service (Naver, SENS, Telegram, Slack, DynamoDB's
unprocessed keys); each client only classifies one answer (style.md §13):

    def attempt() -> Response | Again:
        ...                      # a final answer: return it (done) or raise the error (final)
        return Again("HTTP 503", give_up=lambda tries: DeliveryUnavailable(...), hint=retry_after)

    response = retry_call(attempt, policy, sleep=self._sleep, on_wait=log_the_wait)
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import TypeVar, cast

import tenacity

T = TypeVar("T")

#: An injectable `time.sleep`.
Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter (so that runs do not retry in lockstep). `max_attempts` counts
    the first request too. A server's hint (`Retry-After`) replaces the backoff, plus up to `hint_jitter`
    seconds; a hint over `max_hint` ends the retries at once rather than stall the run."""

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
        delay = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return float(delay * (1.0 - self.jitter * self.rng.random()))

    def least_backoff(self, retry: int) -> float:
        """The shortest wait `backoff(retry)` can draw."""
        return float(min(self.max_delay, self.base_delay * (2 ** (retry - 1))) * (1.0 - self.jitter))

    def wait(self, retry: int, hint: float | None) -> float:
        """Seconds before retry number `retry` (1-based): the backoff, or the server's hint."""
        if hint is None:
            return self.backoff(retry)
        return hint + (self.rng.uniform(0.0, self.hint_jitter) if self.hint_jitter else 0.0)


@dataclass(frozen=True, slots=True)
class Again:
    """An answer worth another try: why (for the log), the error to raise when no try is left (given the
    number of tries made), the wait the service asked for, and the exception behind it."""

    reason: str
    give_up: Callable[[int], BaseException]
    hint: float | None = None
    cause: BaseException | None = None


def retry_call(
    attempt: Callable[[], T | Again],
    policy: RetryPolicy,
    *,
    sleep: Sleep = time.sleep,
    on_wait: Callable[[int, Again, float], None] | None = None,
    max_attempts: int | None = None,
) -> T:
    """Call `attempt` until it returns something other than `Again`, at most `max_attempts` times (default: the
    policy's); then the last answer's `give_up(tries)` is raised. `on_wait(tries, again, seconds)` is told
    before each wait. Exceptions of `attempt` are final."""
    tries = max_attempts or policy.max_attempts
    first = attempt()  # most calls answer at once: no retry machinery for them (a run makes thousands)
    if not isinstance(first, Again):
        return first
    answers: list[T | Again] = [first]

    def replayed() -> T | Again:
        """The first answer (already had) as tenacity's first attempt, then real ones."""
        return answers.pop() if answers else attempt()

    def again_of(state: tenacity.RetryCallState) -> Again:
        assert state.outcome is not None
        return cast(Again, state.outcome.result())

    def stops(state: tenacity.RetryCallState) -> bool:
        hint = again_of(state).hint
        return state.attempt_number >= tries or (hint is not None and hint > policy.max_hint)

    def wait(state: tenacity.RetryCallState) -> float:
        # tenacity asks for the wait before it asks whether to stop: no random draw for a wait never taken
        return 0.0 if stops(state) else policy.wait(state.attempt_number, again_of(state).hint)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_wait is not None and state.next_action is not None:
            on_wait(state.attempt_number, again_of(state), state.next_action.sleep)

    def give_up(state: tenacity.RetryCallState) -> T:
        again = again_of(state)
        raise again.give_up(state.attempt_number) from again.cause

    retrying = tenacity.Retrying(
        sleep=sleep,
        stop=stops,
        wait=wait,
        retry=tenacity.retry_if_result(lambda result: isinstance(result, Again)),
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
    return cast(T, retrying(replayed))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, from a `Retry-After` value (RFC 9110 §10.2.3: `"30"`, `"1.5"`, or an HTTP date);
    None when absent or unreadable. `now` is epoch seconds (default: the real time) for the date form."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, float(moment.timestamp()) - (time.time() if now is None else now))
