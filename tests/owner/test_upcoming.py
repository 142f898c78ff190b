"""`upcoming` forecasts exactly what the runs of a day will send: the same SMS at the same runs as the real runs
made one after the other - and writes nothing."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from naver_sms.cli.common import Seams
from naver_sms.domain.clock import FixedClock
from naver_sms.owner.upcoming import _Watched, forecast, runs_until_end_of
from naver_sms.rules.facts import Facts
from tests.owner.conftest import EXAMPLES, Sandbox
from tests.world import kst, raw_booking, write_bookings

DIGEST = """
  - name: evening_digest
    mode: digest
    once_per: "18:00"
    conditions:
      - type: booking_status
        params: {status: RC03}
    actions:
      - type: send_telegram
        params: {message: "내일까지 예약 {{ count }}건"}
"""


def _actual(sandbox: Sandbox, day: str, start: str) -> list[tuple[str, str, str, str]]:
    """Run every 20 minutes from `start` to the end of `day`, really (sandbox): what each run sent."""
    sent, state = [], None
    at = kst(f"{day} {start}")
    while at.date() == kst(f"{day} 00:00").date():
        report, state = sandbox.run_at(f"{at:%Y-%m-%d %H:%M}", state)
        sent += [
            (f"{at:%H:%M}", "sms", s.booking_num, s.template) for s in report.sms if s.status == "outbox"
        ]
        sent += [
            (f"{at:%H:%M}", n.channel, n.rule, n.text)
            for n in report.notifications
            if n.rule != "(summary)" and n.status == "outbox"
        ]
        at += timedelta(minutes=20)
    return sent


def _forecast(sandbox: Sandbox, day: str, now: str) -> list[tuple[str, str, str, str]]:
    sandbox.clock.at = kst(now)
    rt, _ = sandbox.runtime(dry_run=True)
    shown = forecast(rt, date.fromisoformat(day))
    return [
        (f"{p.at:%H:%M}", p.channel, p.booking_num or p.rule, p.template or p.text) for p in shown.planned
    ]


def test_the_forecast_of_a_day_is_what_its_runs_send(sandbox: Sandbox) -> None:
    sandbox.add_rules(DIGEST)
    planned = _forecast(sandbox, "2026-11-26", "2026-11-26 10:00")
    assert sandbox.db.exists()
    actual = _actual(sandbox, "2026-11-26", "10:00")
    assert planned == actual
    # the digest once per period: at 10:00 (the period from yesterday 18:00 was not posted yet) and at 18:00
    assert [p[0] for p in planned if p[1] == "telegram"] == ["10:00", "18:00"]
    assert {p[0] for p in planned if p[3] == "confirmation"} == {"10:00"}


def test_the_forecast_of_tomorrow_counts_the_runs_of_tonight(sandbox: Sandbox) -> None:
    """A new booking gets its confirmation at the next run today: tomorrow's forecast does not list it."""
    today = {b for _, _, b, t in _forecast(sandbox, "2026-11-26", "2026-11-26 10:00") if t == "confirmation"}
    tomorrow = _forecast(sandbox, "2026-11-27", "2026-11-26 10:00")
    assert today and not any(t == "confirmation" for *_, t in tomorrow)
    # the guide of the booking of 2026-11-27 14:00 at the first run inside its two hours
    assert ("12:20", "sms", "1000001_900000001", "guide_gangnam") in tomorrow


def test_the_review_sms_is_forecast_at_20_o_clock_for_completed_bookings_with_rows(sandbox: Sandbox) -> None:
    sandbox.bookings = EXAMPLES / "bookings-earlier"
    sandbox.run_at("2026-11-24 12:00")
    sandbox.bookings = EXAMPLES / "bookings"
    planned = _forecast(sandbox, "2026-11-26", "2026-11-26 19:00")
    events = [p for p in planned if p[3] == "event"]
    assert events and {p[0] for p in events} == {"20:00"}
    assert planned == _actual(sandbox, "2026-11-26", "19:00")


def _telegram(lines: list[tuple[str, str, str, str]]) -> list[tuple[str, str]]:
    """The (time, text) of the Telegram messages among forecast or run lines."""
    return [(at, text) for at, channel, _, text in lines if channel == "telegram"]


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: sorted(conn.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}


def test_the_forecast_writes_nothing(sandbox: Sandbox) -> None:
    sandbox.add_rules(DIGEST)
    sandbox.run_at("2026-11-26 09:00")
    before = _tables(sandbox.db)
    _forecast(sandbox, "2026-11-26", "2026-11-26 10:00")
    assert _tables(sandbox.db) == before and before["sms"] and before["outbox"]


