"""Operator commands: resetting a flag that failed for good, and the login command's plain errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import Seams, app
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository
from naver_sms.domain import KST, BookingRecord, FixedClock
from tests.world import kst

runner = CliRunner()


def failed_for_good(path: Path) -> SqliteRepository:
    repo = SqliteRepository(SqliteDatabase(path), max_attempts=1)
    repo.create(BookingRecord("1000001_900000001", "010-0000-0001", "홍길동", "2026-11-27 14:00:00"))
    claim = repo.claim(
        ("1000001_900000001", "010-0000-0001"),
        "confirm_sms",
        run_id="r1",
        now=kst("2026-11-26 18:40"),
        lease=timedelta(minutes=10),
    )
    assert repo.release(claim, error="sens: 500 after 4 attempts") is True
    return repo


def test_db_reset_opens_a_flag_that_failed_for_good(tmp_path: Path) -> None:
    repo = failed_for_good(tmp_path / "s.sqlite3")
    result = runner.invoke(
        app, ["db", "reset", "1000001_900000001", "confirm_sms", "--db", str(tmp_path / "s.sqlite3")]
    )
    assert result.exit_code == 0, result.output
    row = repo.get(("1000001_900000001", "010-0000-0001"))
    assert (
        row is not None and "confirm_sms_failed" not in row.extra and row.extra["confirm_sms_attempts"] == 0
    )


def test_db_reset_of_a_flag_that_did_not_fail_changes_nothing(tmp_path: Path) -> None:
    failed_for_good(tmp_path / "s.sqlite3")
    result = runner.invoke(
        app, ["db", "reset", "1000001_900000001", "remind_sms", "--db", str(tmp_path / "s.sqlite3")]
    )
    assert result.exit_code == 1
    assert "has not failed for good" in result.output


def test_db_reset_of_an_unknown_booking_says_so(tmp_path: Path) -> None:
    failed_for_good(tmp_path / "s.sqlite3")
    result = runner.invoke(app, ["db", "reset", "1_2", "confirm_sms", "--db", str(tmp_path / "s.sqlite3")])
    assert result.exit_code == 2 and "no record" in result.output


def test_login_without_credentials_says_which_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NAVER_SMS_NAVER_ID", raising=False)
    monkeypatch.delenv("NAVER_SMS_NAVER_PASSWORD", raising=False)
    result = runner.invoke(app, ["login", "--db", str(tmp_path / "s.sqlite3")])
    assert result.exit_code == 2
    assert "NAVER_SMS_NAVER_ID" in result.output


def test_a_sandbox_run_refuses_the_production_dynamodb_tables(tmp_path: Path) -> None:
    # GIVEN the production tables (no local endpoint): the outbox would mark real customers' SMS as sent
    result = runner.invoke(
        app,
        [
            "run",
            "--bookings",
            "examples/bookings",
            "--db",
            "dynamodb://ap-northeast-2",
            "--now",
            "2026-11-26 18:40",
        ],
    )
    assert result.exit_code == 2
    assert (
        "--dry-run" in result.output
        and "--live" in result.output
        and "mark SMS as sent" in " ".join(result.output.split())
    )


def test_plan_on_a_missing_bookings_path_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plan", "--bookings", str(tmp_path / "nope"), "--db", str(tmp_path / "s.sqlite3")]
    )
    assert result.exit_code == 1
    assert "no such bookings file" in result.output
    assert "Traceback" not in result.output


def test_decisions_do_not_depend_on_the_clocks_time_zone(tmp_path: Path) -> None:
    import json

    kst_run = runner.invoke(
        app,
        [
            "run",
            "--bookings",
            "examples/bookings",
            "--db",
            str(tmp_path / "a.sqlite3"),
            "--now",
            "2026-11-26 18:40",
            "--json",
        ],
    )
    utc_run = runner.invoke(
        app,
        [
            "run",
            "--bookings",
            "examples/bookings",
            "--db",
            str(tmp_path / "b.sqlite3"),
            "--now",
            "2026-11-26T09:40:00+00:00",
            "--json",
        ],
    )
    sent = [
        [(s["booking_num"], s["template"]) for s in json.loads(r.stdout)["sms"]] for r in (kst_run, utc_run)
    ]
    assert sent[0] == sent[1] and len(sent[0]) == 11
    assert json.loads(utc_run.stdout)["now"] == "2026-11-26 18:40"


class _Stop(Exception):
    pass


def test_serve_runs_then_waits_for_the_next_twenty_minute_mark(tmp_path: Path) -> None:
    # GIVEN serve on the sandbox, its clock frozen at 18:47:10 Korean time and its wait intercepted (no test
    # sleeps for time to pass)
    waits: list[float] = []

    def stop_after_first_wait(seconds: float) -> None:
        waits.append(seconds)
        raise _Stop

    at_1847 = FixedClock(datetime(2026, 11, 26, 18, 47, 10, tzinfo=KST))
    # WHEN it starts
    result = runner.invoke(
        app,
        ["serve", "--bookings", "examples/bookings", "--db", str(tmp_path / "s.sqlite3"), "--every", "20"],
        obj=Seams(clock=at_1847, sleep=stop_after_first_wait),
    )
    assert isinstance(result.exception, _Stop), result.output
    # THEN one run wrote its SMS to the outbox, and the wait ends at the next :00/:20/:40
    db = SqliteDatabase(tmp_path / "s.sqlite3")
    with db.transaction(write=False) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE channel = 'sms'").fetchone()
    assert count > 0
    assert waits == [770.0]  # 18:47:10 -> the next :00/:20/:40 mark, 19:00:00: 12 min 50 s


def test_the_system_clock_is_korean_time_whatever_the_host_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a host whose local time is UTC (as on Lambda; legacy-behaviour.md §7)
    import time as _time
    from datetime import UTC, datetime, timedelta

    from naver_sms.domain.clock import SystemClock

    monkeypatch.setenv("TZ", "UTC")
    _time.tzset()
    try:
        now = SystemClock()()
    finally:
        monkeypatch.undo()
        _time.tzset()
    # THEN the clock says Korean wall-clock time for the real instant
    assert now.utcoffset() == timedelta(hours=9)
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5


def test_history_lists_sends_waiting_for_a_retry_and_those_failed_for_good(tmp_path: Path) -> None:
    import json

    # GIVEN one flag failed for good and another released once (waiting for a retry)
    repo = failed_for_good(tmp_path / "s.sqlite3")
    retrying = SqliteRepository(repo.db, max_attempts=3)
    claim = retrying.claim(
        ("1000001_900000001", "010-0000-0001"),
        "remind_sms",
        run_id="r2",
        now=kst("2026-11-26 18:40"),
        lease=timedelta(minutes=10),
    )
    retrying.release(claim, error="sens: 503")
    # WHEN the operator asks for the history
    result = runner.invoke(app, ["history", "--db", str(tmp_path / "s.sqlite3"), "--json"])
    # THEN each is in its list, with attempts and the last error
    data = json.loads(result.stdout)
    assert [(e["flag"], e["attempts"]) for e in data["failed"]] == [("confirm_sms", 1)]
    assert [(e["flag"], e["attempts"], e["last_error"]) for e in data["retrying"]] == [
        ("remind_sms", 1, "sens: 503")
    ]
    assert data["failed"][0]["phone"] == "010-****-0001"


# --- a state that is not there, not a database, or not reachable: one line, never a traceback -------------


@pytest.mark.parametrize("command", [["history"], ["db", "reset", "1000001_900000001", "confirm_sms"]])
def test_a_misspelt_sqlite_path_is_refused_not_created(tmp_path: Path, command: list[str]) -> None:
    # GIVEN a path where there is no database (a typo of the runs' state)
    missing = tmp_path / "sandbx.sqlite3"
    # WHEN history or db reset is given it
    result = runner.invoke(app, [*command, "--db", str(missing)])
    # THEN it says so and exits 2, and creates nothing
    assert result.exit_code == 2, result.output
    assert f"no database at {missing} (a run creates it)" in " ".join(result.output.split())
    assert not missing.exists()


@pytest.mark.parametrize("command", [["history"], ["db", "reset", "1000001_900000001", "confirm_sms"]])
def test_a_directory_as_the_database_is_a_one_line_error(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--db", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path} is a directory, not a SQLite database"


@pytest.mark.parametrize("command", [["history"], ["db", "reset", "1000001_900000001", "confirm_sms"]])
def test_a_file_that_is_not_a_database_is_a_one_line_error(tmp_path: Path, command: list[str]) -> None:
    # GIVEN a file that is not SQLite (the store refuses it: RepositoryError)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n" * 100, encoding="utf-8")
    result = runner.invoke(app, [*command, "--db", str(junk)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"error: cannot open SQLite database {junk}")


class _Unreachable:
    """A DynamoDB client whose endpoint does not answer (botocore's own error, no network involved)."""

    def scan(self, **kwargs: object) -> None:
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:8000/")


UNREACHABLE = "dynamodb://ap-northeast-2?endpoint=http://127.0.0.1:8000"


def test_history_on_an_unreachable_dynamodb_is_a_one_line_error() -> None:
    unreachable = Seams(dynamo_client=lambda target: _Unreachable())
    result = runner.invoke(app, ["history", "--db", UNREACHABLE], obj=unreachable)
    assert result.exit_code == 1
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert "EndpointConnectionError" in result.output and "127.0.0.1:8000" in result.output


def test_a_botocore_error_that_escapes_the_store_is_a_one_line_error() -> None:
    # GIVEN a client that cannot even be made (botocore's error, not translated by the store)
    from botocore.exceptions import NoRegionError

    def no_client(target: object) -> None:
        raise NoRegionError()

    sandbox = ["--bookings", "examples/bookings", "--now", "2026-11-26 18:40"]
    for command in (
        ["history"],
        ["db", "reset", "1000001_900000001", "confirm_sms"],
        ["run", *sandbox],
        ["plan", *sandbox],
    ):
        result = runner.invoke(app, [*command, "--db", UNREACHABLE], obj=Seams(dynamo_client=no_client))
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: state store: NoRegionError:"), result.output
        assert len(result.output.strip().splitlines()) == 1


# --- db reset of a flag the row does not have --------------------------------------------------------------


def test_db_reset_of_a_misspelt_flag_suggests_the_known_one(tmp_path: Path) -> None:
    failed_for_good(tmp_path / "s.sqlite3")
    result = runner.invoke(
        app, ["db", "reset", "1000001_900000001", "confrim_sms", "--db", str(tmp_path / "s.sqlite3")]
    )
    assert result.exit_code == 2
    assert "has not failed for good" not in result.output
    assert "1000001_900000001 has no flag 'confrim_sms' (did you mean 'confirm_sms'?)" in result.output


def test_db_reset_suggests_the_flags_the_rules_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN rules that add a flag of their own, review_sms
    import shutil

    from tests.conftest import CONFIG_DIR

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    rules = config / "rules.yaml"
    rules.write_text(
        rules.read_text(encoding="utf-8")
        + """\
  - name: review_thanks
    conditions:
      - type: flag_not_set
        params: {flag: review_sms}
    actions:
      - type: send_sms
        params: {template: confirmation}
      - type: update_flag
        params: {flag: review_sms, value: true}
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("NAVER_SMS_CONFIG_DIR", str(config))
    failed_for_good(tmp_path / "s.sqlite3")
    # WHEN the operator misspells it
    result = runner.invoke(
        app, ["db", "reset", "1000001_900000001", "reveiw_sms", "--db", str(tmp_path / "s.sqlite3")]
    )
    # THEN the rules' flag is suggested; and the flag itself, not failed, is "nothing to reset"
    assert result.exit_code == 2 and "(did you mean 'review_sms'?)" in result.output
    right = runner.invoke(
        app, ["db", "reset", "1000001_900000001", "review_sms", "--db", str(tmp_path / "s.sqlite3")]
    )
    assert right.exit_code == 1 and "has not failed for good" in right.output


def test_history_and_db_reset_go_on_past_a_damaged_row(tmp_path: Path) -> None:
    # GIVEN a database with a failed-for-good row and a damaged row of another booking
    db_path = tmp_path / "s.sqlite3"
    repo = failed_for_good(db_path)
    repo.create(BookingRecord("1000002_900000002", "010-0000-0002", "홍길동", "2026-11-27 15:00:00"))
    with repo.db.transaction(write=True) as conn:
        conn.execute("UPDATE sms SET item = '{not json' WHERE booking_num = '1000002_900000002'")
    # WHEN an operator lists the history and resets the failed flag
    history = runner.invoke(app, ["history", "--json", "--db", str(db_path)])
    reset = runner.invoke(app, ["db", "reset", "1000001_900000001", "confirm_sms", "--db", str(db_path)])
    # THEN both work on the readable rows: no traceback
    assert history.exit_code == 0, history.output
    assert "1000001_900000001" in history.stdout and "Traceback" not in history.output
    assert reset.exit_code == 0, reset.output
