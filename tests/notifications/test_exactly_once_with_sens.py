"""`deliver_once` with the real SENS client against the stand-in: a lost answer never becomes a second SMS,
across runs (the claim is kept, the next run resolves it through SENS's look-up)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository
from naver_sms.delivery import deliver_once
from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST
from naver_sms.errors import OutcomeUnknown
from naver_sms.notifications.sms_service import SensClient
from naver_sms.ports import SmsMessage
from tests.notifications.conftest import RECIPIENT, SENDER
from tests.standins.sens import SensStandIn

pytestmark = pytest.mark.integration

KEY = ("1000001_2000001", "010-9876-5432")
MESSAGE = SmsMessage(
    to=RECIPIENT, sender=SENDER, type="LMS", subject="안내", content="예약이 확정되었습니다."
)
LEASE = timedelta(minutes=10)
RUN_1_AT = datetime(2026, 11, 26, 18, 0, tzinfo=KST)
RUN_2_AT = RUN_1_AT + LEASE + timedelta(minutes=20)


class RealTime:
    """The real time of these runs, frozen: SENS's own clock, the client's (it signs with it) and the claims'
    all read it, as in production they all read the one real clock."""

    def __init__(self) -> None:
        self.at = RUN_1_AT

    def __call__(self) -> datetime:
        return self.at


REAL = RealTime()


@pytest.fixture
def make_sens_client(
    make_sens_client: Callable[..., SensClient], sens_server: tuple[SensStandIn, str]
) -> Callable[..., SensClient]:
    """The channel tests' client factory, on the one real clock of these runs."""
    sens_server[0].set_clock(REAL)
    return lambda **options: make_sens_client(clock=REAL, **options)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqliteRepository]:
    db = SqliteDatabase(tmp_path / "state.sqlite3")
    repository = SqliteRepository(db, max_attempts=3)
    repository.create(BookingRecord(booking_num=KEY[0], phone=KEY[1], name="홍*동"))
    yield repository
    db.close()


def run(repo: SqliteRepository, sms: SensClient, run_id: str, now: datetime) -> str:
    REAL.at = now
    return deliver_once(
        repo=repo, sms=sms, message=MESSAGE, key=KEY, flag="confirm_sms", run_id=run_id, now=now, lease=LEASE
    ).status


def test_a_lost_answer_resolved_by_the_next_run_sends_one_sms(
    sens_server: tuple[SensStandIn, str], make_sens_client: Callable[..., SensClient], repo: SqliteRepository
) -> None:
    # GIVEN SENS sends the SMS but the answer is lost, and its look-up is down during that run
    standin, _ = sens_server
    standin.accept_then_stall(seconds=10)
    standin.fail_next(500, times=100, route="list")
    # WHEN run 1 delivers: the outcome is unknown and the claim is kept
    with pytest.raises(OutcomeUnknown):
        run(repo, make_sens_client(timeout=0.3), "run-1", RUN_1_AT)
    # AND run 2, after the lease, finds the message through the look-up
    standin.clear_queue()
    status = run(repo, make_sens_client(), "run-2", RUN_2_AT)
    # THEN exactly one SMS went out, and the flag is done with SENS's request id
    assert status == "reconciled"
    assert len(standin.messages) == 1
    record = repo.get(KEY)
    assert record is not None and record.confirm_sms is True
    assert record.extra["confirm_sms_request_id"] == standin.messages[0].request_id


def test_a_lost_request_is_sent_by_the_next_run_once(
    sens_server: tuple[SensStandIn, str], make_sens_client: Callable[..., SensClient], repo: SqliteRepository
) -> None:
    # GIVEN run 1's request was lost before SENS recorded anything
    standin, _ = sens_server
    standin.stall_next(seconds=10)
    with pytest.raises(OutcomeUnknown):
        run(repo, make_sens_client(timeout=0.3), "run-1", RUN_1_AT)
    # WHEN run 2 takes over the stale claim
    status = run(repo, make_sens_client(), "run-2", RUN_2_AT)
    # THEN the look-up found nothing, so it sent - once
    assert status == "sent"
    assert len(standin.messages) == 1
    # AND a third run sends nothing more
    assert run(repo, make_sens_client(), "run-3", RUN_2_AT + LEASE * 3) == "already_done"
    assert len(standin.messages) == 1
