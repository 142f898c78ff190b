"""AWS Lambda entry point (EventBridge, every 20 minutes): the CLI's runner with Powertools logging and metrics.
The result says whether the run itself failed; per-booking failures are in the counts and the logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from naver_sms.config.secrets import load_settings
from naver_sms.config.settings import Settings
from naver_sms.domain.clock import Clock, SystemClock
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.runner import new_run_id, run_once
from naver_sms.wiring import State, build_runtime

logger = Logger(service="naver-sms")
metrics = Metrics(namespace="NaverSms", service="naver-sms")


class LambdaHandler:
    """The handler of one container. The state backend is opened by the first invocation and reused by the
    warm ones (`state`); `load_settings` and `clock` are the seams of tests (the clock decides, in real time)."""

    def __init__(
        self, *, load_settings: Callable[[], Settings] = load_settings, clock: Clock | None = None
    ) -> None:
        self.state: State | None = None
        self._load_settings = load_settings
        self._clock = clock or SystemClock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        result: dict[str, Any] = metrics.log_metrics(self.invoke)(event, context)
        return result

    def invoke(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        run_id = new_run_id()
        dry_run = bool(event.get("dry_run"))
        try:
            settings = self._load_settings()
            runtime, self.state = build_runtime(
                settings, clock=self._clock, run_id=run_id, state=self.state, dry_run=dry_run
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
            report = run_once(runtime, run_id=run_id, dry_run=dry_run)
        finally:
            runtime.close()
        counts = report.counts()
        metrics.add_metric(name="SmsSent", unit=MetricUnit.Count, value=counts["sms_sent"])
        metrics.add_metric(name="SmsFailed", unit=MetricUnit.Count, value=counts["sms_failed"])
        metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=counts["errors"])
        metrics.add_metric(name="RunFailed", unit=MetricUnit.Count, value=0 if report.ok else 1)
        logger.info({"event": "run_report", "run_id": run_id, "ok": report.ok, **counts})
        return {"ok": report.ok, "run_id": run_id, "failed": report.failed, "counts": counts}


#: the function's handler (`naver_sms.handler.lambda_handler` in deploy/template.yaml)
lambda_handler = LambdaHandler()
