"""What a Lambda invocation makes visible (issue 8, items 5-6): every log line carries its run and request,
`run_report` lists each error, metrics by kind and status beside the alarms' own, failed runs reported,
crashes raised after their metrics, a watchdog before the timeout."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from naver_sms.handler import LambdaHandler
from tests.conftest import CONFIG_DIR, ROOT


class _Context:
    aws_request_id = "req-0000-1111"

    def __init__(self, remaining_ms: int = 300_000) -> None:
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining


class _Watchdog:
    """A watchdog that never fires by itself: the test fires it."""

    def __init__(self) -> None:
        self.armed: list[tuple[float, Any]] = []
        self.cancelled = 0

    def __call__(self, seconds: float, call: Any) -> _Watchdog:
        self.armed.append((seconds, call))
        return self

    def cancel(self) -> None:
        self.cancelled += 1


def _sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NAVER_SMS_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("NAVER_SMS_BOOKINGS_PATH", str(ROOT / "examples" / "bookings"))
    monkeypatch.setenv("NAVER_SMS_CONFIG_DIR", str(CONFIG_DIR))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "NaverSmsTest")


def _emf(out: str) -> list[dict[str, Any]]:
    return [e for e in (json.loads(line) for line in out.splitlines() if line.startswith("{")) if "_aws" in e]


def _metric(records: list[dict[str, Any]], name: str) -> list[tuple[list[str], dict[str, Any], float]]:
    found = []
    for record in records:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            if any(m["Name"] == name for m in directive["Metrics"]):
                value = record[name]
                dims = {d: record[d] for ds in directive["Dimensions"] for d in ds}
                found.append(
                    (directive["Dimensions"][0], dims, float(value[0] if isinstance(value, list) else value))
                )
    return found


def test_every_log_record_of_an_invocation_carries_its_run_and_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a sandbox deployment, the standard library's loggers at INFO
    _sandbox(monkeypatch, tmp_path)
    caplog.set_level(logging.INFO)
    # WHEN it is invoked with Lambda's context
    result = LambdaHandler(watchdog=_Watchdog())({}, _Context())
    # THEN every record made during the invocation - the package's own loggers included - names the run
    # and the request
    ours = [r for r in caplog.records if r.name.startswith("naver_sms")]
    assert ours and {getattr(r, "run_id", None) for r in ours} == {result["run_id"]}
    assert {getattr(r, "request_id", None) for r in ours} == {"req-0000-1111"}
    # AND after the invocation a record carries neither
    logging.getLogger("naver_sms.test").warning("after")
    assert not hasattr(caplog.records[-1], "run_id")


def test_metrics_by_kind_and_status_leave_the_alarms_dimension_set_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sandbox(monkeypatch, tmp_path)
    result = LambdaHandler(watchdog=_Watchdog())({}, _Context())
    records = _emf(capsys.readouterr().out)
    # THEN the run-level metrics have exactly the dimension set [service], one value each
    for name in ("RunFailed", "SmsSent", "SmsFailed", "LoginFailed", "ConfigInvalid", "AuthFailed"):
        [(dimension_set, _, _)] = _metric(records, name)
        assert dimension_set == ["service"], name
    # AND the SMS are counted by kind (the template's name) and status, in records of their own
    by_kind = {(d["kind"], d["status"]): v for _, d, v in _metric(records, "SmsByKind")}
    assert sum(by_kind.values()) == result["counts"]["sms_sent"]
    assert {kind for kind, _ in by_kind} >= {"confirmation"} and {s for _, s in by_kind} == {"outbox"}
    for dimension_set, _, _ in _metric(records, "SmsByKind"):
        assert dimension_set == ["service", "kind", "status"]


def test_run_report_lists_each_error_with_its_kind_and_booking(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the example bookings, one of which is malformed
    _sandbox(monkeypatch, tmp_path)
    caplog.set_level(logging.INFO)
    LambdaHandler(watchdog=_Watchdog())({}, _Context())
    [report] = [r for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "run_report"]
    message = report.msg
    assert isinstance(message, dict)
    # THEN the report names the configuration, and its errors say what went wrong where
    assert message["config_version"].startswith("sha256:")
    [skipped] = [e for e in message["errors"] if e["kind"] == "booking"]
    assert skipped["booking_num"] and skipped["message"]
    assert getattr(report, "run_id", None) == message["run_id"]
    assert getattr(report, "request_id", None) == "req-0000-1111"


def test_a_login_naver_refuses_counts_as_login_failed(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from naver_sms.errors import LoginBlocked

    def blocked(*args: Any, **kwargs: Any) -> Any:  # the run fails the way a refused login fails it
        raise LoginBlocked("captcha")

    monkeypatch.setattr("naver_sms.runner.decide", blocked)
    monkeypatch.setenv("NAVER_SMS_BOOKINGS_PATH", str(ROOT / "examples" / "bookings"))
    monkeypatch.setenv("NAVER_SMS_CONFIG_DIR", str(CONFIG_DIR))
    monkeypatch.setenv("NAVER_SMS_DB", ":memory:")
    result = LambdaHandler(watchdog=_Watchdog())({}, _Context())
    records = _emf(capsys.readouterr().out)
    assert result["ok"] is False
    assert [v for _, _, v in _metric(records, "LoginFailed")] == [1.0]
    assert [v for _, _, v in _metric(records, "RunFailed")] == [1.0]


def test_a_crash_is_raised_after_its_traceback_and_run_failed_went_out(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a bug the run cannot report (an exception out of the runner itself)
    _sandbox(monkeypatch, tmp_path)

    def bug(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("naver_sms.runner.run_once", bug)
    watchdog = _Watchdog()
    # WHEN invoked THEN it raises (Lambda counts it in Errors, the event goes to the failed-runs queue)
    with pytest.raises(ZeroDivisionError):
        LambdaHandler(watchdog=watchdog)({}, _Context())
    out = capsys.readouterr().out
    # AND the metrics were flushed first (RunFailed = 1) and the traceback logged, the watchdog stopped
    assert [v for _, _, v in _metric(_emf(out), "RunFailed")] == [1.0]
    [crashed] = [r for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "run_crashed"]
    assert crashed.exc_info is not None and crashed.exc_info[0] is ZeroDivisionError
    assert watchdog.cancelled == 1


def test_the_watchdog_speaks_before_the_timeout_with_run_failed(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an invocation with 60 s left WHEN the handler arms its watchdog THEN it is due 3 s before the end
    watchdog = _Watchdog()
    handler = LambdaHandler(watchdog=watchdog)
    handler._watch(_Context(remaining_ms=60_000), "run-1")
    [(seconds, fire)] = watchdog.armed
    assert seconds == pytest.approx(57.0)
    # WHEN it fires (the run still going) THEN a line and RunFailed = 1 with the alarm's dimension set
    fire()
    out = capsys.readouterr().out
    [(dimension_set, _, value)] = _metric(_emf(out), "RunFailed")
    assert (dimension_set, value) == (["service"], 1.0)
    assert any(isinstance(r.msg, dict) and r.msg.get("event") == "run_timing_out" for r in caplog.records)
