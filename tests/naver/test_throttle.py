"""Naver's 429s pace the whole fetch (issue 12, item 3; naver_sms.naver.throttle): one refused request makes every
store wait, and the requests allowed in flight are halved, then grow back as Naver keeps answering.

The integration tests fetch from the Naver stand-in over real sockets; waits go through a recording sleep or a
simulated clock, so nothing waits for time to pass.
"""

from __future__ import annotations

import random
import threading
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from naver_sms.database.sqlite_repository import SqliteSessionRepository
from naver_sms.domain.booking import Store
from naver_sms.naver.api import NaverApi
from naver_sms.naver.live import NaverBookingSource
from naver_sms.naver.session import SessionManager
from naver_sms.naver.throttle import GROWTH, Throttle
from naver_sms.ports import FetchResult
from naver_sms.retry import RetryPolicy
from tests.naver.conftest import NOW, RecordingSleep, StandInLogin
from tests.naver.test_api import given_bookings, given_logged_in
from tests.notifications.test_pacing import SimulatedClock, started
from tests.standins.naver import NaverStandIn


def stores(n: int, first: int = 2000201) -> list[Store]:
    return [Store(id=str(first + i), name=f"Example Studio {i}", alias=f"s{i}") for i in range(n)]


def until_queued(throttle: Throttle, n: int = 1) -> None:
    """Until `n` requests wait for a slot (a thread's state, not time: bounded, it fails rather than hang)."""
    ready = threading.Event()
    for _ in range(5000):
        if throttle.queued >= n:
            return
        ready.wait(0.001)
    raise AssertionError(f"{throttle.queued} request(s) waiting for a slot, not {n}")


def in_flight(throttle: Throttle, n: int) -> tuple[ExitStack, list[int]]:
    """`n` requests held in flight at once (one thread: the bound must allow them)."""
    stack = ExitStack()
    cuts = [stack.enter_context(throttle.slot()) for _ in range(n)]
    return stack, cuts


def throttle_at(ceiling: int, clock: SimulatedClock | None = None) -> Throttle:
    """A throttle as a fetch of `ceiling` stores at once starts it (waits recorded, or on `clock`)."""
    throttle = Throttle(sleep=clock.sleep, clock=clock.now) if clock else Throttle(sleep=RecordingSleep())
    throttle.reset(ceiling)
    return throttle


def refused_with(throttle: Throttle, held: int) -> None:
    """`held` requests in flight, Naver refusing one of them, then all of them done."""
    stack, cuts = in_flight(throttle, held)
    throttle.refused(cuts[-1], None)
    stack.close()


def waiting_for_a_slot(throttle: Throttle) -> tuple[threading.Thread, threading.Event]:
    """A request in another thread, waiting for its slot; the event is set once it has one."""
    entered = threading.Event()

    def request() -> None:
        with throttle.slot():
            entered.set()

    thread = started(request)
    until_queued(throttle)
    return thread, entered


# --- the bound ----------------------------------------------------------------------------------------------


def test_the_429s_of_requests_already_in_flight_halve_the_bound_once() -> None:
    # GIVEN a fetch of 8 stores at once, all 8 requests in flight
    throttle = throttle_at(8)
    stack, cuts = in_flight(throttle, 8)
    # WHEN Naver refuses every one of them
    for cut in cuts:
        throttle.refused(cut, None)
    stack.close()
    # THEN the bound is halved once, not eight times
    assert throttle.bound == 4 and throttle.lowest == 4
    # AND a refusal of a request started under the new bound halves it again, never below one
    for held, expected in ((4, 2), (2, 1), (1, 1)):
        refused_with(throttle, held)
        assert throttle.bound == expected


def test_the_bound_is_cut_from_what_was_in_flight_not_from_the_ceiling() -> None:
    # GIVEN a bound of 16 with only 3 requests in flight (the other stores are done)
    throttle = throttle_at(16)
    # WHEN one of the 3 is refused  THEN 1 is allowed (3 // 2), not 8
    refused_with(throttle, 3)
    assert throttle.bound == 1


