"""Exactly-once with the embedded default: real `naver-sms run` processes, started at once on ONE SQLite
database over the same bookings, send each SMS once in total (issue 2, item 7; legacy-behaviour.md §7).

The ground truth is twofold: the `sms` lists of the runs' `--json` reports, summed, and the rows of the
sandbox outbox table that every run writes into.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.world import expected_sends, racing_bookings, write_bookings

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
NOW = "2026-11-26 10:00"
RUNS = 4
BOOKINGS = 240


def synthetic_bookings() -> list[dict[str, Any]]:
    return racing_bookings(BOOKINGS, now=NOW, first_id=960_000_000, phone_prefix="0108")


def start_runs(bookings: Path, db: Path, count: int) -> list[subprocess.Popen[str]]:
    exe = Path(sys.executable).parent / "naver-sms"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVER_SMS_")}
    command = [
        str(exe),
        "run",
        "--bookings",
        str(bookings),
        "--db",
        str(db),
        "--config",
        str(CONFIG_DIR),
        "--now",
        NOW,
        "--json",
    ]
    return [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]


def finish(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    reports = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stderr[-2000:]
        reports.append(json.loads(stdout))
    return reports


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def raced(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]:
    """RUNS processes started at once over the same bookings and the same database."""
    tmp = tmp_path_factory.mktemp("race")
    raws = synthetic_bookings()
    bookings = write_bookings(tmp / "bookings.json", raws)
    db = tmp / "state.sqlite3"
    reports = finish(start_runs(bookings, db, RUNS))
    return db, raws, reports


def test_concurrent_runs_report_each_sms_once_in_total(
    raced: tuple[Path, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    # GIVEN four runs started at once on one SQLite database over the same 240 bookings
    _, raws, reports = raced
    # WHEN their --json reports are summed
    sent = Counter((s["booking_num"], s["template"]) for r in reports for s in r["sms"])
    # THEN every (booking, template) appears exactly once, and nothing failed
    assert sent == expected_sends(raws)
    assert {s["status"] for r in reports for s in r["sms"]} == {"outbox"}
    assert all(r["ok"] and r["errors"] == [] for r in reports)
    assert all(r["counts"]["bookings"] == BOOKINGS for r in reports)


def test_the_runs_really_raced_on_the_same_bookings(
    raced: tuple[Path, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    # GIVEN the four concurrent runs  WHEN their decisions are compared with what they sent
    _, raws, reports = raced
    skipped = sum(
        a["count"]
        for r in reports
        for a in r["actions"]
        if a["action"] == "send_sms" and a["status"] == "skipped"
    )
    # THEN runs decided to send SMS that another run was sending or had sent meanwhile (their plans overlapped),
    # and the claims refused those sends
    assert skipped > 0
    assert sum(len(r["sms"]) for r in reports) == sum(expected_sends(raws).values())


def test_concurrent_runs_write_each_sms_once_to_the_outbox(
    raced: tuple[Path, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    # GIVEN the four concurrent runs  WHEN the outbox table is read
    db, raws, reports = raced
    rows = [json.loads(p) for (p,) in query(db, "SELECT payload FROM outbox WHERE channel = 'sms'")]
    outbox = Counter((p["messages"][0]["to"], p["from"], p["content"]) for p in rows)
    # THEN it holds each SMS exactly once: the same messages the reports list
    assert len(rows) == sum(expected_sends(raws).values())
    assert set(outbox.values()) == {1}
    assert outbox == Counter((s["to"], s["from"], s["content"]) for r in reports for s in r["sms"])


def test_concurrent_runs_leave_every_flag_set_once(
    raced: tuple[Path, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    # GIVEN the four concurrent runs  WHEN the rows and the flag changes are read
    db, raws, reports = raced
    items = [json.loads(i) for (i,) in query(db, "SELECT item FROM sms")]
    # THEN every booking has one row with its flags set, and each flag was set by exactly one run
    assert len(items) == BOOKINGS
    by_id = {int(item["booking_num"].split("_")[1]) - 960_000_000: item for item in items}
    assert all(by_id[i]["confirm_sms"] is True for i in range(BOOKINGS))
    assert [i for i in range(BOOKINGS) if by_id[i]["remind_sms"] is not (i % 2 == 0)] == []
    flags = Counter((f["booking_num"], f["flag"]) for r in reports for f in r["flags"])
    assert set(flags.values()) == {1} and len(flags) == sum(expected_sends(raws).values())


def test_concurrent_runs_post_one_summary_each_listing_only_their_own_sends(
    raced: tuple[Path, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    # GIVEN the four concurrent runs  WHEN their Telegram summaries are read from the outbox
    db, raws, reports = raced
    texts = [
        json.loads(p)["text"] for (p,) in query(db, "SELECT payload FROM outbox WHERE channel = 'telegram'")
    ]
    # THEN there is one per run, and their lines together name each SMS once - a run whose summary would not
    # fit one Telegram message posts the bounded one (issue 12): its head line counts exactly its own sends
    assert sorted(texts) == sorted(r["summary"] for r in reports)

    def line(s: dict[str, Any]) -> str:
        kind = "예약확정" if s["template"] == "confirmation" else "안내"
        return f"{s['to'][:3]}-{s['to'][3:7]}-{s['to'][7:]} {kind} 문자 발송 완료"

    listed: list[str] = []
    counted = 0
    for r in reports:
        lines = [text for text in r["summary"].splitlines() if text != "문자 발송 대상 없음"]
        if lines and lines[0].endswith("(일부만 보임: naver-sms history)"):
            sent = len(r["sms"])
            assert lines[0].startswith(f"문자 {sent:,}건 중 발송 완료 {sent:,}건"), lines[0]
            counted += sent
        else:
            assert Counter(lines) == Counter(line(s) for s in r["sms"])
            listed += lines
    assert len(listed) + counted == sum(expected_sends(raws).values())
    assert len(set(listed)) == len(listed)


def test_a_later_run_after_the_race_sends_nothing(
    raced: tuple[Path, list[dict[str, Any]], list[dict[str, Any]]], tmp_path: Path
) -> None:
    # GIVEN the database the four runs raced on
    db, raws, _ = raced
    bookings = write_bookings(tmp_path / "bookings.json", raws)
    # WHEN another run comes at the same clock
    (report,) = finish(start_runs(bookings, db, 1))
    # THEN it sends nothing
    assert (report["sms"], report["flags"], report["errors"]) == ([], [], [])
