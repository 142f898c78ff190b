"""The fault suite (issue 9, "Deliver" (a); issue 12, item 2): concurrent `naver-sms run --live` processes
against one SENS stand-in, on SQLite and on dynalite, killed and stopped at deterministic points - before a
new booking's first write (its row and claim), after a claim, after SENS accepted an SMS, inside a grouped
commit - and one stopped (SIGSTOP) before its send for longer than the lease. Then later runs, after the
lease, finish the work. Every booking's SMS went out exactly once: no duplicate, no silent loss.

The processes are the real command (`tests.faults.cli`: `naver_sms.cli.app` with test-only fault points and a
real clock the test moves on - tests/faults/cli.py). They start acting at the same moment (ready/go files);
time passes past the lease by moving the shared clock, never by waiting.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from naver_sms.config.settings import is_dynamo_url
from naver_sms.domain.booking import Booking
from tests.database.backends import open_backend
from tests.faults.cli import OffsetClock
from tests.integration.conftest import CONFIG_DIR, ROOT
from tests.standins.sens import SensStandIn
from tests.standins.server import serve_wsgi
from tests.world import GUIDE_OF_STORE, racing_bookings, write_bookings

NOW = "2026-11-26 10:00"
BOOKINGS = 40  # 20 within two hours (confirmation and guide), 20 tomorrow (confirmation): 60 SMS
LEASE_SECONDS = 60
PAST_THE_LEASE = LEASE_SECONDS + 15

#: the processes of the first, concurrent round: each dies (or stops) at its fault point
FAULTS = {
    "sqlite": [
        "kill-before-claim:3",
        "kill-after-claim:1",
        "kill-after-send:1",
        "kill-in-group-commit",
        "stop-before-send:1",
    ],
    "dynalite": [
        "kill-before-claim:3",
        "kill-after-claim:1",
        "kill-after-send:1",
        "kill-after-commit:1",
        "stop-before-send:1",
    ],
}


@dataclass
class Fleet:
    """The world of one scenario: the bookings, the state, the SENS stand-in and its clock, the processes."""

    tmp: Path
    db: str
    url: str
    sens: SensStandIn
    clock_file: Path
    bookings_file: Path
    raws: list[dict[str, Any]]
    started: list[tuple[str, subprocess.Popen[bytes], Path, Path]] = field(default_factory=list)

    def env(self, fault: str | None, ready: Path | None, go: Path | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NAVER_SMS_", "AWS_", "FAULT_"))}
        env.update(
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="ap-northeast-2",
            NAVER_SMS_SENS_BASE=self.url,
            NAVER_SMS_SENS_ACCESS_KEY=self.sens.access_key,
            NAVER_SMS_SENS_SECRET_KEY=self.sens.secret_key,
            NAVER_SMS_SENS_SERVICE_ID=self.sens.service_id,
            NAVER_SMS_TELEGRAM_ENABLED="false",
            NAVER_SMS_CLAIM_LEASE_SECONDS=str(LEASE_SECONDS),
            FAULT_CLOCK_FILE=str(self.clock_file),
        )
        if fault:
            env["FAULT_POINT"] = fault
        if fault and fault.startswith("stop"):
            # one act thread: the stop falls between a claim and its send, never inside another's request
            env["NAVER_SMS_SEND_CONCURRENCY"] = "1"
        if ready is not None and go is not None:
            env.update(FAULT_READY_FILE=str(ready), FAULT_GO_FILE=str(go))
        return env

    def start(self, name: str, fault: str | None = None, *, go: Path | None = None, offset: int = 0) -> Path:
        """Start a run; with `offset`, its bookings file lists the same bookings starting at that one (each
        racing process claims other bookings first, so each wins the claims its fault point needs)."""
        ready = self.tmp / f"{name}.ready"
        bookings = self.bookings_file
        if offset:
            bookings = write_bookings(
                self.tmp / f"{name}.bookings.json", self.raws[offset:] + self.raws[:offset]
            )
        out, err = self.tmp / f"{name}.out", self.tmp / f"{name}.err"
        command = [
            sys.executable,
            "-m",
            "tests.faults.cli",
            "run",
            "--live",
            "--json",
            "--bookings",
            str(bookings),
            "--db",
            self.db,
            "--config",
            str(CONFIG_DIR),
            "--now",
            NOW,
        ]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env(fault, ready if go else None, go),
                stdout=stdout,
                stderr=stderr,
            )
        self.started.append((name, proc, out, err))
        return ready

    def race(self, faults: list[str]) -> dict[str, subprocess.Popen[bytes]]:
        """The faulty processes and one without a fault, acting from the same moment - after the one that
        stops has stopped (it acts first and alone, so its stop is certain to come: its first send)."""
        go, go_stop = self.tmp / "go", self.tmp / "go-stop"
        names = [*faults, "clean"]
        readies = [
            self.start(
                name,
                None if name == "clean" else name,
                go=go_stop if name.startswith("stop") else go,
                offset=i * len(self.raws) // len(names),
            )
            for i, name in enumerate(names)
        ]
        wait_until(lambda: all(r.exists() for r in readies), "every process ready")
        procs = {name: proc for name, proc, _, _ in self.started if name in names}
        go_stop.touch()
        for name, proc in procs.items():
            if name.startswith("stop"):
                wait_until(lambda p=proc: stopped(p), "the SIGSTOP before a send")
        go.touch()
        return procs

    def run(self, name: str) -> dict[str, Any]:
        """One run without a fault, to its end: its report."""
        self.start(name)
        _, proc, out, err = self.started[-1]
        assert proc.wait(timeout=120) == 0, err.read_text()[-3000:]
        report: dict[str, Any] = json.loads(out.read_text())
        return report

    def move_clock(self, seconds: float) -> None:
        self.clock_file.write_text(str(seconds), encoding="utf-8")

    def stop_all(self) -> None:
        for _, proc, _, _ in self.started:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)  # also a stopped one: SIGKILL needs no SIGCONT
                proc.wait(timeout=10)


def wait_until(ready: Any, what: str, timeout: float = 120) -> None:
    """A readiness check (processes start, stop, die), never a wait for time to pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {what}")
        time.sleep(0.02)


