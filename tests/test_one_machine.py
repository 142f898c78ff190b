"""One machine, supervised (issue 8, item 9): the systemd unit, `serve` under signals and failures, and
`naver-sms db backup` with its restore."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from naver_sms.cli import Seams, app
from naver_sms.database.sqlite_backup import check_sqlite
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository
from naver_sms.domain.clock import KST, FixedClock
from tests.conftest import CONFIG_DIR, ROOT
from tests.standins.naver import make_booking
from tests.standins.sens import SensStandIn
from tests.standins.server import serve_wsgi
from tests.standins.telegram import TelegramStandIn

UNIT = ROOT / "deploy" / "naver-sms.service"
EXE = Path(sys.executable).parent / "naver-sms"
GUEST = "01055500177"  # synthetic


# --- the systemd unit ------------------------------------------------------------------------------------


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT, encoding="utf-8")
    return parser


def test_the_systemd_unit_supervises_serve_as_a_dedicated_user_with_its_state_and_secrets_apart() -> None:
    service = _unit()["Service"]
    # absolute paths everywhere a path is given
    assert service["ExecStart"].split()[0].startswith("/") and service["ExecStart"].endswith(" serve")
    assert service["WorkingDirectory"].startswith("/") and service["EnvironmentFile"].startswith("/")
    # restarted when it dies, given time to finish a run when stopped, never root, its state its own
    assert service["Restart"] == "on-failure"
    assert int(service["TimeoutStopSec"]) >= 120 and service["KillSignal"] == "SIGTERM"
    assert service["User"] not in ("", "root") and service["StateDirectory"] == "naver-sms"
    assert "NAVER_SMS_DB=/var/lib/naver-sms/" in service.get("Environment", "") or any(
        line.startswith("Environment=NAVER_SMS_DB=/var/lib/naver-sms/")
        for line in UNIT.read_text().splitlines()
    )
    assert "StartLimitBurst" in _unit()["Unit"]


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (the parsing test above still runs)")
    # GIVEN the unit with its ExecStart pointed at this checkout's console script (the install's stand-in)
    unit = tmp_path / "naver-sms.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/naver-sms/bin/naver-sms", str(EXE)))
    # WHEN systemd checks it THEN it has nothing to say
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


# --- serve under a signal: a real process, a SENS stand-in that holds the SMS until the test lets it go ----


class _Gate:
    """SENS and Telegram behind one URL; the first SMS POST is held until `release()` (and `arrived` is set
    when it comes): the test knows the run is mid-send without sleeping."""

    def __init__(self) -> None:
        self.sens = SensStandIn()
        self.telegram = TelegramStandIn()
        self.arrived = threading.Event()
        self._open = threading.Event()
        self._held = False

    def release(self) -> None:
        self._open.set()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/bot"):
            return self.telegram(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST" and not self._held:
            self._held = True
            self.arrived.set()
            self._open.wait(60)
        return self.sens(environ, start_response)


def _live_env(url: str, gate: _Gate) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVER_SMS_")}
    env.update(
        NAVER_SMS_SENS_BASE=url,
        NAVER_SMS_SENS_ACCESS_KEY=gate.sens.access_key,
        NAVER_SMS_SENS_SECRET_KEY=gate.sens.secret_key,
        NAVER_SMS_SENS_SERVICE_ID=gate.sens.service_id,
        NAVER_SMS_TELEGRAM_BASE=url,
        NAVER_SMS_TELEGRAM_TOKEN=gate.telegram.token,
        NAVER_SMS_TELEGRAM_CHAT_ID=str(next(iter(gate.telegram.chat_ids))),
    )
    return env


def _bookings(tmp_path: Path) -> Path:
    """One confirmed booking two days ahead (real time: serve has no --now): it gets its confirmation."""
    day = (datetime.now(KST) + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    path = tmp_path / "bookings.json"
    path.write_text(json.dumps([make_booking(970_200_001, 1000001, day, phone=GUEST, name="김서브")]))
    return path


@pytest.fixture
def gate() -> Iterator[tuple[_Gate, str]]:
    g = _Gate()
    with serve_wsgi(g) as url:
        yield g, url
        g.release()


@pytest.mark.integration
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_finishes_the_send_in_flight_sends_the_summary_and_exits_0_on_a_signal(
    tmp_path: Path, gate: tuple[_Gate, str], signum: signal.Signals
) -> None:
    stand_in, url = gate
    db = tmp_path / "state.sqlite3"
    # GIVEN serve, live, whose first SMS is held by SENS
    proc = subprocess.Popen(
        [str(EXE), "serve", "--live", "--bookings", str(_bookings(tmp_path)), "--db", str(db),
         "--config", str(CONFIG_DIR)],
        env=_live_env(url, stand_in), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert stand_in.arrived.wait(60), "the run never reached SENS"
        # WHEN the supervisor stops it while the SMS is in flight, and SENS then answers
        proc.send_signal(signum)
        stand_in.release()
        _, errors = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    # THEN it finished that send (the flag is set), posted the summary, and exited 0 without a traceback
    assert proc.returncode == 0, errors
    assert "Traceback" not in errors and f"stopped ({signum.name})" in errors
    assert [m.to for m in stand_in.sens.messages] == [GUEST]
    [summary] = stand_in.telegram.messages
    assert "발송 완료" in summary["text"]
    [row] = SqliteRepository(SqliteDatabase(db)).records()
    assert row.confirm_sms is True
    # AND one timestamped line told how the run went
    [line] = [x for x in errors.splitlines() if " run " in x and "ok:" in x]
    assert line.startswith(str(datetime.now(KST).year)) and "1 sent" in line


# --- serve survives what one run throws ----------------------------------------------------------------------


class _Stop(Exception):
    pass


def _serve(tmp_path: Path, *, runs: int, extra: Iterable[str] = (), **seams: Any) -> Any:
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= runs:
            raise _Stop

    at = FixedClock(datetime(2026, 11, 26, 18, 47, 10, tzinfo=KST))
    return CliRunner().invoke(
        app,
        [
            "serve",
            "--bookings",
            str(ROOT / "examples" / "bookings"),
            "--db",
            str(tmp_path / "s.sqlite3"),
            *extra,
        ],
        obj=Seams(clock=at, sleep=wait, **seams),
    )


def _outbox_telegram(db: Path) -> list[str]:
    with SqliteDatabase(db).transaction(write=False) as conn:
        rows = conn.execute("SELECT payload FROM outbox WHERE channel = 'telegram' ORDER BY id").fetchall()
    return [json.loads(p)["text"] for (p,) in rows]


def test_serve_survives_an_unexpected_exception_of_one_run_logs_its_traceback_and_tells_the_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a run that crashes with a bug (not a NaverSmsError) the first time, and runs normally after
    import naver_sms.cli.serve as serve_module

    real = serve_module.run_once
    calls: list[int] = []

    def crash_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("a bug in one run")
        return real(*args, **kwargs)

    monkeypatch.setattr(serve_module, "run_once", crash_once)
    # WHEN serve runs twice
    result = _serve(tmp_path, runs=2)
    # THEN the crash was logged with its traceback, the owner was told, and the next run went on
    assert isinstance(result.exception, _Stop), result.output
    assert len(calls) == 2
    [crash] = [r for r in caplog.records if r.name == "naver_sms.serve" and r.exc_info]
    assert crash.exc_info is not None and crash.exc_info[0] is ZeroDivisionError
    texts = _outbox_telegram(tmp_path / "s.sqlite3")
    assert any("예기치 않은 오류" in t and "ZeroDivisionError" in t for t in texts)
    assert "crashed: ZeroDivisionError" in result.output and "ok:" in result.output


def test_serve_tells_the_owner_of_an_invalid_configuration_once_per_distinct_error(tmp_path: Path) -> None:
    # GIVEN a configuration that becomes invalid, stays so for two more runs, changes its error, then is fixed
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    rules = (config / "rules.yaml").read_text(encoding="utf-8")
    versions = iter(
        ["rules:\n  - name: x\n", "rules:\n  - name: x\n", "rules:\n  - name: x\n", "rulez: []\n", rules]
    )
    db = tmp_path / "s.sqlite3"
    SqliteDatabase(db).close()  # the state exists (the alerts of the sandbox go to its outbox)

    def edit_then_wait(seconds: float) -> None:
        try:
            (config / "rules.yaml").write_text(next(versions), encoding="utf-8")
        except StopIteration:
            raise _Stop from None

    (config / "rules.yaml").write_text("rules:\n  - name: x\n", encoding="utf-8")
    # WHEN serve runs six times over those edits
    result = CliRunner().invoke(
        app,
        [
            "serve",
            "--bookings",
            str(ROOT / "examples" / "bookings"),
            "--db",
            str(db),
            "--config",
            str(config),
        ],
        obj=Seams(clock=FixedClock(datetime(2026, 11, 26, 18, 47, 10, tzinfo=KST)), sleep=edit_then_wait),
    )
    assert isinstance(result.exception, _Stop), result.output
    # THEN the owner heard of the first error once (not every run), of the second once, and of the fix
    alerts = [t for t in _outbox_telegram(db) if "설정 파일" in t]
    assert len(alerts) == 3, alerts
    assert "rules.yaml" in alerts[0] and "rulez" in alerts[1] and "다시 정상" in alerts[2]
    assert result.output.count("skipped: invalid configuration") == 5


# --- db backup, during a write, and its restore -------------------------------------------------------------

_WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO sms (booking_num, phone, item) VALUES ('9_9', '010-0000-0009', '{}')")
print("in transaction", flush=True)
sys.stdin.readline()  # the test says when to commit
conn.execute("COMMIT")
print("committed", flush=True)
"""


