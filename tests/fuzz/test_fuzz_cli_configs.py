"""Fuzzing configuration files through the real CLI (issue 9, deliverable b): whatever a configuration
directory holds, `naver-sms rules check` exits 0 or 2 (docs/cli.md, "Exit codes") without a traceback, and
every error names one of the files and a line inside it; and a configuration that passes the check never
makes a run fail on it - no OverflowError from a parameter, no template the sandbox refuses."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import given
from typer.testing import CliRunner, Result

from naver_sms.cli import app
from tests.fuzz.config_strategies import FILES, ConfigFiles, changed_configs, write_config
from tests.fuzz.strategies import fuzz_settings
from tests.world import raw_booking as naver_booking

NOW = "2026-11-26 18:40"
#: new bookings at the fuzz clock: within the two hours (confirmation + guide) and tomorrow (confirmation)
BOOKINGS = [
    naver_booking(900300001, store_id=1000001, start="2026-11-26 20:00", phone="01000000001"),
    naver_booking(900300002, store_id=1000002, start="2026-11-27 15:00", phone="+82 10-0000-0002"),
    naver_booking(900300003, store_id=1000003, status="RC08", start="2026-11-25 15:00", phone="0212345678"),
]
#: what a run would report had the check let through something only the sandbox or the clock refuses
REFUSED_AT_RUN = ("unsafe", "Range too big", "no loader", "No filter named", "No test named", "Overflow")


def invoke(*args: str) -> Result:
    env = {k: None for k in os.environ if k.startswith("NAVER_SMS_")}
    return CliRunner().invoke(app, list(args), env=env)


def assert_no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@given(changed_configs())
@fuzz_settings(max_examples=150)
def test_any_configuration_is_valid_or_refused_with_located_errors_and_a_valid_one_runs(
    files: ConfigFiles,
) -> None:
    check_configuration(files)


def check_configuration(files: ConfigFiles) -> None:
    """The property, for any one configuration directory."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        write_config(config, files)
        checked = invoke("rules", "check", "--config", str(config), "--json")
        assert_no_traceback(checked)
        assert checked.exit_code in (0, 2), checked.output
        answer = json.loads(checked.stdout)  # exactly one JSON object, valid UTF-8
        for_people = invoke("rules", "check", "--config", str(config))
        assert_no_traceback(for_people)
        assert for_people.exit_code == checked.exit_code
        if checked.exit_code == 2:
            assert answer["ok"] is False and answer["errors"]
            for error in answer["errors"]:
                assert error["message"]
                assert error["file"] in {str(config / name) for name in FILES}, error
                if error["line"] is not None:
                    lines = files[Path(error["file"]).name].count(b"\n") + 1
                    assert 1 <= error["line"] <= lines, error
            return
        assert answer["ok"] is True
        (Path(tmp) / "b.json").write_text(json.dumps(BOOKINGS), encoding="utf-8")
        run = invoke(
            "run",
            "--bookings",
            f"{tmp}/b.json",
            "--db",
            f"{tmp}/s.db",
            "--config",
            str(config),
            "--now",
            NOW,
            "--json",
        )
    assert_no_traceback(run)
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    assert report["ok"] is True, report["failed"]
    for error in report["errors"]:
        assert not any(word in error["message"] for word in REFUSED_AT_RUN), error
