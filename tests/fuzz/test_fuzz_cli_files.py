"""Fuzzing bookings files through the real CLI (issue 9, deliverable b): `naver-sms run` over a directory of
generated files - good ones, bad objects, files that cannot be read - never shows a traceback, exits 0 (a
bad input never fails the run: docs/cli.md, "Exit codes") unless not one booking could be read at all (exit 1:
a source that lost everything is a run problem, issue 11 item 10), prints its report whole (one JSON object
with `--json`), sends every valid booking its confirmation at its national number, and names every bad object
and file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from naver_sms.cli import app
from naver_sms.domain.booking import Booking, BookingError
from tests.conftest import CONFIG_DIR
from tests.fuzz.strategies import BookingsFile, bookings_files, expected_from, fuzz_settings, unique_names

NOW = "2026-11-26 18:40"

directories = st.lists(st.integers(0, 99), min_size=1, max_size=3, unique=True).flatmap(
    lambda starts: st.tuples(*(bookings_files(900200000 + 10 * s) for s in starts))
)


def invoke(*args: str) -> Result:
    env = {k: None for k in os.environ if k.startswith("NAVER_SMS_")}  # none of the developer's settings
    return CliRunner().invoke(app, list(args), env=env)


def assert_clean_exit(result: Result, code: int = 0) -> None:
    """Exit `code` (0), and no exception of any kind escaped the command (a traceback is a failure)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def everything_lost(files: list[BookingsFile]) -> bool:
    """Not one booking of any file could be read: every file unreadable, or holding only malformed ones."""
    for f in files:
        objects = f.objects
        if objects is None:
            try:
                objects = json.loads(f.content.decode("utf-8"))
            except (ValueError, RecursionError):
                continue
            if not isinstance(objects, list):
                continue
        if not objects:
            return False
        for obj in objects:
            try:
                Booking.from_naver(obj)
            except BookingError:
                continue
            return False
    return True


@given(directories, st.sampled_from(["run", "plan"]), st.booleans())
@fuzz_settings(max_examples=80)
def test_a_run_over_any_bookings_files_handles_every_valid_booking_and_names_every_bad_one(
    generated: tuple[BookingsFile, ...], command: str, as_json: bool
) -> None:
    check_run(generated, command, as_json)


def check_run(generated: tuple[BookingsFile, ...], command: str, as_json: bool) -> None:
    """The property, for one directory of files and one way of running."""
    files = unique_names(generated)
    handled, skipped, unreadable = expected_from(files)
    with tempfile.TemporaryDirectory() as tmp:
        bookings = Path(tmp) / "bookings"
        bookings.mkdir()
        for f in files:
            (bookings / f.name).write_bytes(f.content)
        args = [command, "--bookings", str(bookings), "--db", f"{tmp}/s.db", "--config", str(CONFIG_DIR)]
        result = invoke(*args, "--now", NOW, *(["--json"] if as_json else []))
    if everything_lost(files):  # not one booking could be read: the run fails, and says so
        assert_clean_exit(result, 1)
        assert "not one booking could be read" in result.output
        return
    assert_clean_exit(result)
    if not as_json:
        if command == "run":
            assert f"{len(handled)} ({skipped} skipped as malformed)" in result.stdout
        for name in unreadable:
            assert f"skipped file {name}: " in result.stderr
        return
    report = json.loads(result.stdout)  # exactly one JSON object
    messages = [e["message"] for e in report["errors"] if e["kind"] == "booking"]
    assert len(messages) == skipped
    assert {
        m.split(": ", 1)[0].removeprefix("file ") for m in messages if m.startswith("file ")
    } == unreadable
    assert all(m.startswith(("file ", "booking ")) for m in messages)
    confirmed = sorted((num, b.phone_digits) for num, b in handled.items() if b.status == "RC03")
    if command == "plan":  # every valid booking is in the plan, and a confirmed one would get its SMS
        assert sorted(b["booking_num"] for b in report["bookings"]) == sorted(handled)
        assert (
            sorted((s["booking_num"], s["to"]) for s in report["sms"] if s["template"] == "confirmation")
            == confirmed
        )
        return
    assert report["ok"] is True
    assert report["counts"]["bookings"] == len(handled)
    assert report["counts"]["bookings_skipped"] == skipped
    # every valid booking was handled: a confirmed one got its confirmation, at its national number, once
    assert (
        sorted((s["booking_num"], s["to"]) for s in report["sms"] if s["template"] == "confirmation")
        == confirmed
    )