def stopped(proc: subprocess.Popen[bytes]) -> bool:
    """SIGSTOPped: state T in /proc (the process is still there, waiting for SIGCONT)."""
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")


def expected_sms(raws: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(recipient, template) of every SMS the default rules send for these bookings, once each."""
    wanted: Counter[tuple[str, str]] = Counter()
    for i, raw in enumerate(raws):
        b = Booking.from_naver(raw)
        wanted[(b.phone_digits, "confirmation")] += 1
        if i % 2 == 0:
            wanted[(b.phone_digits, GUIDE_OF_STORE[b.store_id])] += 1
    return wanted


@pytest.fixture(params=["sqlite", "dynalite"])
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fleet]:
    if request.param == "dynalite":
        db = request.getfixturevalue("dynamo_target")("dynalite").url()
    else:
        db = str(tmp_path / "state.sqlite3")
    clock_file = tmp_path / "clock-offset"
    clock_file.write_text("0", encoding="utf-8")
    clock = OffsetClock(str(clock_file))
    sens = SensStandIn(clock=lambda: clock().astimezone(UTC))
    raws = racing_bookings(BOOKINGS, now=NOW, first_id=970_000_000, phone_prefix="0106")
    with serve_wsgi(sens) as url:
        world = Fleet(tmp_path, db, url, sens, clock_file, write_bookings(tmp_path / "b.json", raws), raws)
        try:
            yield world
        finally:
            sens.release_stalls()
            world.stop_all()


def test_runs_killed_and_stopped_at_every_point_send_each_sms_exactly_once(fleet: Fleet) -> None:
    backend = "dynalite" if is_dynamo_url(fleet.db) else "sqlite"
    # GIVEN a run stopped (SIGSTOP) before its first send, then four with a kill point each and one without
    # acting on the same 40 bookings at once
    procs = fleet.race(FAULTS[backend])
    stopper = procs["stop-before-send:1"]
    # WHEN the four with a kill point die there
    outs = {name: out for name, _, out, _ in fleet.started}
    for fault, proc in procs.items():
        if fault.startswith("kill") and proc.wait(timeout=120) != -signal.SIGKILL:
            # the point comes only to a process that wins what it names (a claim, a send, a commit): one that
            # lost every race must have ended cleanly having sent nothing
            assert proc.returncode == 0, f"{fault} did not fire"
            assert json.loads(outs[fault].read_text())["sms"] == [], f"{fault} did not fire, yet it sent"
    wait_until(lambda: stopped(stopper), "the SIGSTOP before a send")
    assert procs["clean"].wait(timeout=120) == 0
    # AND the clock moves past the lease: two runs at once take over what the dead and the stopped left
    fleet.move_clock(PAST_THE_LEASE)
    go = fleet.tmp / "go-2"
    readies = [fleet.start(f"after-{i}", go=go) for i in range(2)]
    wait_until(lambda: all(r.exists() for r in readies), "both later runs ready")
    go.touch()
    for _, proc, _, err in fleet.started[-2:]:
        assert proc.wait(timeout=120) == 0, err.read_text()[-3000:]
    # AND the stopped run comes back (its send is due now, its claim long taken over) and finishes
    os.kill(stopper.pid, signal.SIGCONT)
    assert stopper.wait(timeout=120) == 0
    stopper_err = next(err for name, _, _, err in fleet.started if name == "stop-before-send:1").read_text()
    # THEN a last run, later still, finds nothing left to send
    fleet.move_clock(2 * PAST_THE_LEASE)
    last = fleet.run("last")
    assert last["sms"] == [] and last["errors"] == []
    # AND SENS received every SMS exactly once: no duplicate, no loss
    config_texts = _template_texts()
    received = Counter((m.to, config_texts[m.content]) for m in fleet.sens.messages)
    assert received == expected_sms(fleet.raws)
    # AND every flag is set, with the id of the one SMS SENS accepted for it, and no claim is left
    rows = open_backend(fleet.db).repo.records()
    assert len(rows) == BOOKINGS
    ids = {m.request_id for m in fleet.sens.messages}
    for row in rows:
        assert row.confirm_sms is True and row.extra["confirm_sms_request_id"] in ids
        assert not [k for k in row.extra if k.endswith("_claim_run")]
    assert sum(r.remind_sms for r in rows) == BOOKINGS // 2
    # AND the stopped run said that it did not send what it had claimed before its pause
    assert "paused" in stopper_err


def _template_texts() -> dict[str, str]:
    from naver_sms.config.loader import load_config

    config = load_config(CONFIG_DIR)
    return {t.text: name for name, t in config.sms_templates.items()}
