"""Exactly-once across real processes: concurrent runs and runs killed with SIGKILL.

Workers are real Python processes (`tests.database.delivery_worker`) that share the database and a file
in which the stand-in SMS service appends one line per SMS that went out - the ground truth.
Concurrency runs against dynalite (atomic conditional writes; moto's are not) and SQLite.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from naver_sms.delivery import deliver_once
from naver_sms.domain.clock import KST
from tests.database.backends import open_backend
from tests.database.delivery_worker import FLAG, booking
from tests.database.recording_sms import RecordingSms
from tests.standins.dynamo import REPO_ROOT

NOW = datetime(2026, 11, 26, 18, 40, tzinfo=KST)
LEASE = timedelta(minutes=10)
AFTER_THE_LEASE = NOW + LEASE + timedelta(minutes=1)


def worker(db: str, sent: Path, run_id: str, *extra: str, bookings: int = 1) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.database.delivery_worker",
        "--db",
        db,
        "--sent",
        str(sent),
        "--run-id",
        run_id,
        "--bookings",
        str(bookings),
        "--now",
        NOW.isoformat(),
        "--lease-seconds",
        str(int(LEASE.total_seconds())),
        *extra,
    ]


def run_killed(db: str, sent: Path, crash: str) -> None:
    proc = subprocess.run(
        worker(db, sent, "run-crashed", "--crash", crash),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


# --- concurrency ---


@pytest.mark.parametrize("backend_db", ["dynalite", "sqlite"], indirect=True)
def test_eight_runs_started_at_once_send_each_sms_exactly_once(backend_db: str, tmp_path: Path) -> None:
    # GIVEN eight runs over the same 200 bookings, each ready and waiting for the same start signal
    sent = tmp_path / "sent.jsonl"
    procs = [
        subprocess.Popen(
            worker(backend_db, sent, f"run-{i}", "--wait-go", bookings=200),
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        # WHEN they are all told to go
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=300) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # THEN every SMS went out exactly once, and every flag is done
    assert [p.returncode for p in procs] == [0] * 8, [err[-2000:] for _, err in results]
    outcomes: Counter[str] = Counter()
    for out, _ in results:
        outcomes.update(json.loads(out.strip().splitlines()[-1]))
    recipients = Counter(line["to"] for line in RecordingSms(sent).sent())
    assert len(recipients) == 200 and set(recipients.values()) == {1}
    assert outcomes["sent"] == 200
    assert outcomes["sent"] + outcomes["already_done"] + outcomes["claimed_elsewhere"] == 8 * 200
    loaded = open_backend(backend_db).repo.load([booking(n)[0].key for n in range(200)])
    assert loaded.errors == {} and all(r.confirm_sms for r in loaded.records.values())


# --- crashes ---


def test_a_run_killed_after_claiming_is_retried_after_the_lease_and_sends_once(
    backend_db: str, tmp_path: Path
) -> None:
    # GIVEN a run killed (SIGKILL) after it claimed the confirmation and before it sent anything
    sent = tmp_path / "sent.jsonl"
    run_killed(backend_db, sent, "after-claim")
    assert RecordingSms(sent).sent() == []
    record, message = booking(0)
    repo = open_backend(backend_db).repo
    # WHEN a later run, past the lease, delivers the same SMS
    outcome = deliver_once(
        repo=repo,
        sms=RecordingSms(sent),
        message=message,
        key=record.key,
        flag=FLAG,
        run_id="run-next",
        now=AFTER_THE_LEASE,
        lease=LEASE,
    )
    # THEN the look-up found nothing, so it sent - once - and the flag is done
    assert outcome.status == "sent"
    assert [line["to"] for line in RecordingSms(sent).sent()] == [message.to]
    stored = repo.get(record.key)
    assert stored is not None and stored.confirm_sms is True


def test_a_run_killed_after_sending_is_reconciled_without_a_resend(backend_db: str, tmp_path: Path) -> None:
    # GIVEN a run killed (SIGKILL) after the SMS went out and before it committed the flag
    sent = tmp_path / "sent.jsonl"
    run_killed(backend_db, sent, "after-send")
    (first,) = RecordingSms(sent).sent()
    record, message = booking(0)
    repo = open_backend(backend_db).repo
    # WHEN a later run, past the lease, delivers the same SMS
    outcome = deliver_once(
        repo=repo,
        sms=RecordingSms(sent),
        message=message,
        key=record.key,
        flag=FLAG,
        run_id="run-next",
        now=AFTER_THE_LEASE,
        lease=LEASE,
    )
    # THEN the look-up found the crashed run's SMS: committed with its id, nothing resent
    assert (outcome.status, outcome.request_id) == ("reconciled", first["request_id"])
    assert len(RecordingSms(sent).sent()) == 1
    stored = repo.get(record.key)
    assert stored is not None and stored.confirm_sms is True
    assert stored.extra["confirm_sms_request_id"] == first["request_id"]


def test_a_crashed_claim_is_left_alone_until_its_lease_runs_out(backend_db: str, tmp_path: Path) -> None:
    # GIVEN a run killed after sending and before committing
    sent = tmp_path / "sent.jsonl"
    run_killed(backend_db, sent, "after-send")
    record, message = booking(0)
    # WHEN another run comes within the lease
    outcome = deliver_once(
        repo=open_backend(backend_db).repo,
        sms=RecordingSms(sent),
        message=message,
        key=record.key,
        flag=FLAG,
        run_id="run-next",
        now=NOW + LEASE / 2,
        lease=LEASE,
    )
    # THEN it neither sends nor commits: the claim still belongs to the crashed run
    assert outcome.status == "claimed_elsewhere"
    assert len(RecordingSms(sent).sent()) == 1
