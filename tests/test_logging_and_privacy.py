"""Logs that can be traced and leak nothing (issue 9, items 9-11; issue 8, item 5): the CLI's level and
format, every record masked and tagged with its run, botocore's bodies masked at the DynamoDB adapter, and
a provider's error that echoes a customer's name masked wherever it is logged, stored, reported or printed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import Seams, app
from naver_sms.config.models import AppConfig
from naver_sms.database.sqlite_repository import SqliteRepository
from naver_sms.domain.clock import FixedClock
from naver_sms.errors import DeliveryRejected
from naver_sms.flags.state import read_flag
from naver_sms.logs import BodyMasking, configure_logging, log_context
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from tests.conftest import ROOT
from tests.world import RecordingSms, booking, kst, run_rules

SANDBOX = ["run", "--bookings", str(ROOT / "examples" / "bookings"), "--now", "2026-11-26 18:40"]


@pytest.fixture(autouse=True)
def _restore_root_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_log_level_option_and_variable_set_the_cli_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the CLI at its default level WHEN a run goes THEN the root logger is at WARNING (INFO dropped)
    configure_logging(logging.WARNING)
    runner = CliRunner()
    runner.invoke(app, [*SANDBOX, "--db", str(tmp_path / "a.sqlite3")], obj=Seams())
    assert logging.getLogger().level == logging.WARNING
    # WHEN --log-level debug is given THEN the root logger takes DEBUG
    runner.invoke(app, ["--log-level", "debug", *SANDBOX, "--db", str(tmp_path / "b.sqlite3")], obj=Seams())
    assert logging.getLogger().level == logging.DEBUG
    # AND NAVER_SMS_LOG_LEVEL does the same
    monkeypatch.setenv("NAVER_SMS_LOG_LEVEL", "info")
    runner.invoke(app, [*SANDBOX, "--db", str(tmp_path / "c.sqlite3")], obj=Seams())
    assert logging.getLogger().level == logging.INFO
    # AND a level that is not one is a usage error
    bad = runner.invoke(
        app, ["--log-level", "loud", *SANDBOX, "--db", str(tmp_path / "d.sqlite3")], obj=Seams()
    )
    assert bad.exit_code == 2 and "loud" in bad.output


def test_json_log_lines_at_debug_carry_the_run_and_mask_phones(capfd: pytest.CaptureFixture[str]) -> None:
    # GIVEN JSON lines at DEBUG (serve under a supervisor)
    configure_logging("debug", "json")
    # WHEN a record with a phone number is written inside a run, by any logger
    with log_context(run_id="20261126T094000Z-0000abcd"):
        logging.getLogger("some.library").debug("posted to 010-5550-0401 and 01055500402")
    line = json.loads([x for x in capfd.readouterr().err.splitlines() if x.startswith("{")][-1])
    # THEN it is one JSON object with the run's id, and both numbers are masked
    assert line["run_id"] == "20261126T094000Z-0000abcd" and line["level"] == "DEBUG"
    assert "5550-0401" not in line["message"] and "55500402" not in line["message"]
    assert "010-****-0401" in line["message"]


def test_botocore_bodies_lose_names_and_cookies_at_the_dynamodb_adapter() -> None:
    # GIVEN a botocore debug line as it logs a PutItem body (the repr of its bytes)
    body = json.dumps(
        {"Item": {"name": {"S": "김바디"}, "cookies": {"S": json.dumps([{"value": "NID-secret"}])}}}
    ).encode()
    record = logging.LogRecord(
        "botocore.endpoint", logging.DEBUG, __file__, 1, "params: %s", ({"body": body},), None
    )
    # WHEN the adapter's filter sees it THEN the name and the cookies are gone, the record kept
    assert BodyMasking().filter(record) is True
    text = record.getMessage()
    assert "NID-secret" not in text and "\\uae40" not in text and "김바디" not in text
    assert '"name": {"S": "***"}' in text


def test_a_provider_error_echoing_the_name_is_masked_in_the_log_report_and_flag(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    sms: RecordingSms,
    repo: SqliteRepository,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    # GIVEN SENS refusing a confirmation with a text that quotes the customer's name (and phone)
    guest = booking(name="정에코", phone="01055500501", start="2026-11-28 14:00")
    sms.fail_next(
        DeliveryRejected(
            "SMS to 010****0501 refused: HTTP 400: blocked for 정에코 (01055500501)",
            channel="sens",
            status_code=400,
            provider_message="blocked for 정에코",
        )
    )
    rules = engine.compile(config)
    caplog.set_level(logging.DEBUG)
    # WHEN the run acts
    report = run_rules(engine, rules, config, services, [guest], kst("2026-11-26 18:40"))
    # THEN the name is in no log record, no report text, and not in the flag's stored last error
    assert "정에코" not in caplog.text and "55500501" not in caplog.text
    shown = json.dumps(report.to_json(), ensure_ascii=False)
    assert report.errors and "정에코" not in shown and "정*코" in shown
    [row] = repo.records()
    state = read_flag(row, "confirm_sms", FixedClock(kst("2026-11-26 18:40"))())
    assert state.last_error and "정에코" not in state.last_error and "정*코" in state.last_error
