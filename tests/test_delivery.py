"""deliver_once around sends whose outcome is unknown: no blind resend, and no endless one either."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository
from naver_sms.delivery import deliver_once
from naver_sms.domain import BookingRecord
from naver_sms.errors import DeliveryUnavailable, FlagFailedForGood, OutcomeUnknown
from naver_sms.ports import SmsMessage
from tests.world import RecordingSms, kst

KEY = ("1000001_900000001", "010-0000-0001")
MESSAGE = SmsMessage(to="01000000001", sender="0200000000", type="LMS", subject="s", content="c")
LEASE = timedelta(minutes=10)


class NeverAnswers(RecordingSms):
    """SENS takes every message and never answers; its look-up never lists them (the worst case)."""

    def send(self, message: SmsMessage):  # type: ignore[no-untyped-def]
        super().send(message)
        raise OutcomeUnknown("read timeout after sending", channel="sens")

    def find_sent(self, message, *, since, until, exclude=()):  # type: ignore[no-untyped-def]
        self.lookups.append(message)
        return None


class LookupDown(RecordingSms):
    def find_sent(self, message, *, since, until, exclude=()):  # type: ignore[no-untyped-def]
        self.lookups.append(message)
        raise DeliveryUnavailable("look-up: 503 after 3 attempts", channel="sens")


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    repo = SqliteRepository(SqliteDatabase(tmp_path / "s.sqlite3"), max_attempts=3)
    repo.create(BookingRecord(*KEY))
    return repo


def run(repo: SqliteRepository, sms: RecordingSms, minutes: int) -> str:
    try:
        return deliver_once(
            repo=repo,
            sms=sms,
            message=MESSAGE,
            key=KEY,
            flag="confirm_sms",
            run_id=f"run-{minutes}",
            now=kst("2026-11-26 10:00") + timedelta(minutes=minutes),
            lease=LEASE,
        ).status
    except Exception as exc:  # the outcome of this run, as the engine would report it
        return type(exc).__name__


def test_sends_that_never_get_an_answer_stop_at_the_bound(repo: SqliteRepository) -> None:
    # GIVEN SENS that swallows every answer and whose look-up never finds anything
    sms = NeverAnswers()
    # WHEN runs come every 20 minutes for a day
    outcomes = [run(repo, sms, 20 * k) for k in range(72)]
    # THEN at most max_attempts messages were ever sent, and then the flag failed for good, reported each run
    assert len(sms.sent) == 3
    assert outcomes[:3] == ["OutcomeUnknown"] * 3
    assert set(outcomes[3:]) == {"FlagFailedForGood"}
    row = repo.get(KEY)
    assert row is not None and row.extra["confirm_sms_failed"] is True and row.confirm_sms is False


def test_a_look_up_that_cannot_tell_keeps_the_stale_claim_and_never_sends(repo: SqliteRepository) -> None:
    # GIVEN a run that sent and got no answer
    first = NeverAnswers()
    assert run(repo, first, 0) == "OutcomeUnknown"
    # WHEN the later runs cannot reach the look-up
    down = LookupDown()
    outcomes = [run(repo, down, 20 * k) for k in range(1, 6)]
    # THEN none of them sends (the first message may have gone out), each asks again, then it fails for good
    assert down.sent == []
    assert len(down.lookups) == 3
    assert outcomes == ["DeliveryUnavailable"] * 3 + ["FlagFailedForGood"] * 2
    row = repo.get(KEY)
    assert row is not None and row.extra["confirm_sms_lookups"] == 3
    assert row.extra["confirm_sms_claim_run"] == "run-0"  # the stale claim, as the first run left it


def test_after_a_reset_the_next_run_asks_again_before_sending(repo: SqliteRepository) -> None:
    first = NeverAnswers()
    run(repo, first, 0)
    down = LookupDown()
    for k in range(1, 4):
        run(repo, down, 20 * k)
    assert repo.reset(KEY, "confirm_sms")
    found = RecordingSms()
    found.sent.append(MESSAGE)  # SENS did take the first message after all
    assert run(repo, found, 80) == "reconciled"
    assert found.lookups == [MESSAGE] and len(found.sent) == 1


def test_failed_for_good_is_the_error_type(repo: SqliteRepository) -> None:
    sms = NeverAnswers()
    for k in range(4):
        run(repo, sms, 20 * k)
    with pytest.raises(FlagFailedForGood):
        deliver_once(
            repo=repo,
            sms=sms,
            message=MESSAGE,
            key=KEY,
            flag="confirm_sms",
            run_id="x",
            now=kst("2026-11-27 10:00"),
            lease=LEASE,
        )


def test_a_stale_send_is_not_settled_by_the_same_customers_other_booking(tmp_path: Path) -> None:
    """One customer, two bookings, the same confirmation text. Booking A's SMS went out; booking B's send got
    no answer and in fact never reached SENS. The next run must send B's, not take A's message for it."""
    import dataclasses
    import json

    from naver_sms.config.settings import Settings
    from naver_sms.domain import FixedClock
    from naver_sms.runner import run_once
    from naver_sms.wiring import build_runtime
    from tests.conftest import CONFIG_DIR
    from tests.world import naver_booking

    class LosesTheSecond(RecordingSms):
        def send(self, message: SmsMessage):  # type: ignore[no-untyped-def]
            if len(self.sent) == 1 and not getattr(self, "lost", False):
                self.lost = True
                raise OutcomeUnknown("read timeout; the request never reached SENS", channel="sens")
            return super().send(message)

    bookings = [
        naver_booking(booking_id=900000071, store_id=1000001, start="2026-11-28 14:00", phone="01055550001"),
        naver_booking(booking_id=900000072, store_id=1000001, start="2026-11-29 14:00", phone="01055550001"),
    ]
    (tmp_path / "b.json").write_text(json.dumps(bookings, ensure_ascii=False), encoding="utf-8")
    settings = Settings(
        config_dir=CONFIG_DIR,
        db=str(tmp_path / "s.sqlite3"),
        bookings_path=tmp_path / "b.json",
        telegram_enabled=False,
    )
    sms = LosesTheSecond()

    def run_at(wall: str) -> None:
        runtime, _ = build_runtime(
            settings, clock=FixedClock(kst(wall)), real_clock=FixedClock(kst(wall)), run_id=wall
        )
        runtime.services = dataclasses.replace(runtime.services, sms_service=sms)
        run_once(runtime, run_id=wall)

    run_at("2026-11-26 10:00")  # A sent (req-1); B: no answer
    run_at("2026-11-26 10:20")  # B's claim is stale: the look-up must not take req-1 for B
    assert [m.to for m in sms.sent] == ["01055550001", "01055550001"]
    state = build_runtime(settings, clock=FixedClock(kst("2026-11-26 10:20")), run_id="x")[1]
    rows = {r.booking_num: r for r in state.repo.records()}
    assert rows["1000001_900000071"].extra["confirm_sms_request_id"] == "req-1"
    assert rows["1000001_900000072"].extra["confirm_sms_request_id"] == "req-2"
