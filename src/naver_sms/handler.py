"""AWS Lambda entry point: the same runner as the CLI, with Powertools logging and metrics.

EventBridge invokes it every 20 minutes. Settings come from the environment and Secrets Manager
(`NAVER_SMS_SECRET_NAMES`); live sending needs `NAVER_SMS_LIVE=true` set on the function - never implied.
The result says whether the run itself failed; per-booking failures are in the counts and the logs.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from naver_sms.config.secrets import load_settings
from naver_sms.domain.clock import SystemClock
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.runner import new_run_id, run_once
from naver_sms.wiring import State, build_runtime

__all__ = ["lambda_handler"]

logger = Logger(service="naver-sms")
metrics = Metrics(namespace="NaverSms", service="naver-sms")

_state: State | None = None  # the state backend is opened once per container, reused by warm invocations


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _state
    run_id = new_run_id()
    try:
        settings = load_settings()
        runtime, _state = build_runtime(
            settings, clock=SystemClock(), run_id=run_id, state=_state, dry_run=bool(event.get("dry_run"))
        )
    except ConfigError as exc:
        logger.error({"event": "config_invalid", "error": exc.render()})
        metrics.add_metric(name="RunFailed", unit=MetricUnit.Count, value=1)
        return {"ok": False, "run_id": run_id, "error": "invalid configuration"}
    except NaverSmsError as exc:  # a secret, the state store: the run cannot start
        logger.error({"event": "run_failed", "error": f"{type(exc).__name__}: {exc}"})
        metrics.add_metric(name="RunFailed", unit=MetricUnit.Count, value=1)
        return {"ok": False, "run_id": run_id, "error": type(exc).__name__}
    try:
        report = run_once(runtime, run_id=run_id, dry_run=bool(event.get("dry_run")))
    finally:
        runtime.close()
    counts = report.counts()
    metrics.add_metric(name="SmsSent", unit=MetricUnit.Count, value=counts["sms_sent"])
    metrics.add_metric(name="SmsFailed", unit=MetricUnit.Count, value=counts["sms_failed"])
    metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=counts["errors"])
    metrics.add_metric(name="RunFailed", unit=MetricUnit.Count, value=0 if report.ok else 1)
    logger.info({"event": "run_report", "run_id": run_id, "ok": report.ok, **counts})
    return {"ok": report.ok, "run_id": run_id, "failed": report.failed, "counts": counts}