def test_the_bound_grows_back_one_at_a_time_to_just_below_where_naver_refused() -> None:
    # GIVEN a fetch of 16 at once, refused with 6 in flight: 3 allowed
    throttle = throttle_at(16)
    refused_with(throttle, 6)
    assert throttle.bound == 3
    # WHEN Naver answers GROWTH x 3 requests in a row  THEN one more is allowed, not before
    for _ in range(GROWTH * 3 - 1):
        throttle.answered()
    assert throttle.bound == 3
    throttle.answered()
    assert throttle.bound == 4
    # AND it grows to 5 - one fewer than were refused - and no further in this fetch
    for _ in range(GROWTH * 100):
        throttle.answered()
    assert throttle.bound == 5
    # AND the next fetch starts from its own bound again
    throttle.reset(16)
    assert throttle.bound == 16


def test_a_request_over_the_bound_waits_for_one_in_flight_to_end() -> None:
    # GIVEN a bound cut to one, one request in flight
    throttle = throttle_at(2)
    refused_with(throttle, 2)
    assert throttle.bound == 1
    first = throttle.slot()
    first.__enter__()
    # WHEN a second request asks for a slot  THEN it waits while the first is in flight ...
    thread, entered = waiting_for_a_slot(throttle)
    assert not entered.is_set()
    # ... and goes as soon as the first ends
    first.__exit__(None, None, None)
    assert entered.wait(5)
    thread.join(5)


def test_a_request_waiting_for_its_slot_waits_out_a_429_met_meanwhile() -> None:
    # GIVEN a bound of one, a request in flight and another waiting for the slot
    clock = SimulatedClock()
    throttle = throttle_at(1, clock)
    first = throttle.slot()
    cut = first.__enter__()
    thread, entered = waiting_for_a_slot(throttle)
    # WHEN the first is answered 429 asking for 5 s, and leaves its slot
    throttle.refused(cut, 5.0)
    first.__exit__(None, None, None)
    # THEN the waiting one does not take the slot before the 5 s have passed
    clock.wait_for_sleepers(1)
    assert not entered.is_set()
    clock.advance(5.0)
    assert entered.wait(5)
    thread.join(5)


def test_a_new_fetch_starts_from_its_own_bound_again() -> None:
    throttle = throttle_at(8)
    refused_with(throttle, 8)
    throttle.reset(6)
    assert throttle.bound == 6 and throttle.lowest == 4


# --- over real sockets ----------------------------------------------------------------------------------------


@dataclass
class TwoStores:
    """Two stores being fetched at once in another thread, on a clock that moves only when the test moves it."""

    clock: SimulatedClock
    api: NaverApi
    stores: list[Store]
    fetching: threading.Thread
    results: list[FetchResult]

    def finish(self) -> FetchResult:
        self.clock.advance(60.0)
        self.fetching.join(30)
        self.api.close()
        return self.results[0]


def fetching_two(
    naver: NaverStandIn,
    sessions: SqliteSessionRepository,
    login: StandInLogin,
    *,
    first: int,
    second_bookings: int,
    status: int,
    headers: dict[str, str] | None = None,
) -> TwoStores:
    """The first store (60 bookings) has its first list page answer `status` once; the second has many."""
    clock = SimulatedClock()
    api = NaverApi(naver.base_url, sleep=clock.sleep, monotonic=clock.now, rng=random.Random(7))
    two = stores(2, first=first)
    given_bookings(naver, two[0].id, confirmed=60)
    given_bookings(naver, two[1].id, confirmed=second_bookings)
    given_logged_in(naver, sessions)
    naver.fail(two[0].id, status, kind="list", page=0, headers=headers or {})
    source = NaverBookingSource(api, SessionManager(sessions, login, api.check_session), concurrency=2)
    results: list[FetchResult] = []
    return TwoStores(clock, api, two, started(lambda: results.append(source.fetch(two, NOW))), results)


