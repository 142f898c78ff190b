"""The act step's writes at their floor (issue 12, item 1; issue 9, item 1), the same on every backend: a new
booking's row and its claim in one conditional write, no read before a claim, one write for the commit - and a
claim whose answer was lost, or whose row changed since the run read it, still ends as the protocol says.

Every store call is counted by a wrapper at the `RecordStore` port (`CountingStore`), over the real backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest

from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST
from naver_sms.errors import ClaimLost, FlagAlreadyDone, FlagClaimed
from naver_sms.flags.machine import FlagRepository, Seen
from naver_sms.flags.state import read_flag
from naver_sms.flags.store import Absent, Eq, Expect, NotTrue, RecordKey, RecordStore
from tests.database.backends import Backend

T = TypeVar("T")

NOW = datetime(2026, 11, 26, 18, 40, tzinfo=KST)
LEASE = timedelta(minutes=10)
INFO = {"to": "01000000001", "from": "0200000000", "type": "LMS"}


def record(n: int = 1) -> BookingRecord:
    return BookingRecord(
        booking_num=f"900001_{n}",
        phone=f"010-0000-{n:04d}",
        name="홍길동",
        booking_time="2026-11-26 20:00:00",
    )


class CountingStore:
    """A `RecordStore` that counts the calls it passes on: reads, puts and conditional updates."""

    def __init__(self, inner: RecordStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.replay_next = False  # apply the next write, then answer as a retry of it would: "not applied"

    def get_items(self, keys: Sequence[RecordKey]) -> Any:
        self.calls["get_items"] += 1
        return self.inner.get_items(keys)

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        self.calls["put_if_absent"] += 1
        done = self.inner.put_if_absent(item)
        return self._answer(done)

    def update_if(self, key: RecordKey, **options: Any) -> dict[str, Any] | None:
        self.calls["update_if"] += 1
        done = self.inner.update_if(key, **options)
        return None if self.replay_next and self._answer(True) is False else done

    def _answer(self, done: bool) -> bool:
        if self.replay_next:
            self.replay_next = False
            return False
        return done

    def atomic(self, work: Callable[[], T]) -> T:
        return self.inner.atomic(work)

    def scan_items(self, limit: int | None = None) -> Iterable[dict[str, Any]]:
        return self.inner.scan_items(limit)

    @property
    def writes(self) -> int:
        return self.calls["put_if_absent"] + self.calls["update_if"]


@pytest.fixture
def counted(backend: Backend) -> tuple[FlagRepository, CountingStore]:
    store = CountingStore(backend.repo.store)
    return FlagRepository(store, max_attempts=backend.repo.max_attempts), store


def stored(backend: Backend, rec: BookingRecord) -> BookingRecord:
    found = backend.repo.get(rec.key)
    assert found is not None
    return found


# --- one write per claim, one per commit ---


def test_a_new_bookings_row_and_its_claim_are_one_write_and_the_commit_another(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    # GIVEN a booking the run's batch read found no row for
    repo, store = counted
    rec = record()
    # WHEN its confirmation is claimed (creating the row) and committed
    claim = repo.claim(
        rec.key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, info=INFO, seen=Seen(None), create=rec
    )
    repo.commit(claim, request_id="RQ-1", sent_at=NOW)
    # THEN that took two writes and no read, and the row is the legacy row with the flag done
    assert store.calls == Counter({"put_if_absent": 1, "update_if": 1})
    row = stored(backend, rec)
    assert (row.name, row.booking_time, row.confirm_sms, row.remind_sms, row.option_sms) == (
        "홍길동",
        "2026-11-26 20:00:00",
        True,
        False,
        False,
    )
    assert row.extra["confirm_sms_request_id"] == "RQ-1"
    assert not [k for k in row.extra if "_claim" in k]


def test_a_claim_on_a_row_the_run_read_reads_nothing_first(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    # GIVEN a row with a confirmation that failed once, as the run's batch read loaded it
    repo, store = counted
    backend.repo.create(record())
    first = backend.repo.claim(record().key, "confirm_sms", run_id="run-0", now=NOW, lease=LEASE)
    backend.repo.release(first, error="SENS 500")
    (seen,) = backend.repo.load([record().key]).records.values()
    # WHEN a later run claims it from what it read
    claim = repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, seen=Seen(seen))
    # THEN one conditional write, no read - and the attempt number follows the one failure
    assert store.calls == Counter({"update_if": 1})
    assert claim.attempt == 2


def test_the_guide_of_a_booking_whose_row_this_run_just_created_is_claimed_in_one_write(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    # GIVEN a new booking whose confirmation claim created its row earlier in this run
    repo, store = counted
    rec = record()
    repo.claim(rec.key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, seen=Seen(None), create=rec)
    store.calls.clear()
    # WHEN the guide rule claims remind_sms on the row this run wrote (not seen by the batch read: send_sms
    # passes no `seen`, and the row to create should the first claim have failed)
    claim = repo.claim(rec.key, "remind_sms", run_id="run-a", now=NOW, lease=LEASE, create=rec)
    # THEN one conditional write claims it: no read, no second row, nothing overwritten
    assert claim.attempt == 1
    assert store.calls == Counter({"update_if": 1})
    row = stored(backend, rec)
    assert row.extra["confirm_sms_claim_run"] == "run-a" and row.extra["remind_sms_claim_run"] == "run-a"


def test_a_put_of_a_new_row_that_finds_one_claims_on_it(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    # GIVEN a row another run created after this run read no row
    repo, store = counted
    rec = record()
    backend.repo.create(rec)
    # WHEN this run claims as for a new booking
    claim = repo.claim(
        rec.key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, seen=Seen(None), create=rec
    )
    # THEN the put finds the row, one read says the flag is open, and one update claims it
    assert claim.attempt == 1
    assert store.calls == Counter({"put_if_absent": 1, "get_items": 1, "update_if": 1})
    assert stored(backend, rec).extra["confirm_sms_claim_run"] == "run-a"


def test_a_claim_whose_answer_was_lost_is_still_this_runs_on_every_path(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    # GIVEN writes that land and then answer "not applied" (a retry of a write whose first answer was lost)
    repo, store = counted
    rec = record()
    backend.repo.create(record(2))
    # WHEN a new row is put with its claim, and an existing row is claimed, each with its answer lost
    store.replay_next = True
    created = repo.claim(
        rec.key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, seen=Seen(None), create=rec
    )
    store.replay_next = True
    existing = repo.claim(record(2).key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE)
    # THEN both are recognised as this run's own claims by the token they wrote - one read each, only then
    assert (created.run_id, existing.run_id) == ("run-a", "run-a")
    assert store.calls["get_items"] == 2
    assert stored(backend, rec).extra["confirm_sms_claim_run"] == "run-a"


def test_a_row_that_changed_since_the_run_read_it_is_read_once_and_claimed_as_it_is(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    # GIVEN a run that read a row with no attempts, and another run that claimed and released it since
    repo, store = counted
    backend.repo.create(record())
    (seen,) = backend.repo.load([record().key]).records.values()
    other = backend.repo.claim(record().key, "remind_sms", run_id="run-b", now=NOW, lease=LEASE)
    backend.repo.release(other, error="SENS 500")
    # WHEN the first run claims from what it read
    claim = repo.claim(record().key, "remind_sms", run_id="run-a", now=NOW, lease=LEASE, seen=Seen(seen))
    # THEN its write did not hold (the attempts changed), it read the row once and claimed attempt 2
    assert store.calls == Counter({"update_if": 2, "get_items": 1})
    assert claim.attempt == 2


def test_a_claim_from_a_stale_read_still_refuses_what_another_run_did_since(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    # GIVEN a run that read no row, and another run that created the row, claimed and sent since
    repo, _ = counted
    rec = record()
    done = backend.repo.claim(
        rec.key, "confirm_sms", run_id="run-b", now=NOW, lease=LEASE, seen=Seen(None), create=rec
    )
    # WHEN the first run claims THEN it is told the other run holds it; after the commit, that it is done
    with pytest.raises(FlagClaimed):
        repo.claim(rec.key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, seen=Seen(None), create=rec)
    backend.repo.commit(done, request_id="RQ-B", sent_at=NOW)
    with pytest.raises(FlagAlreadyDone):
        repo.claim(rec.key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, seen=Seen(None), create=rec)
    assert stored(backend, rec).extra["confirm_sms_request_id"] == "RQ-B"


def test_a_claim_seen_live_is_refused_without_a_write_and_taken_over_once_it_is_stale(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    # GIVEN a row whose confirmation another run claimed, as read by this run
    repo, store = counted
    backend.repo.create(record())
    backend.repo.claim(record().key, "confirm_sms", run_id="run-b", now=NOW, lease=LEASE)
    (seen,) = backend.repo.load([record().key]).records.values()
    # WHEN this run claims within the lease THEN it is refused with no call at all
    with pytest.raises(FlagClaimed):
        repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, seen=Seen(seen))
    assert store.writes == 0
    # AND after the lease the same read takes it over in one write, told about the stale claim
    later = NOW + LEASE + timedelta(seconds=1)
    claim = repo.claim(record().key, "confirm_sms", run_id="run-a", now=later, lease=LEASE, seen=Seen(seen))
    assert claim.stale is not None and claim.stale.run_id == "run-b"
    assert store.calls == Counter({"update_if": 1})


# --- the store's upsert ---


def test_an_update_with_create_makes_the_row_only_when_its_conditions_hold_on_nothing(
    backend: Backend,
) -> None:
    # GIVEN no row
    store = backend.repo.store
    rec = record()
    item = rec.to_item()
    # WHEN an update that needs an attribute to equal something creates it THEN nothing is written
    assert store.update_if(rec.key, expect={"name": Eq("x")}, set_={"f": True}, create=item) is None
    assert backend.repo.get(rec.key) is None
    # WHEN one whose conditions hold on an empty item does THEN the row is created with the update applied
    expect: dict[str, Expect] = {"f": NotTrue(), "g": Absent()}
    assert store.update_if(rec.key, expect=expect, set_={"f": True}, create=item, returning=False) is not None
    row = stored(backend, rec)
    assert (row.name, row.confirm_sms, row.flag("f")) == ("홍길동", False, True)
    # AND on the existing row `create` changes nothing it holds
    changed = {**item, "name": "김철수", "confirm_sms": True}
    assert store.update_if(rec.key, expect={}, set_={"g": 1}, create=changed) is not None
    row = stored(backend, rec)
    assert (row.name, row.confirm_sms, row.extra["g"]) == ("홍길동", False, 1)


def test_update_flag_on_a_booking_with_no_row_creates_it_with_the_flag_in_one_write(
    backend: Backend, counted: tuple[FlagRepository, CountingStore]
) -> None:
    repo, store = counted
    rec = record()
    assert repo.set_flag(rec.key, "slack_listed", True, now=NOW, create=rec)
    assert store.writes == 1
    row = stored(backend, rec)
    assert row.flag("slack_listed") is True and row.confirm_sms is False


# --- renewal before a send ---


def test_a_claim_is_renewed_while_it_is_still_this_runs_and_lost_once_another_run_took_it(
    backend: Backend,
) -> None:
    # GIVEN a claim whose lease ran out while its run was paused
    repo = backend.repo
    repo.create(record())
    claim = repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE)
    after = NOW + LEASE + timedelta(seconds=5)
    # WHEN its run comes back first THEN it renews it from now
    renewed = repo.renew(claim, now=after, lease=LEASE)
    assert renewed.lease_until == after + LEASE
    assert read_flag(stored(backend, record()), "confirm_sms", after).status == "claimed"
    # WHEN another run took it over after the renewed lease ran out too THEN the renewal is ClaimLost
    much_later = after + LEASE + timedelta(seconds=5)
    repo.claim(record().key, "confirm_sms", run_id="run-b", now=much_later, lease=LEASE)
    with pytest.raises(ClaimLost):
        repo.renew(renewed, now=much_later, lease=LEASE)
    assert stored(backend, record()).extra["confirm_sms_claim_run"] == "run-b"
