"""The act step of a run (issue 9 items 1-2, issue 8 item 6, issue 12 items 1-2), through the runner with the
default rules: a new booking's row is written only with its claim; the run's deadline defers what it cannot
finish, losing nothing; a claim whose lease ran out is renewed - or left to the run that took it - before its
send; a send whose flag could not be set is reported as sent; the bookings of a run are acted on in parallel
and reported in decision order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from naver_sms.config.models import AppConfig
from naver_sms.config.settings import Settings
from naver_sms.database.sqlite_repository import SqliteRepository
from naver_sms.delivery import deliver_once
from naver_sms.domain import Booking, BookingRecord, FixedClock
from naver_sms.errors import ConfigError, RepositoryError
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.store import RecordKey, RecordStore
from naver_sms.ports import SmsMessage
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.plan import CompiledRule
from naver_sms.rules.report import RunReport
from naver_sms.runner import Runtime, run_once
from naver_sms.wiring import compile_config
from tests.conftest import CONFIG_DIR
from tests.world import GUIDE_OF_STORE, RecordingChannel, RecordingSms, booking, kst, many_bookings, runtime

T = TypeVar("T")

NOW = kst("2026-11-26 18:40")
LEASE = timedelta(minutes=10)


class Ticking:
    """A real clock that moves on by `step` every time it is read (a run that takes time, without waiting)."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.at, self.step = start, step

    def __call__(self) -> datetime:
        self.at += self.step
        return self.at


class FailingWrites:
    """A `RecordStore` whose writes fail with the store's error (a state store that went away)."""

    def __init__(self, inner: RecordStore) -> None:
        self.inner = inner

    def get_items(self, keys: Sequence[RecordKey]) -> Any:
        return self.inner.get_items(keys)

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        raise RepositoryError("SQLite: disk I/O error")

    def update_if(self, key: RecordKey, **options: Any) -> dict[str, Any] | None:
        raise RepositoryError("SQLite: disk I/O error")

    def atomic(self, work: Callable[[], T]) -> T:
        return work()

    def scan_items(self, limit: int | None = None) -> Iterable[dict[str, Any]]:
        return self.inner.scan_items(limit)


@pytest.fixture
def compiled() -> tuple[AppConfig, RuleEngine, tuple[CompiledRule, ...]]:
    return compile_config(CONFIG_DIR)


def make(
    compiled: tuple[AppConfig, RuleEngine, tuple[CompiledRule, ...]],
    services: ActionServicesBundle,
    bookings: Sequence[Booking],
    *,
    real: Any = None,
    workers: int = 1,
) -> Runtime:
    config, engine, rules = compiled
    rt = runtime(engine, rules, config, services, NOW, bookings, real=real or FixedClock(NOW))
    rt.workers = workers
    rt.summary_channel = services.telegram_service
    return rt


def sent(report: RunReport) -> list[tuple[str, str]]:
    return [(s.booking_num, s.template) for s in report.sms if s.status in ("sent", "outbox")]


# --- issue 9, item 1: no row without its claim ---


def test_a_new_bookings_row_is_written_only_with_the_claim_of_its_confirmation(
    compiled: Any, services: ActionServicesBundle, repo: SqliteRepository, sms: RecordingSms
) -> None:
    # GIVEN a new booking days ahead, and a state store whose writes fail (the run dies at its first write)
    tomorrow = booking(start="2026-11-28 15:00")
    broken = replace(services, db_repo=FlagRepository(FailingWrites(repo.store)))
    # WHEN a run acts on it
    report = run_once(make(compiled, broken, [tomorrow]))
    # THEN nothing was sent, the failure is reported, and no row was left behind: no row without a claim
    assert sms.sent == [] and [e.kind for e in report.errors] == ["action"]
    assert repo.get((tomorrow.booking_num, tomorrow.phone)) is None
    # AND the next run still finds the booking new and sends its confirmation - not days later, with its guide
    again = run_once(make(compiled, services, [tomorrow]))
    assert sent(again) == [(tomorrow.booking_num, "confirmation")]
    row = repo.get((tomorrow.booking_num, tomorrow.phone))
    assert row is not None and row.confirm_sms is True