def test_one_429_makes_the_other_stores_wait_too(
    naver: NaverStandIn, sessions: SqliteSessionRepository, login: StandInLogin
) -> None:
    # GIVEN two stores fetched at once, the first one's first list page answering 429 with Retry-After: 5,
    # the second one with many pages
    run = fetching_two(
        naver, sessions, login, first=2000201, second_bookings=4000, status=429, headers={"Retry-After": "5"}
    )
    try:
        # WHEN the first store is refused  THEN both stores wait: the refused one, and the other before its
        # next request
        run.clock.wait_for_sleepers(2)
        asked = len(naver.api_calls(store_id=run.stores[1].id))
        assert asked < 1 + 4000 // 50
        # AND when the 5 s (plus jitter) have passed, both finish
        run.clock.advance(6.0)
        run.fetching.join(30)
    finally:
        result = run.finish()
    assert not result.failed_stores
    assert len(result.bookings) == 60 + 4000


def test_a_5xx_is_waited_out_by_its_own_store_only(
    naver: NaverStandIn, sessions: SqliteSessionRepository, login: StandInLogin
) -> None:
    # GIVEN two stores fetched at once, the first one's first list page answering 503 once (that store's
    # trouble, perhaps)
    run = fetching_two(naver, sessions, login, first=2000401, second_bookings=2000, status=503)
    second = run.stores[1].id
    try:
        # WHEN the first store waits for its retry
        run.clock.wait_for_sleepers(1)
        # THEN the second store makes every one of its requests meanwhile (both counts, 40 pages), unheld
        ready = threading.Event()
        for _ in range(10000):
            if len(naver.api_calls(store_id=second)) >= 2 + 2000 // 50:
                break
            ready.wait(0.001)
        assert len(naver.api_calls(store_id=second)) == 2 + 2000 // 50
        assert run.clock.sleepers == 1
    finally:
        result = run.finish()
    assert not result.failed_stores and len(result.bookings) == 60 + 2000


@pytest.mark.parametrize("limit", [1, 2])
def test_a_fetch_over_navers_limit_slows_down_and_fetches_every_store(
    naver: NaverStandIn, sessions: SqliteSessionRepository, login: StandInLogin, limit: int
) -> None:
    # GIVEN a Naver that answers 429 (Retry-After: 1) to any request over `limit` at once, answering each in
    # 20 ms, and six stores fetched six at once
    sleep = RecordingSleep()
    api = NaverApi(naver.base_url, sleep=sleep, rng=random.Random(7))
    six = stores(6, first=2000301)
    for store in six:
        given_bookings(naver, store.id, confirmed=500)
    given_logged_in(naver, sessions)
    naver.latency, naver.concurrency_limit = 0.02, limit
    source = NaverBookingSource(api, SessionManager(sessions, login, api.check_session), concurrency=6)
    # WHEN fetched
    try:
        result = source.fetch(six, NOW)
    finally:
        api.close()
    # THEN every store is complete: the fetch went down to Naver's limit instead of failing stores
    assert not result.failed_stores
    assert len(result.bookings) == 6 * 500
    assert naver.refused > 0 and api.throttle.lowest <= limit
    # AND the refusals were few: the bound stayed down rather than hitting the limit again and again
    answered = len(naver.api_calls())
    assert naver.refused <= answered // 3


def test_the_wait_every_store_shares_after_a_429_without_a_hint_is_never_longer_than_the_retrys_own() -> None:
    # the mark is the least wait the refused request's retry can draw; its own drawn wait then extends it, so
    # the retry's jitter (and the wait it logs) is the wait taken
    policy = RetryPolicy.for_naver(random.Random(3))
    for retry in range(1, 7):
        draws = [policy.backoff(retry) for _ in range(2000)]
        assert policy.least_backoff(retry) <= min(draws) <= policy.least_backoff(retry) * 1.01
