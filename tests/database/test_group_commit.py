"""SQLite's group commit (`naver_sms.database.group_commit`): writers of several threads share transactions -
and fsyncs - and each still gets its own answer, after its transaction committed.

The transactions are counted with the connection's statement trace; a group is held open at its commit
(`SqliteDatabase._before_commit`, the seam the fault tests use) until the other writers queued, so the
grouping is deterministic - no test waits for time to pass.
"""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from naver_sms.database.group_commit import Work
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteOutboxStore, SqliteRepository
from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST
from naver_sms.errors import RecordMissing

NOW = datetime(2026, 11, 26, 18, 40, tzinfo=KST)
LEASE = timedelta(minutes=10)


class Trace:
    """Every write transaction of a connection, with the `synchronous` level it committed at."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.commits: list[str] = []
        self._level = "FULL"
        self._writing = False
        conn.set_trace_callback(self._statement)

    def _statement(self, statement: str) -> None:
        text = statement.strip().upper()
        if text.startswith("PRAGMA SYNCHRONOUS="):
            self._level = text.split("=", 1)[1]
        elif text == "BEGIN IMMEDIATE":
            self._writing = True
        elif text in ("COMMIT", "ROLLBACK") and self._writing:
            self._writing = False
            if text == "COMMIT":
                self.commits.append(self._level)


class HeldDatabase(SqliteDatabase):
    """Holds its first group at the commit until `waiting` writers have queued behind it."""

    def __init__(self, path: Path, waiting: int) -> None:
        super().__init__(path)
        self.waiting = waiting
        self.first = True

    def _before_commit(self, works: list[Work[Any]]) -> None:
        if self.first:
            self.first = False
            while len(self._writer._queue) < self.waiting:  # the others queue while this one commits
                threading.Event().wait(0.001)


def record(n: int) -> BookingRecord:
    return BookingRecord(f"900001_{n}", f"010-0000-{n:04d}", "홍길동", "2026-11-26 20:00:00")


def test_writers_of_several_threads_share_one_transaction(tmp_path: Path) -> None:
    # GIVEN a database whose first write transaction commits only once seven more writers queued
    db = HeldDatabase(tmp_path / "s.sqlite3", waiting=7)
    repo = SqliteRepository(db)
    trace = Trace(db.conn)
    # WHEN eight threads each create a row at once
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda n: repo.create(record(n)), range(8)))
    # THEN each got its own answer, every row is there, and two transactions (fsyncs) did it all
    assert created == [True] * 8
    assert len(repo.records()) == 8
    assert trace.commits == ["FULL", "FULL"]
    assert db.write_transactions == 2


def test_one_writers_error_undoes_only_its_own_write(tmp_path: Path) -> None:
    # GIVEN a group of writers, one of which updates a row that does not exist
    db = HeldDatabase(tmp_path / "s.sqlite3", waiting=3)
    db.first = False
    repo = SqliteRepository(db)
    repo.create(record(1))
    db.first = True

    def write(n: int) -> object:
        try:
            return repo.set_flag(
                record(n).key, "remind_sms", True, now=NOW, create=record(n) if n != 9 else None
            )
        except RecordMissing as exc:
            return exc

    # WHEN they write at once
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(write, (1, 2, 9, 3)))
    # THEN the missing row is that writer's error alone: the others' writes of the same group are there
    assert answers[:2] == [True, True] and answers[3] is True
    assert isinstance(answers[2], RecordMissing)
    assert {r.booking_num for r in repo.records() if r.remind_sms} == {"900001_1", "900001_2", "900001_3"}


def test_a_commit_after_a_send_is_lazy_and_a_claim_before_it_is_durable(tmp_path: Path) -> None:
    # GIVEN a fresh SQLite state
    db = SqliteDatabase(tmp_path / "s.sqlite3")
    repo = SqliteRepository(db)
    trace = Trace(db.conn)
    # WHEN a flag is claimed (with its new row) and committed
    claim = repo.claim(record(1).key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, create=record(1))
    repo.commit(claim, request_id="RQ-1", sent_at=NOW)
    # THEN the claim committed at synchronous=FULL (durable before the send) and the commit at NORMAL:
    # lost on a power failure, it leaves the durable claim, which the next run resolves by the look-up
    assert trace.commits == ["FULL", "NORMAL"]


def test_the_sandbox_outbox_row_and_the_commit_of_its_sms_are_one_transaction(tmp_path: Path) -> None:
    # GIVEN a claimed flag and the sandbox outbox on the same database
    db = SqliteDatabase(tmp_path / "s.sqlite3")
    repo, outbox = SqliteRepository(db), SqliteOutboxStore(db)
    claim = repo.claim(record(1).key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, create=record(1))
    trace = Trace(db.conn)

    def send_and_commit() -> int:
        row = outbox.append(
            created_at=NOW.isoformat(), run_id="run-a", channel="sms", status="outbox", payload={}
        )
        repo.commit(claim, request_id=f"outbox-{row}", sent_at=NOW)
        return row

    # WHEN the outbox row is written and the flag committed atomically
    row = repo.atomic(send_and_commit)
    # THEN one transaction did both
    assert trace.commits == ["NORMAL"]
    assert outbox.entries(channel="sms")[0]["id"] == row
    stored = repo.get(record(1).key)
    assert stored is not None and stored.extra["confirm_sms_request_id"] == f"outbox-{row}"


def test_an_atomic_unit_that_fails_leaves_nothing_of_it(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "s.sqlite3")
    repo, outbox = SqliteRepository(db), SqliteOutboxStore(db)

    def half() -> None:
        outbox.append(created_at=NOW.isoformat(), run_id="run-a", channel="sms", status="outbox", payload={})
        raise RuntimeError("the send failed after the outbox row")

    with pytest.raises(RuntimeError):
        repo.atomic(half)
    assert outbox.entries() == []
    # AND the database goes on working: a write after it commits normally
    assert repo.create(record(2))