def test_db_backup_while_another_process_writes_gives_a_consistent_copy_that_restores(tmp_path: Path) -> None:
    # GIVEN a state with the example run's rows, and another process in the middle of a write transaction
    db = tmp_path / "state.sqlite3"
    run = CliRunner().invoke(
        app,
        [
            "run",
            "--bookings",
            str(ROOT / "examples" / "bookings"),
            "--db",
            str(db),
            "--now",
            "2026-11-26 18:40",
        ],
        obj=Seams(),
    )
    assert run.exit_code == 0, run.output
    before = check_sqlite(db)
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "in transaction"
        # WHEN the backup is taken during that transaction
        backup = tmp_path / "backups" / "state-1.sqlite3"
        done = CliRunner().invoke(app, ["db", "backup", str(backup), "--db", str(db)], obj=Seams())
        assert writer.stdin is not None
        writer.stdin.write("\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "committed"
    finally:
        writer.wait(30)
    # THEN the copy is the committed state (without the uncommitted row), complete and sound
    assert done.exit_code == 0, done.output
    assert "integrity ok" in done.output
    assert check_sqlite(backup) == before
    # AND a second backup to the same file is refused (never overwritten)
    again = CliRunner().invoke(app, ["db", "backup", str(backup), "--db", str(db)], obj=Seams())
    assert again.exit_code == 1 and "exists" in again.output
    # WHEN the state is lost and restored from the copy as docs/operations.md says (nothing running)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy2(backup, db)
    # THEN the runs find every row they had written: the next run at the same time sends nothing again
    rows = SqliteRepository(SqliteDatabase(db)).records()
    assert len(rows) == before["sms"] and all(r.confirm_sms for r in rows if r.booking_num != "9_9")
    rerun = CliRunner().invoke(
        app,
        ["run", "--bookings", str(ROOT / "examples" / "bookings"), "--db", str(db), "--now", "2026-11-26 18:40",
         "--json"],
        obj=Seams(),
    )  # fmt: skip
    assert json.loads(rerun.stdout)["counts"]["sms_sent"] == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_db_backup_of_a_dynamodb_state_says_to_use_its_backups() -> None:
    result = CliRunner().invoke(
        app, ["db", "backup", "/tmp/never-written.sqlite3", "--db", "dynamodb://ap-northeast-2"], obj=Seams()
    )
    assert result.exit_code == 2 and "point-in-time recovery" in result.output