def test_create_db_record_before_an_sms_writes_nothing_itself(
    compiled: Any, services: ActionServicesBundle, repo: SqliteRepository, sms: RecordingSms
) -> None:
    # GIVEN a new booking within two hours (the confirmation and the guide rule both create its row)
    soon = booking(start="2026-11-26 20:00")
    # WHEN one run acts on it
    report = run_once(make(compiled, services, [soon]))
    # THEN the row came with the first claim: create_db_record did nothing on its own, and both SMS went out
    assert sent(report) == [(soon.booking_num, "confirmation"), (soon.booking_num, "guide_gangnam")]
    creates = {k: n for k, n in report.actions.items() if k[1] == "create_db_record"}
    assert creates == {
        ("new_booking_confirmation", "create_db_record", "noop"): 1,
        ("guide_two_hours_before", "create_db_record", "noop"): 1,
    }
    row = repo.get((soon.booking_num, soon.phone))
    assert row is not None and (row.confirm_sms, row.remind_sms) == (True, True)


# --- the run's deadline (issue 8, item 6, core side) ---


def test_a_run_whose_deadline_is_within_the_margin_defers_every_booking_and_still_posts_its_summary(
    compiled: Any,
    services: ActionServicesBundle,
    repo: SqliteRepository,
    sms: RecordingSms,
    telegram: RecordingChannel,
) -> None:
    # GIVEN three new bookings, and a run with 60 s left (the margin is 90 s)
    bookings = [booking(start="2026-11-27 12:00") for _ in range(3)]
    rt = make(compiled, services, bookings)
    # WHEN it runs
    report = run_once(rt, deadline=NOW + timedelta(seconds=60))
    # THEN nothing was claimed, sent or written, each match is reported deferred (not failed), the summary went
    assert report.ok and report.errors == [] and sms.sent == []
    assert [(d.rule, d.booking_num) for d in report.deferred] == [
        ("new_booking_confirmation", b.booking_num) for b in bookings
    ]
    assert report.counts()["deferred"] == 3 and repo.records() == []
    assert telegram.messages == ["문자 발송 대상 없음"]
    # AND the next run, with time left, sends them all, once
    again = run_once(make(compiled, services, bookings), deadline=NOW + timedelta(minutes=5))
    assert sent(again) == [(b.booking_num, "confirmation") for b in bookings] and again.deferred == []


def test_a_run_that_reaches_its_cutoff_midway_sends_what_it_claimed_and_defers_the_rest(
    compiled: Any, services: ActionServicesBundle, repo: SqliteRepository, sms: RecordingSms
) -> None:
    # GIVEN 20 new bookings, and a run whose real clock moves 10 s at every reading, with 5 minutes left
    bookings = [Booking.from_naver(raw) for raw in many_bookings(20, start="2026-11-27 10:00")]
    clock = Ticking(NOW, timedelta(seconds=10))
    rt = make(compiled, services, bookings, real=clock)
    # WHEN it runs (no claim may start in the last 90 s)
    report = run_once(rt, deadline=NOW + timedelta(minutes=5))
    # THEN some were sent, the others deferred - none both, none neither, none failed
    done = {num for num, _ in sent(report)}
    deferred = {d.booking_num for d in report.deferred}
    assert done and deferred and not done & deferred
    assert done | deferred == {b.booking_num for b in bookings} and report.errors == []
    # AND the next run sends exactly the deferred ones
    clock.step = timedelta(0)
    again = run_once(make(compiled, services, bookings, real=clock))
    assert {num for num, _ in sent(again)} == deferred
    assert Counter(m.to for m in sms.sent) == Counter(b.phone_digits for b in bookings)


