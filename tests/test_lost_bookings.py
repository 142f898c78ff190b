"""A source that lost bookings is a run problem (issue 11, item 10): bookings that could not be read reach the
Telegram summary (never a bare "문자 발송 대상 없음"), and a run that could read nothing at all fails - exit 1,
the legacy failure line and what was lost. Issue 9 already names each bad file and booking in the report;
this is what the owner sees of it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner, Result

from naver_sms.cli import app
from naver_sms.domain.booking import BookingError
from naver_sms.naver.files import JsonFileSource
from naver_sms.ports import FetchResult
from naver_sms.rules.summary import NOTHING_TO_SEND
from naver_sms.runner import RUN_FAILED, run_once
from tests.test_cli import CONFIG_DIR
from tests.test_legacy_parity import make_runtime
from tests.world import kst, naver_booking, write_bookings

NOW = "2026-11-26 18:40"


def run(bookings: Path, tmp: Path, *extra: str, command: str = "run") -> Result:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("NAVER_SMS_")}
    db = str(tmp / "state.sqlite3")
    args = [
        command,
        "--bookings",
        str(bookings),
        "--db",
        db,
        "--config",
        str(CONFIG_DIR),
        "--now",
        NOW,
        *extra,
    ]
    return CliRunner().invoke(app, args, env=env)


def broken_file(directory: Path, name: str = "broken.json") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text('[{"bookingId": 900000301, "businessId": ', encoding="utf-8")
    return path


def test_a_run_that_can_read_no_booking_at_all_fails_and_says_why(tmp_path: Path) -> None:
    # GIVEN a bookings directory whose only file is broken JSON
    broken_file(tmp_path / "bookings")
    # WHEN a run comes
    result = run(tmp_path / "bookings", tmp_path, "--json")
    # THEN it exits 1: the run failed, its summary is the legacy failure line and what was lost
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False and "BookingsLost" in report["failed"]
    lines = report["summary"].splitlines()
    assert lines[0] == RUN_FAILED and "broken.json" in lines[1] and "not JSON" in lines[1]
    assert NOTHING_TO_SEND not in report["summary"]
    # AND the bad file is still named in the report's errors, as issue 9 made it
    assert [e["message"].split(":")[0] for e in report["errors"]] == ["file broken.json"]


def test_a_file_whose_every_booking_is_malformed_is_nothing_read_too(tmp_path: Path) -> None:
    no_phone = naver_booking(booking_id=900000302)
    del no_phone["phone"]
    write_bookings(tmp_path / "bookings" / "all.json", [no_phone])
    result = run(tmp_path / "bookings", tmp_path, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"].splitlines()[0] == RUN_FAILED


def test_a_run_that_lost_some_bookings_goes_on_and_names_them_in_the_summary(tmp_path: Path) -> None:
    # GIVEN a broken file beside a good one
    broken_file(tmp_path / "bookings")
    write_bookings(
        tmp_path / "bookings" / "good.json", [naver_booking(booking_id=900000303, start="2026-11-28 14:00")]
    )
    # WHEN a run comes
    result = run(tmp_path / "bookings", tmp_path, "--json")
    # THEN the good booking gets its confirmation, the run is fine (exit 0), and the summary's last line says
    # what could not be read
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [s["booking_num"] for s in report["sms"]] == ["1000001_900000303"]
    lines = report["summary"].splitlines()
    assert lines[0] == "010-0000-0001 예약확정 문자 발송 완료"
    assert lines[-1].startswith("읽지 못한 예약 1건: file broken.json: not JSON")


def test_nothing_to_send_with_a_lost_file_is_never_a_bare_nothing_to_send(tmp_path: Path) -> None:
    # GIVEN a broken file beside an empty (but readable) one: something was read, nothing is due
    broken_file(tmp_path / "bookings")
    write_bookings(tmp_path / "bookings" / "empty.json", [])
    # WHEN a run comes THEN it is not a failure, and the summary says what was lost below "nothing to send"
    result = run(tmp_path / "bookings", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    lines = json.loads(result.stdout)["summary"].splitlines()
    assert lines[0] == NOTHING_TO_SEND and lines[1].startswith("읽지 못한 예약 1건: file broken.json")


def test_plan_over_a_source_that_lost_everything_is_an_error_not_nothing_to_send(tmp_path: Path) -> None:
    broken_file(tmp_path / "bookings")
    result = run(tmp_path / "bookings", tmp_path, command="plan")
    assert result.exit_code == 1
    assert "not one booking could be read" in result.stderr
    assert "nothing would be sent now" not in result.stdout


def test_the_file_source_counts_the_files_it_could_not_read(tmp_path: Path) -> None:
    broken_file(tmp_path / "bookings", "a.json")
    write_bookings(tmp_path / "bookings" / "b.json", [naver_booking(booking_id=900000304)])
    write_bookings(tmp_path / "bookings" / "c.json", [])
    result = JsonFileSource(tmp_path / "bookings").fetch([], kst(NOW))
    assert (result.parts, result.parts_lost, result.lost_everything) == (3, 1, False)


class LostStores:
    """A live-like source whose every store failed."""

    description = "naver (live)"

    def fetch(self, stores: object, now: object) -> FetchResult:
        return FetchResult(
            failed_stores={"1000001": "HTTP 500 after 4 attempts", "1000002": "HTTP 500 after 4 attempts"},
            parts=2,
            parts_lost=2,
        )


class SomeLost:
    description = "naver (live)"

    def fetch(self, stores: object, now: object) -> FetchResult:
        return FetchResult(
            skipped=[BookingError("missing", booking_id="900000305", field="phone")],
            failed_stores={"1000002": "HTTP 500 after 4 attempts"},
            parts=2,
            parts_lost=1,
        )


def test_every_store_failing_fails_the_run(tmp_path: Path) -> None:
    runtime, state = make_runtime(tmp_path, bookings=tmp_path / "unused.json")
    runtime.source = LostStores()
    report = run_once(runtime)
    assert report.failed is not None and "not one booking could be read" in report.failed
    assert report.summary.splitlines()[0] == RUN_FAILED
    (sent,) = state.outbox.entries(channel="telegram")
    assert sent["payload"]["text"] == report.summary


def test_a_failed_store_and_a_malformed_booking_are_named_in_the_summary(tmp_path: Path) -> None:
    runtime, _ = make_runtime(tmp_path, bookings=tmp_path / "unused.json")
    runtime.source = SomeLost()
    report = run_once(runtime)
    assert report.ok
    assert report.summary.splitlines() == [
        NOTHING_TO_SEND,
        "읽지 못한 예약 1건: booking 900000305: missing (field 'phone')",
        "예약을 가져오지 못한 매장 1000002: HTTP 500 after 4 attempts",
    ]
