"""Exactly-once in production's shape (issue 3, item 4): eight real `naver-sms run` processes, started at once
over the same 200 bookings against DynamoDB behind dynalite (whose conditional writes are atomic), send each
SMS once in total.

Two variants: the sandbox (the outbox of a DynamoDB state is in memory per process, so the ground truth is
the runs' `--json` reports), and live against the SENS and Telegram stand-ins served by this test process -
there the ground truth is what SENS received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from naver_sms.database.dynamo_target import DynamoTarget, make_client
from tests.integration.conftest import CONFIG_DIR, ROOT
from tests.standins.dynamo import new_target
from tests.standins.sens import SensStandIn
from tests.standins.server import serve_wsgi
from tests.standins.telegram import TelegramStandIn
from tests.world import expected_sends, racing_bookings, write_bookings

NOW = "2026-11-26 10:00"
RUNS = 8
BOOKINGS = 200
NAVER_SMS = Path(sys.executable).parent / "naver-sms"


def synthetic_bookings() -> list[dict[str, Any]]:
    return racing_bookings(BOOKINGS, now=NOW, first_id=980_000_000, phone_prefix="0107")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAVER_SMS_", "AWS_"))}
    # dynalite accepts any credentials; these keep boto3 away from the real credential chain
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="ap-northeast-2")
    return env


def init_tables(endpoint: str) -> DynamoTarget:
    """Fresh tables, created the way a user does it: `naver-sms db init`."""
    target = new_target(endpoint, create=False)
    done = subprocess.run(
        [
            str(NAVER_SMS),
            "db",
            "init",
            "--endpoint",
            endpoint,
            "--sms-table",
            target.sms_table,
            "--session-table",
            target.session_table,
        ],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return target


def race(target: DynamoTarget, bookings: Path, env: dict[str, str], *extra: str) -> list[dict[str, Any]]:
    """RUNS `naver-sms run` processes started at once; their `--json` reports."""
    command = [
        str(NAVER_SMS),
        "run",
        "--bookings",
        str(bookings),
        "--db",
        target.url(),
        "--config",
        str(CONFIG_DIR),
        "--now",
        NOW,
        "--json",
        *extra,
    ]
    procs = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(RUNS)
    ]
    try:
        outputs = [proc.communicate(timeout=240) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [p.returncode for p in procs] == [0] * RUNS, [err[-2000:] for _, err in outputs]
    return [json.loads(out) for out, _ in outputs]


def rows(target: DynamoTarget) -> list[dict[str, Any]]:
    """Every row of the `sms` table, with DynamoDB's typed attribute values, read with plain boto3."""
    client = make_client(target)
    try:
        items: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=target.sms_table, ConsistentRead=True):
            items.extend(page["Items"])
        return items
    finally:
        client.close()