def test_a_deadline_longer_than_the_lease_allows_fails_the_run_with_a_clear_error(
    compiled: Any, services: ActionServicesBundle, sms: RecordingSms
) -> None:
    # GIVEN a run whose deadline is 20 minutes away while a claim holds 10
    rt = make(compiled, services, [booking()])
    # WHEN it runs THEN it refuses to act, and says which setting to change
    report = run_once(rt, deadline=NOW + timedelta(minutes=20))
    assert report.failed is not None and "NAVER_SMS_CLAIM_LEASE_SECONDS" in report.failed
    assert sms.sent == []


def test_settings_refuse_a_lease_shorter_than_a_run_and_a_margin_shorter_than_a_send() -> None:
    with pytest.raises(ConfigError) as short_lease:
        Settings.from_env({"NAVER_SMS_CLAIM_LEASE_SECONDS": "300", "NAVER_SMS_RUN_DEADLINE_SECONDS": "300"})
    assert short_lease.value.field == "NAVER_SMS_CLAIM_LEASE_SECONDS"
    assert "deadline (300 s) plus one send" in short_lease.value.message
    with pytest.raises(ConfigError) as short_margin:
        Settings.from_env({"NAVER_SMS_DEADLINE_MARGIN_SECONDS": "20"})
    assert short_margin.value.field == "NAVER_SMS_DEADLINE_MARGIN_SECONDS"
    # the stack's defaults (deploy/template.yaml: lease 900 s, margin 90 s) and a 5-minute serve run pass
    ok = Settings.from_env(
        {
            "NAVER_SMS_CLAIM_LEASE_SECONDS": "900",
            "NAVER_SMS_DEADLINE_MARGIN_SECONDS": "90",
            "NAVER_SMS_RUN_DEADLINE_SECONDS": "300",
        }
    )
    assert (ok.send_concurrency, ok.send_timeout_seconds) == (4, 30)


def test_the_lambda_handler_gives_the_run_the_invocations_remaining_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN the sandbox environment of a deployed function
    monkeypatch.setenv("NAVER_SMS_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("NAVER_SMS_BOOKINGS_PATH", str(CONFIG_DIR.parent / "examples" / "bookings"))
    monkeypatch.setenv("NAVER_SMS_CONFIG_DIR", str(CONFIG_DIR))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "NaverSmsTest")
    from naver_sms import handler

    class Context:
        def __init__(self, ms: int) -> None:
            self.ms = ms

        def get_remaining_time_in_millis(self) -> int:
            return self.ms

    # WHEN it is invoked with 30 s left of its time THEN it defers every match, sends nothing, and is ok
    short = handler.LambdaHandler()({}, Context(30_000))
    assert short["ok"] is True and short["counts"]["sms_sent"] == 0 and short["counts"]["deferred"] > 0
    # AND with 4 minutes left the next invocation sends them
    full = handler.LambdaHandler()({}, Context(240_000))
    assert full["counts"]["sms_sent"] > 0 and full["counts"]["deferred"] == 0


# --- issue 9, item 2: the lease re-checked before the send ---

KEY = ("1000001_900000001", "010-0000-0001")
MESSAGE = SmsMessage(to="01000000001", sender="0200000000", type="LMS", subject="s", content="c")


def deliver(repo: FlagRepository, sms: RecordingSms, *, clock: Any, run_id: str = "run-a") -> Any:
    return deliver_once(
        repo=repo,
        sms=sms,
        message=MESSAGE,
        key=KEY,
        flag="confirm_sms",
        run_id=run_id,
        now=NOW,
        lease=LEASE,
        clock=clock,
        send_margin=timedelta(seconds=30),
    )


def test_a_claim_with_less_than_a_send_left_is_renewed_before_the_send(repo: SqliteRepository) -> None:
    # GIVEN a run whose claim has 20 s of its lease left by the time it would send (it was slow)
    repo.create(BookingRecord(*KEY))
    sms = RecordingSms()
    clock = iter([NOW + LEASE - timedelta(seconds=20)])
    # WHEN it delivers
    outcome = deliver(repo, sms, clock=lambda: next(clock))
    # THEN it renewed the claim first and sent, once
    assert outcome.status == "sent" and len(sms.sent) == 1
    row = repo.get(KEY)
    assert row is not None and row.confirm_sms is True


