"""One shared backoff for the SMS a run sends in parallel (issue 12, item 2): when SENS answers 429 to one send,
every send of the client waits - on one `Pacer`, not a sleep per thread.

Time is a simulated clock: a sleeping thread blocks until the test moves the clock on, so the test sees who
waits, and nothing waits for real time to pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from naver_sms.errors import DeliveryUnavailable
from naver_sms.notifications.sms_service import SensClient
from naver_sms.pacing import Pacer
from naver_sms.ports import SmsMessage
from tests.notifications.conftest import RECIPIENT, SENDER, exact_retry
from tests.standins.sens import SensStandIn

Sens = tuple[SensStandIn, str]


class SimulatedClock:
    """Seconds that pass only when the test says so; `sleep` blocks until they have."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleepers = 0
        self._cond = threading.Condition()

    def now(self) -> float:
        with self._cond:
            return self.time

    def sleep(self, seconds: float) -> None:
        with self._cond:
            until = self.time + seconds
            self.sleepers += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.time >= until, timeout=30)
            self.sleepers -= 1

    def advance(self, seconds: float) -> None:
        with self._cond:
            self.time += seconds
            self._cond.notify_all()

    def wait_for_sleepers(self, n: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.sleepers >= n, timeout=30), f"{self.sleepers} asleep"


def started(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_hold_makes_every_sender_wait_until_it_ends() -> None:
    # GIVEN one pacer for the sends of a run
    clock = SimulatedClock()
    pacer = Pacer(sleep=clock.sleep, clock=clock.now)
    free: list[str] = []
    # WHEN one send must wait 3 s (SENS answered 429), and another asks for its turn meanwhile
    first = started(lambda: (pacer.hold(3.0), free.append("refused one")))
    clock.wait_for_sleepers(1)
    second = started(lambda: (pacer.wait_turn(), free.append("other one")))
    clock.wait_for_sleepers(2)
    # THEN both wait; a send that could not wait that long is told so at once
    assert free == []
    assert pacer.wait_turn(until=clock.now() + 1.0) is False
    # AND when the 3 s have passed both go on
    clock.advance(3.0)
    first.join(5)
    second.join(5)
    assert sorted(free) == ["other one", "refused one"]
    assert pacer.wait_turn() is True  # nothing is held any more


def test_one_429_makes_the_clients_other_parallel_sends_wait_too(sens_server: Sens) -> None:
    # GIVEN one SENS client shared by the run's send threads, and SENS refusing the first send with 429
    standin, url = sens_server
    standin.fail_next(429, headers={"Retry-After": "2"})
    clock = SimulatedClock()
    client = SensClient(
        base_url=url,
        service_id=standin.service_id,
        access_key=standin.access_key,
        secret_key=standin.secret_key,
        timeout=5.0,
        retry=exact_retry(),
        pacer=Pacer(sleep=clock.sleep, clock=clock.now),
    )

    def sms(n: int) -> SmsMessage:
        return SmsMessage(
            to=f"{RECIPIENT[:-1]}{n}", sender=SENDER, type="LMS", subject="안내", content="내용"
        )

    try:
        # WHEN one send is refused and waits, and a second thread's send starts meanwhile
        first = started(lambda: client.send(sms(1)))
        clock.wait_for_sleepers(1)
        second = started(lambda: client.send(sms(2)))
        clock.wait_for_sleepers(2)
        # THEN the second waits for the same 2 s instead of hitting SENS: one request so far
        assert len(standin.send_requests) == 1 and standin.messages == []
        clock.advance(2.0)
        first.join(10)
        second.join(10)
    finally:
        client.close()
    # AND then both went out, once each
    assert sorted(m.to for m in standin.messages) == [f"{RECIPIENT[:-1]}1", f"{RECIPIENT[:-1]}2"]
    assert [r.status for r in standin.send_requests] == [429, 202, 202]


def test_a_send_gives_up_when_the_wait_would_outlast_its_time(sens_server: Sens) -> None:
    # GIVEN SENS asking to wait 25 s, and a send that may take 20 s in all (its requests' 5 s included)
    standin, url = sens_server
    standin.fail_next(429, headers={"Retry-After": "25"})
    clock = SimulatedClock()
    client = SensClient(
        base_url=url,
        service_id=standin.service_id,
        access_key=standin.access_key,
        secret_key=standin.secret_key,
        timeout=5.0,
        retry=exact_retry(),
        send_timeout=20.0,
        pacer=Pacer(sleep=clock.sleep, clock=clock.now),
    )
    # WHEN it sends THEN it does not wait: nothing went out, and the error says why (a later run retries)
    try:
        try:
            client.send(SmsMessage(to=RECIPIENT, sender=SENDER, type="LMS", subject="안내", content="내용"))
        except DeliveryUnavailable as exc:
            assert "HTTP 429" in str(exc) and "no time left" in str(exc)
        else:
            raise AssertionError("the send should have given up")
    finally:
        client.close()
    assert clock.sleepers == 0 and standin.messages == []