def flags_set_in_db(items: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter(
        (item["booking_num"]["S"], flag)
        for item in items
        for flag in ("confirm_sms", "remind_sms", "option_sms")
        if item[flag] == {"BOOL": True}
    )


def flags_in_reports(reports: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((f["booking_num"], f["flag"]) for r in reports for f in r["flags"] if f["value"] is True)


Raced = tuple[DynamoTarget, list[dict[str, Any]], list[dict[str, Any]]]


# --- sandbox -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_race(dynalite_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Raced:
    """Eight sandbox runs started at once over the same 200 bookings and the same dynalite tables."""
    raws = synthetic_bookings()
    bookings = write_bookings(tmp_path_factory.mktemp("sandbox") / "bookings.json", raws)
    target = init_tables(dynalite_endpoint)
    return target, raws, race(target, bookings, base_env())


def test_eight_sandbox_runs_report_each_sms_exactly_once_in_total(sandbox_race: Raced) -> None:
    # GIVEN eight runs started at once on the same DynamoDB tables over the same 200 bookings
    _, raws, reports = sandbox_race
    # WHEN their --json reports are summed
    sent = Counter((s["booking_num"], s["template"]) for r in reports for s in r["sms"])
    # THEN every (booking, template) appears exactly once, nothing failed, every run saw every booking
    assert sent == expected_sends(raws)
    assert {s["status"] for r in reports for s in r["sms"]} == {"outbox"}
    assert all(r["ok"] and r["errors"] == [] for r in reports)
    assert [r["counts"]["bookings"] for r in reports] == [BOOKINGS] * RUNS


def test_the_eight_sandbox_runs_really_raced(sandbox_race: Raced) -> None:
    # GIVEN the eight runs  WHEN their decisions are compared with what they sent
    _, _, reports = sandbox_race
    skipped = sum(
        a["count"]
        for r in reports
        for a in r["actions"]
        if a["action"] == "send_sms" and a["status"] == "skipped"
    )
    senders = [r for r in reports if r["sms"]]
    # THEN runs decided to send SMS that another run held or had sent (their plans overlapped), the claims
    # refused those sends, and more than one run got to send
    assert skipped > 0
    assert len(senders) > 1


def test_every_flag_in_dynamodb_was_set_by_exactly_one_sandbox_run(sandbox_race: Raced) -> None:
    # GIVEN the eight runs  WHEN the table is read back with boto3
    target, raws, reports = sandbox_race
    items = rows(target)
    # THEN every booking has one row, with BOOL flags; each true flag was set by exactly one run's report,
    # and no run reports a flag that the table does not hold
    assert len(items) == BOOKINGS
    assert all(item[f]["BOOL"] in (True, False) for item in items for f in ("confirm_sms", "remind_sms"))
    in_db = flags_set_in_db(items)
    assert set(in_db.values()) == {1} and len(in_db) == sum(expected_sends(raws).values())
    assert flags_in_reports(reports) == in_db
    assert not [item for item in items if any(k.endswith("_claim_run") for k in item)]


# --- live, against the SENS stand-in -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_race(
    dynalite_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Raced, SensStandIn, TelegramStandIn]]:
    """Eight live runs started at once, sending through one SENS stand-in (and posting their summaries to one
    Telegram stand-in) served by this test process."""
    sens, telegram = SensStandIn(), TelegramStandIn()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        target = telegram if environ.get("PATH_INFO", "").startswith("/bot") else sens
        return target(environ, start_response)

    raws = synthetic_bookings()
    bookings = write_bookings(tmp_path_factory.mktemp("live") / "bookings.json", raws)
    target = init_tables(dynalite_endpoint)
    with serve_wsgi(app) as url:
        env = base_env()
        env.update(
            NAVER_SMS_SENS_BASE=url,
            NAVER_SMS_SENS_ACCESS_KEY=sens.access_key,
            NAVER_SMS_SENS_SECRET_KEY=sens.secret_key,
            NAVER_SMS_SENS_SERVICE_ID=sens.service_id,
            NAVER_SMS_TELEGRAM_BASE=url,
            NAVER_SMS_TELEGRAM_TOKEN=telegram.token,
            NAVER_SMS_TELEGRAM_CHAT_ID=next(iter(telegram.chat_ids)),
        )
        try:
            yield (target, raws, race(target, bookings, env, "--live")), sens, telegram
        finally:
            sens.release_stalls()
            telegram.release_stalls()


def test_eight_live_runs_make_sens_send_each_sms_exactly_once(
    live_race: tuple[Raced, SensStandIn, TelegramStandIn],
) -> None:
    # GIVEN eight live runs started at once over the same 200 bookings, all sending to one SENS
    (_, raws, reports), sens, _ = live_race
    # WHEN what SENS received is counted
    received = Counter((m.to, m.sender, m.content) for m in sens.messages)
    # THEN it sent each SMS exactly once - the messages the reports list as sent, with SENS's request ids
    assert len(sens.messages) == sum(expected_sends(raws).values())
    assert set(received.values()) == {1}
    assert received == Counter((s["to"], s["from"], s["content"]) for r in reports for s in r["sms"])
    assert {s["status"] for r in reports for s in r["sms"]} == {"sent"}
    assert sorted(s["request_id"] for r in reports for s in r["sms"]) == sorted(
        m.request_id for m in sens.messages
    )
    assert {r.status for r in sens.send_requests} == {202}
    assert all(r["ok"] and r["errors"] == [] for r in reports)


def test_every_flag_in_dynamodb_carries_the_request_id_of_the_one_live_send(
    live_race: tuple[Raced, SensStandIn, TelegramStandIn],
) -> None:
    # GIVEN the eight live runs  WHEN the table is read back with boto3
    (target, raws, reports), _, _ = live_race
    items = rows(target)
    # THEN each true flag was set by exactly one run, and holds the request id that run's SMS got from SENS
    in_db = flags_set_in_db(items)
    assert set(in_db.values()) == {1} and len(in_db) == sum(expected_sends(raws).values())
    assert flags_in_reports(reports) == in_db
    sent_by_flag = {(s["booking_num"], s["flag"]): s["request_id"] for r in reports for s in r["sms"]}
    stored = {
        (item["booking_num"]["S"], flag): item[f"{flag}_request_id"]["S"]
        for item in items
        for flag in ("confirm_sms", "remind_sms")
        if item[flag] == {"BOOL": True}
    }
    assert stored == sent_by_flag


def test_the_eight_live_runs_post_one_summary_each_naming_each_sms_once(
    live_race: tuple[Raced, SensStandIn, TelegramStandIn],
) -> None:
    # GIVEN the eight live runs  WHEN the Telegram chat is read
    (_, raws, reports), _, telegram = live_race
    texts = [m["text"] for m in telegram.messages]
    # THEN it got one summary per run, and their lines together name each SMS once
    assert sorted(texts) == sorted(r["summary"] for r in reports)
    lines = [line for text in texts for line in text.splitlines() if line != "문자 발송 대상 없음"]
    assert len(lines) == sum(expected_sends(raws).values())
    assert all(line.endswith(" 문자 발송 완료") for line in lines)