def test_a_run_paused_past_its_lease_does_not_send_what_another_run_took_over(repo: SqliteRepository) -> None:
    # GIVEN a run that claimed, was paused (SIGSTOP, a suspended laptop) past its lease before sending, and
    # another run that took the stale claim over meanwhile, found nothing sent, and sent
    repo.create(BookingRecord(*KEY))
    after = NOW + LEASE + timedelta(minutes=1)
    other = RecordingSms()

    def meanwhile() -> datetime:
        taken = deliver_once(
            repo=repo,
            sms=other,
            message=MESSAGE,
            key=KEY,
            flag="confirm_sms",
            run_id="run-b",
            now=after,
            lease=LEASE,
        )
        assert taken.status == "sent"
        return after + timedelta(seconds=5)

    paused = RecordingSms()
    paused.live = True  # two processes' runs: the paused one's send is not inside the state's transaction
    # WHEN the paused run comes back and goes on to send
    outcome = deliver(repo, paused, clock=meanwhile)
    # THEN it does not send: the SMS went out once, from the other run, and this run says what happened
    assert paused.sent == [] and len(other.sent) == 1
    assert outcome.status == "claimed_elsewhere" and "paused" in outcome.detail
    row = repo.get(KEY)
    assert row is not None and row.confirm_sms is True and row.extra["confirm_sms_request_id"] == "req-1"


def test_an_sms_whose_flag_could_not_be_set_is_reported_as_sent_with_the_error(
    compiled: Any, services: ActionServicesBundle, repo: SqliteRepository, sms: RecordingSms
) -> None:
    # GIVEN a new booking, and a state store whose commit fails after the send
    new = booking(start="2026-11-27 12:00")
    failing = FlagRepository(repo.store)

    def commit(*args: Any, **kwargs: Any) -> None:
        raise RepositoryError("DynamoDB update_item on sms: ServiceUnavailable")

    failing.commit = commit  # type: ignore[method-assign]
    # WHEN a run acts on it
    report = run_once(make(compiled, replace(services, db_repo=failing), [new]))
    # THEN the SMS is reported as sent (it went out: the summary says so) and the error says what is left to do
    assert [(s.booking_num, s.status) for s in report.sms] == [(new.booking_num, "sent")]
    assert report.summary == f"{new.phone} 예약확정 문자 발송 완료"
    (error,) = report.errors
    assert "was not set by this run" in error.message and "not sent again" in error.message
    assert len(sms.sent) == 1


# --- issue 12, item 2: bookings in parallel, reported in decision order ---


def test_bookings_acted_on_in_parallel_are_reported_in_decision_order(
    compiled: Any, services: ActionServicesBundle, sms: RecordingSms
) -> None:
    # GIVEN 60 new bookings, every third within two hours (a confirmation and a guide)
    raws = many_bookings(60, start="2026-11-26 19:00")
    bookings = [Booking.from_naver(raw) for raw in raws]
    # WHEN one run acts on them eight at a time
    report = run_once(make(compiled, services, bookings, workers=8))
    # THEN the report lists each SMS once, in the order a run one booking after the other decides them
    expected = []
    for b in bookings:
        expected.append((b.booking_num, "confirmation"))
        if b.reserve_at - NOW <= timedelta(hours=2):
            expected.append((b.booking_num, GUIDE_OF_STORE[b.store_id]))
    assert sent(report) == expected
    assert report.summary.splitlines()[0] == f"{bookings[0].phone} 예약확정 문자 발송 완료"
    assert Counter((m.to, m.content) for m in sms.sent) == Counter(
        (next(b.phone_digits for b in bookings if b.booking_num == num), _text(compiled, t))
        for num, t in expected
    )


def _text(compiled: Any, template: str) -> str:
    config: AppConfig = compiled[0]
    return config.sms_templates[template].text