def test_a_flag_that_failed_for_good_is_shown_blocked_with_its_reset(sandbox: Sandbox) -> None:
    sandbox.run_at("2026-11-26 09:00")
    rt, state = sandbox.runtime()
    key = ("1000001_900000001", "010-0000-0001")
    for i in range(3):
        claim = state.repo.claim(
            key, "remind_sms", run_id=f"x{i}", now=kst("2026-11-26 09:00"), lease=timedelta(minutes=10)
        )
        state.repo.release(claim, error="400 rejected")
    shown = _forecast(sandbox, "2026-11-27", "2026-11-26 10:00")
    assert not any(b == "1000001_900000001" and t == "guide_gangnam" for _, _, b, t in shown)
    sandbox.clock.at = kst("2026-11-26 10:00")
    rt, _ = sandbox.runtime(dry_run=True)
    blocked = [p for p in forecast(rt, date(2026, 11, 27)).planned if p.blocked]
    assert blocked and "naver-sms db reset 1000001_900000001 remind_sms" in (blocked[0].blocked or "")


def test_the_runs_of_a_day_are_every_20_minutes_from_now() -> None:
    assert len(runs_until_end_of(date(2026, 11, 26), kst("2026-11-26 00:00"))) == 72
    runs = runs_until_end_of(date(2026, 11, 26), kst("2026-11-26 10:05"))
    assert runs[0] == kst("2026-11-26 10:20") and runs[-1] == kst("2026-11-26 23:40")
    assert len(runs_until_end_of(date(2026, 11, 27), kst("2026-11-26 23:50"))) == 72


def test_the_command_prints_json_filters_stores_and_refuses_a_past_day(sandbox: Sandbox) -> None:
    args = [
        "upcoming",
        "--bookings",
        str(sandbox.bookings),
        "--db",
        str(sandbox.db),
        "--config",
        str(sandbox.config_dir),
    ]
    seams = Seams(clock=FixedClock(kst("2026-11-26 10:00")))
    result = CliRunner().invoke(app, [*args, "--day", "tomorrow", "--store", "강남점", "--json"], obj=seams)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["day"] == "2026-11-27" and shown["runs"] == 72
    assert {p["store_id"] for p in shown["planned"]} == {"1000001"}
    assert all("****" in p["to"] for p in shown["planned"])
    past = CliRunner().invoke(app, [*args, "--day", "2026-11-25"], obj=seams)
    assert past.exit_code == 2 and "is past" in past.output
    unknown = CliRunner().invoke(app, [*args, "--store", "강남"], obj=seams)
    assert unknown.exit_code == 2 and "did you mean '강남점'" in unknown.output
    table = CliRunner().invoke(app, [*args, "--day", "today"], obj=seams)
    assert table.exit_code == 0 and "confirmation" in table.output and "010-****-0001" in table.output


@pytest.mark.parametrize("day", ["yesterday", "2026-13-01"])
def test_a_day_that_is_not_a_day_is_a_usage_error(sandbox: Sandbox, day: str) -> None:
    args = ["upcoming", "--bookings", str(sandbox.bookings), "--db", str(sandbox.db), "--day", day]
    result = CliRunner().invoke(app, args, obj=Seams(clock=FixedClock(kst("2026-11-26 10:00"))))
    assert result.exit_code == 2 and "--day" in result.output


ANY_BOOKING = """
  - name: owner_told_of_every_booking
    conditions:
      - type: flag_not_set
        params: {flag: owner_told}
    actions:
      - type: send_telegram
        params: {message: "예약 {{ booking.booking_num }}"}
      - type: update_flag
        params: {flag: owner_told, value: true}
"""


def test_the_forecast_passes_a_cancelled_booking_through_the_status_gate_as_the_runs_do(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A rule that names no status sees no booking of a status fetched on demand (RC04): not in the runs, and
    not in the forecast either."""
    sandbox.add_rules(ANY_BOOKING)
    sandbox.bookings = write_bookings(
        tmp_path / "bookings.json",
        [raw_booking(1, start="2026-11-27 14:00"), raw_booking(2, status="RC04", start="2026-11-27 15:00")],
    )
    planned = _forecast(sandbox, "2026-11-26", "2026-11-26 10:00")
    actual = _actual(sandbox, "2026-11-26", "10:00")
    assert _telegram(planned) == _telegram(actual) == [("10:00", "예약 1000001_1")]


def test_the_forecast_holds_a_match_in_its_rules_quiet_hours_as_the_runs_do(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A rule quiet until 11:00 acts at the first run from 11:00, in the runs and in the forecast."""
    sandbox.add_rules(
        ANY_BOOKING.replace(
            "    conditions:", '    quiet_hours: {between: ["09:00", "11:00"]}\n    conditions:'
        )
    )
    sandbox.bookings = write_bookings(tmp_path / "bookings.json", [raw_booking(1, start="2026-11-27 14:00")])
    planned = _forecast(sandbox, "2026-11-26", "2026-11-26 10:00")
    actual = _actual(sandbox, "2026-11-26", "10:00")
    assert _telegram(planned) == _telegram(actual) == [("11:00", "예약 1000001_1")]


def test_the_forecasts_watched_facts_stand_in_for_every_field_of_facts() -> None:
    # the forecast evaluates rules on _Watched instead of Facts (its hot path): a field Facts gains must be there
    watched = {name for name in _Watched.__slots__ if not name.startswith("_")} - {"timed"}
    watched |= {name for name, value in vars(_Watched).items() if isinstance(value, property)}
    assert watched == {f.name for f in fields(Facts)}
