"""The Lambda entry point runs the same core as the CLI; the deploy template passes cfn-lint."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CONFIG_DIR, ROOT


def test_the_lambda_handler_runs_one_sandbox_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the environment of a deployed function, in the sandbox
    monkeypatch.setenv("NAVER_SMS_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("NAVER_SMS_BOOKINGS_PATH", str(ROOT / "examples" / "bookings"))
    monkeypatch.setenv("NAVER_SMS_CONFIG_DIR", str(CONFIG_DIR))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "NaverSmsTest")
    from naver_sms import handler

    # WHEN EventBridge invokes it (a fresh container: its handler has no state yet)
    result: dict[str, Any] = handler.LambdaHandler()({}, None)
    # THEN it reports the run, and metrics are emitted in the embedded metric format
    assert result["ok"] is True
    assert result["counts"]["bookings"] == 14
    assert result["counts"]["bookings_skipped"] == 1
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    metric_names = {
        m["Name"]
        for e in emitted
        if "_aws" in e
        for d in e["_aws"]["CloudWatchMetrics"]
        for m in d["Metrics"]
    }
    assert {"SmsSent", "SmsFailed", "Errors", "RunFailed"} <= metric_names

    def value(name: str) -> float:  # the embedded metric format puts each value in a list
        [found] = [e[name] for e in emitted if "_aws" in e and name in e]
        return float(found[0] if isinstance(found, list) else found)

    assert (value("SmsSent"), value("SmsFailed"), value("RunFailed")) == (result["counts"]["sms_sent"], 0, 0)
    assert result["counts"]["sms_sent"] > 0


def test_an_invalid_configuration_fails_the_invocation_with_a_clear_result(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, broken)
    (broken / "rules.yaml").write_text("rules:\n  - name: x\n", encoding="utf-8")
    monkeypatch.setenv("NAVER_SMS_CONFIG_DIR", str(broken))
    monkeypatch.setenv("NAVER_SMS_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "NaverSmsTest")
    from naver_sms import handler

    result = handler.LambdaHandler()({}, None)
    assert result["ok"] is False and result["error"] == "invalid configuration"


def test_a_db_url_of_another_scheme_fails_the_invocation_and_creates_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN a deployment whose NAVER_SMS_DB says dynamo:// instead of dynamodb://
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NAVER_SMS_CONFIG_DIR", str(CONFIG_DIR))
    monkeypatch.setenv("NAVER_SMS_DB", "dynamo://ap-northeast-2")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "NaverSmsTest")
    from naver_sms import handler

    # WHEN it is invoked THEN it fails with a result, and no SQLite file was made under a `dynamo:` directory
    result = handler.LambdaHandler()({}, None)
    assert result["ok"] is False
    assert not (tmp_path / "dynamo:").exists()


def test_the_sam_template_passes_cfn_lint() -> None:
    cfn_lint = shutil.which("cfn-lint") or str(
        Path(__file__).resolve().parents[1] / ".venv" / "bin" / "cfn-lint"
    )
    completed = subprocess.run(
        [cfn_lint, str(ROOT / "deploy" / "template.yaml")], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_a_secret_that_cannot_be_read_fails_the_invocation_with_a_result(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from naver_sms import handler
    from naver_sms.errors import SecretError

    def no_secret(*args: Any, **kwargs: Any) -> Any:
        raise SecretError("secret 'naver-sms/credentials' could not be read: ThrottlingException")

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "NaverSmsTest")
    result = handler.LambdaHandler(load_settings=no_secret)({}, None)
    assert result == {"ok": False, "run_id": result["run_id"], "error": "SecretError"}
