"""The period claims and the run log, with the same assertions on SQLite, moto_server and dynalite: a period
is acted on once however many runs race for it, a failed act is retried and bounded, and the run log keeps
each run once and adds up the day's counters."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from naver_sms.config.settings import Settings
from naver_sms.domain.period import PeriodSpec
from naver_sms.errors import FlagFailedForGood
from naver_sms.flags.effect import Done
from naver_sms.flags.periods import PERIOD_FLAG, once_in_period, period_state
from naver_sms.ports import RunRecord
from naver_sms.wiring import State, open_state
from tests.world import kst

NOW = kst("2026-11-26 09:00")
LEASE = timedelta(minutes=10)
DAY = PeriodSpec.parse("day").period_at(NOW)


@pytest.fixture
def state(backend_db: str) -> State:
    return open_state(Settings(db=backend_db, max_attempts=2))


def test_a_period_is_acted_on_once_and_then_found_done(state: State) -> None:
    acted: list[str] = []
    first = once_in_period(
        state.periods,
        "daily",
        DAY,
        lambda c: Done(acted.append("a") or "a", NOW),
        run_id="a",
        now=NOW,
        lease=LEASE,
    )
    second = once_in_period(
        state.periods,
        "daily",
        DAY,
        lambda c: Done(acted.append("b") or "b", NOW),
        run_id="b",
        now=NOW,
        lease=LEASE,
    )
    assert acted == ["a"]
    assert first.outcomes[0].status == "done" and second.outcomes[0].status == "skipped"
    assert period_state(state.periods, "daily", DAY, NOW).status == "done"
    tomorrow = PeriodSpec.parse("day").period_at(NOW + timedelta(days=1))
    assert period_state(state.periods, "daily", tomorrow, NOW).status == "open"  # a key of its own


def test_racing_runs_act_once_per_period(state: State, request: pytest.FixtureRequest) -> None:
    acted: list[str] = []
    gate = threading.Barrier(6)
    lock = threading.Lock()

    def run(run_id: str) -> None:
        gate.wait()

        def act(_: object) -> Done[str]:
            with lock:
                acted.append(run_id)
            return Done(run_id, NOW)

        try:
            once_in_period(state.periods, "digest", DAY, act, run_id=run_id, now=NOW, lease=LEASE)
        except Exception as exc:  # a lost race is `skipped`, never an error
            errors.append(exc)

    errors: list[Exception] = []
    threads = [threading.Thread(target=run, args=(f"run-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    if (
        request.node.callspec.params["backend_db"] == "moto"
    ):  # moto's conditional writes are not atomic: only "at least once" holds there
        assert len(acted) >= 1
    else:
        assert len(acted) == 1


def test_a_failed_act_is_retried_in_the_same_period_and_bounded(state: State) -> None:
    def fails(_: object) -> Done[str]:
        raise RuntimeError("telegram down")

    for run_id in ("a", "b"):
        with pytest.raises(RuntimeError):
            once_in_period(state.periods, "daily", DAY, fails, run_id=run_id, now=NOW, lease=LEASE)
    after = period_state(state.periods, "daily", DAY, NOW)
    assert after.status == "failed" and after.attempts == 2 and "telegram down" in (after.last_error or "")
    third = once_in_period(
        state.periods, "daily", DAY, lambda c: Done("x", NOW), run_id="c", now=NOW, lease=LEASE
    )
    assert isinstance(third.outcomes[0].error, FlagFailedForGood) and not third.acted


def test_a_claim_left_by_a_crashed_run_is_taken_over_after_its_lease(state: State) -> None:
    key = ("period:daily", DAY.key)
    state.periods.store.put_if_absent({"booking_num": key[0], "phone": key[1]})
    state.periods.claim(key, PERIOD_FLAG, run_id="crashed", now=NOW, lease=LEASE)
    early = once_in_period(
        state.periods, "daily", DAY, lambda c: Done("x", NOW), run_id="b", now=NOW, lease=LEASE
    )
    later = NOW + LEASE + timedelta(seconds=1)
    late = once_in_period(
        state.periods, "daily", DAY, lambda c: Done("y", later), run_id="c", now=later, lease=LEASE
    )
    assert early.outcomes[0].status == "skipped" and late.outcomes[0].status == "done"


def _run(run_id: str, day: str, started: str, counters: dict[str, int]) -> RunRecord:
    return RunRecord(run_id, day, started, {"run_id": run_id, "ok": True, "sms": len(counters)}, counters)


def test_the_run_log_keeps_each_run_once_and_adds_up_the_days(state: State) -> None:
    state.runs.record(_run("r1", "2026-11-26", "2026-11-26T00:00:05+00:00", {"예약확정|1000001|LMS|sent": 2}))
    state.runs.record(_run("r2", "2026-11-26", "2026-11-26T00:20:05+00:00", {"예약확정|1000001|LMS|sent": 1}))
    state.runs.record(_run("r2", "2026-11-26", "2026-11-26T00:20:05+00:00", {"예약확정|1000001|LMS|sent": 9}))
    state.runs.record(_run("r0", "2026-11-25", "2026-11-25T14:40:05+00:00", {"안내|1000002|LMS|failed": 1}))
    assert [r.run_id for r in state.runs.runs_on("2026-11-26")] == ["r1", "r2"]
    last = state.runs.last()
    assert last is not None and last.run_id == "r2" and last.summary["sms"] == 1
    assert state.runs.day_totals(["2026-11-25", "2026-11-26", "2026-11-27"]) == {
        "2026-11-25": {"안내|1000002|LMS|failed": 1},
        "2026-11-26": {"예약확정|1000001|LMS|sent": 3},
    }
    assert state.runs.runs_on("2026-11-27") == []


def test_an_older_run_that_finishes_later_does_not_replace_the_last_run(state: State) -> None:
    state.runs.record(_run("new", "2026-11-26", "2026-11-26T00:20:00+00:00", {}))
    state.runs.record(_run("old", "2026-11-26", "2026-11-26T00:00:00+00:00", {}))
    last = state.runs.last()
    assert last is not None and last.run_id == "new"


def test_the_time_cookies_were_saved_is_kept_beside_them(state: State) -> None:
    assert state.sessions.cookies_saved_at() is None
    state.sessions.save_cookies([{"name": "NID_SES", "value": "synthetic"}], at=NOW)
    assert state.sessions.cookies_saved_at() == NOW
    assert state.sessions.load_cookies() == [{"name": "NID_SES", "value": "synthetic"}]
