"""What the operator's commands say, as they say it (issue 11, item 11): `serve` keeps every `file:line` error
on one line, `history` shows whole messages and says which clock its times are, `db reset` takes the bare
Naver booking id when one store has it, and `--now` with a date alone is refused instead of meaning midnight."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import Seams, app
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository
from naver_sms.domain import KST, BookingRecord, FixedClock
from naver_sms.domain.clock import DateWithoutTime, parse_kst
from naver_sms.domain.privacy import mask_uniform
from tests.test_cli import CONFIG_DIR, EXAMPLES, sandbox_args
from tests.world import kst

runner = CliRunner()


class _Stop(Exception):
    pass


def _stop(_: float) -> None:
    raise _Stop


# --- serve -----------------------------------------------------------------------------------------------


def test_serve_prints_each_configuration_error_on_one_line_at_80_columns(tmp_path: Path) -> None:
    # GIVEN a configuration whose rules.yaml has two mistakes, in a directory with a long path
    config = tmp_path / "a-deployment-directory-with-a-rather-long-name" / "config"
    shutil.copytree(CONFIG_DIR, config)
    rules = config / "rules.yaml"
    rules.write_text(
        rules.read_text(encoding="utf-8").replace("type: booking_in_db", "type: booking_in_dbx"),
        encoding="utf-8",
    )
    # WHEN serve runs once (80 columns: CliRunner is no terminal) and is stopped at its first wait
    result = runner.invoke(
        app,
        ["serve", "--bookings", str(EXAMPLES), "--db", str(tmp_path / "s.db"), "--config", str(config)],
        obj=Seams(clock=FixedClock(kst("2026-11-26 18:47")), sleep=_stop),
    )
    assert isinstance(result.exception, _Stop), result.output
    # THEN every error is one whole line, starting with its file:line
    lines = [line for line in result.stderr.splitlines() if "booking_in_dbx" in line]
    assert len(lines) == 3, result.stderr
    assert all(line.startswith(f"{rules}:") for line in lines), lines
    assert all("did you mean 'booking_in_db'?" in line for line in lines), lines


# --- history -----------------------------------------------------------------------------------------------


def test_history_shows_every_line_of_a_message_and_says_which_clock_its_times_are(tmp_path: Path) -> None:
    # GIVEN a sandbox run at --now 18:40 whose real clock says 2026-11-27 09:05 (Korean time)
    db = tmp_path / "s.sqlite3"
    real = Seams(clock=FixedClock(datetime(2026, 11, 27, 9, 5, tzinfo=KST)))
    ran = runner.invoke(app, sandbox_args("run", db, "--json"), obj=real)
    assert ran.exit_code == 0, ran.output
    summary = json.loads(ran.stdout)["summary"]
    assert summary.count("\n") >= 3
    # WHEN the operator reads the history
    result = runner.invoke(app, ["history", "--db", str(db)], obj=real)
    assert result.exit_code == 0, result.output
    # THEN every line of the summary is shown (masked), not only its first
    for line in summary.splitlines():
        assert mask_uniform(line) in result.stdout.splitlines(), (line, result.stdout)
    # AND the times are the real clock's, which the output says, not the run's --now
    assert "2026-11-27 09:05" in result.stdout and "2026-11-26 18:40" not in result.stdout
    assert "real clock" in result.stdout and "--now" in result.stdout


# --- db reset ----------------------------------------------------------------------------------------------


def _failed_for_good(repo: SqliteRepository, num: str, phone: str) -> None:
    repo.create(BookingRecord(num, phone, "홍길동", "2026-11-27 14:00:00"))
    claim = repo.claim(
        (num, phone), "confirm_sms", run_id="r1", now=kst("2026-11-26 18:40"), lease=timedelta(minutes=10)
    )
    assert repo.release(claim, error="sens: 500 after 4 attempts") is True


def test_db_reset_takes_the_bare_booking_id_when_one_store_has_it(tmp_path: Path) -> None:
    # GIVEN a flag failed for good on booking 900000001 of store 1000001
    repo = SqliteRepository(SqliteDatabase(tmp_path / "s.sqlite3"), max_attempts=1)
    _failed_for_good(repo, "1000001_900000001", "010-0000-0001")
    # WHEN the operator gives the Naver booking id alone
    result = runner.invoke(
        app, ["db", "reset", "900000001", "confirm_sms", "--db", str(tmp_path / "s.sqlite3")]
    )
    # THEN the flag of that booking is open again, and the answer names the whole key
    assert result.exit_code == 0, result.output
    assert "1000001_900000001 confirm_sms: open again" in result.stdout
    row = repo.get(("1000001_900000001", "010-0000-0001"))
    assert row is not None and "confirm_sms_failed" not in row.extra


def test_db_reset_of_a_bare_booking_id_two_stores_have_names_both_and_changes_nothing(tmp_path: Path) -> None:
    # GIVEN the same Naver booking id in two stores, both failed for good
    repo = SqliteRepository(SqliteDatabase(tmp_path / "s.sqlite3"), max_attempts=1)
    _failed_for_good(repo, "1000001_900000001", "010-0000-0001")
    _failed_for_good(repo, "1000002_900000001", "010-0000-0002")
    # WHEN the operator gives the bare id
    result = runner.invoke(
        app, ["db", "reset", "900000001", "confirm_sms", "--db", str(tmp_path / "s.sqlite3")]
    )
    # THEN it is refused as ambiguous, naming both keys, and nothing was reset
    assert result.exit_code == 2
    assert "1000001_900000001" in result.stderr and "1000002_900000001" in result.stderr
    for key in (("1000001_900000001", "010-0000-0001"), ("1000002_900000001", "010-0000-0002")):
        row = repo.get(key)
        assert row is not None and row.extra.get("confirm_sms_failed") is True


# --- --now -------------------------------------------------------------------------------------------------


def test_a_date_without_a_time_is_refused_not_taken_for_midnight(tmp_path: Path) -> None:
    # GIVEN `--now 2026-11-26`: a date alone
    db = tmp_path / "s.sqlite3"
    # WHEN a run is asked for
    result = runner.invoke(app, sandbox_args("run", db, "--json", now="2026-11-26"))
    # THEN it is a usage error saying how to write midnight, and nothing ran
    assert result.exit_code == 2
    message = " ".join(result.output.replace("│", " ").split())
    assert "a date without a time" in message and '"2026-11-26 00:00"' in message
    assert result.stdout == "" and not db.exists()


@pytest.mark.parametrize("text", ["2026-11-26", " 2026-11-26 "])
def test_parse_kst_refuses_a_date_alone(text: str) -> None:
    with pytest.raises(DateWithoutTime, match="2026-11-26 HH:MM"):
        parse_kst(text)


def test_parse_kst_still_reads_a_time_and_an_explicit_offset() -> None:
    assert parse_kst("2026-11-26 00:00") == datetime(2026, 11, 26, tzinfo=KST)
    assert parse_kst("2026-11-26T09:40:00+00:00") == datetime(2026, 11, 26, 18, 40, tzinfo=KST)
