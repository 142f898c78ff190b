"""AWS Lambda entry point (EventBridge, every 20 minutes): the CLI's runner with Powertools logging and metrics.

What an invocation makes visible (docs/operations.md, "What to watch"): a run that failed as a whole returns
`ok: false` with `RunFailed` = 1 (reported, not raised: its alarm wants two in a row); a crash is raised after
its metrics and traceback went out, and a run about to time out is told by the watchdog - Lambda counts both
in `Errors`. The run-level metrics keep exactly the dimension `service` the alarms assume (deploy/template.yaml,
`HandlerMetrics`); by kind and status they are records of their own. Every log line carries `run_id` and
`request_id`. Importing this module loads Powertools only: the package comes with the first invocation.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from naver_sms.logs import log_context

if TYPE_CHECKING:
    from naver_sms.config.settings import Settings
    from naver_sms.domain.clock import Clock
    from naver_sms.rules.report import RunReport
    from naver_sms.runner import Runtime
    from naver_sms.wiring import State

SERVICE = "naver-sms"
NAMESPACE = "NaverSms"
#: how long before the invocation's end the watchdog speaks, if the run is still going
WATCHDOG_LEAD_SECONDS = 3.0

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

#: a watchdog: (seconds, what to call then) -> something with cancel() (threading.Timer; tests pass theirs)
Watchdog = Callable[[float, Callable[[], None]], Any]


def _timer(seconds: float, call: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(seconds, call)
    timer.daemon = True
    timer.start()
    return timer


def _count(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _by(name: str, value: float, **dimensions: str) -> None:
    """A metric with dimensions beyond `service`, in an EMF record of its own (never the alarms' set)."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=metrics.namespace,
        default_dimensions={"service": SERVICE},
    ) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def _dimension(value: str | None) -> str:
    """A bounded, ASCII dimension value (CloudWatch takes ASCII only): a template's name, or `other`."""
    text = (value or "").strip()
    return text if text and text.isascii() and len(text) <= 64 else "other"


class LambdaHandler:
    """The handler of one container. The state backend is opened by the first invocation and reused by the
    warm ones (`state`); `load_settings`, `clock` and `watchdog` are the seams of tests (the clock decides,
    in real time)."""

    def __init__(
        self,
        *,
        load_settings: Callable[..., Settings] | None = None,
        clock: Clock | None = None,
        watchdog: Watchdog = _timer,
    ) -> None:
        self.state: State | None = None
        self._load_settings = load_settings
        self._clock = clock
        self._watchdog = watchdog

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        # the runner's modules: imported by the first invocation, not by the import of the handler
        from naver_sms.runner import new_run_id

        run_id = new_run_id()
        with log_context(run_id=run_id, request_id=getattr(context, "aws_request_id", None)):
            result: dict[str, Any] = metrics.log_metrics(self.invoke)(event, context, run_id=run_id)
        return result

    def invoke(self, event: dict[str, Any], context: Any, *, run_id: str | None = None) -> dict[str, Any]:
        # the runner, the wiring and the settings: imported by the first invocation (cold start)
        from naver_sms.config.secrets import load_settings
        from naver_sms.domain.clock import SystemClock
        from naver_sms.errors import ConfigError, NaverSmsError
        from naver_sms.runner import new_run_id, run_once
        from naver_sms.wiring import build_runtime

        run_id = run_id or new_run_id()
        dry_run = bool(event.get("dry_run"))
        load = self._load_settings or load_settings
        watch = self._watch(context, run_id)
        try:
            try:
                settings = load()
                runtime, self.state = build_runtime(
                    settings,
                    clock=self._clock or SystemClock(),
                    run_id=run_id,
                    state=self.state,
                    dry_run=dry_run,
                    refresh_settings=lambda: load(refresh=True),
                )
            except ConfigError as exc:
                logger.error({"event": "config_invalid", "run_id": run_id, "error": exc.render()})
                self._run_level(failed=True, config_invalid=True)
                return {"ok": False, "run_id": run_id, "error": "invalid configuration"}
            except NaverSmsError as exc:  # a secret, the state store: the run cannot start
                logger.error(
                    {"event": "run_failed", "run_id": run_id, "error": f"{type(exc).__name__}: {exc}"}
                )
                self._run_level(failed=True)
                return {"ok": False, "run_id": run_id, "error": type(exc).__name__}
            try:
                report = run_once(
                    runtime, run_id=run_id, dry_run=dry_run, deadline=_deadline(context, runtime)
                )
            finally:
                runtime.close()
        except Exception:  # a crash: its traceback and RunFailed go out, then Lambda counts it in Errors
            logger.exception({"event": "run_crashed", "run_id": run_id})
            self._run_level(failed=True)
            raise
        finally:
            if watch is not None:
                watch.cancel()
        self._report_metrics(report)
        self._log_report(report)
        counts = report.counts()
        return {"ok": report.ok, "run_id": run_id, "failed": report.failed, "counts": counts}

    # -- what the invocation shows ------------------------------------------------------------------------

    def _watch(self, context: Any, run_id: str) -> Any:
        """The watchdog of an invocation that knows its remaining time (`context.get_remaining_time_in_millis`):
        shortly before Lambda cuts the run short, a line and RunFailed = 1 - a timeout flushes nothing."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            return None
        seconds = remaining() / 1000 - WATCHDOG_LEAD_SECONDS
        return self._watchdog(max(0.0, seconds), lambda: self.timing_out(run_id))

    @staticmethod
    def timing_out(run_id: str) -> None:
        """The run is about to be cut short by the function's timeout (the watchdog calls it)."""
        logger.error({"event": "run_timing_out", "run_id": run_id, "lead_seconds": WATCHDOG_LEAD_SECONDS})
        _by("RunFailed", 1)

    @staticmethod
    def _run_level(
        *, failed: bool, config_invalid: bool = False, auth: bool = False, login: bool = False
    ) -> None:
        _count("RunFailed", 1 if failed else 0)
        _count("ConfigInvalid", 1 if config_invalid else 0)
        _count("AuthFailed", 1 if auth else 0)
        _count("LoginFailed", 1 if login else 0)

    @staticmethod
    def _report_metrics(report: RunReport) -> None:
        counts = report.counts()
        _count("SmsSent", counts["sms_sent"])
        _count("SmsFailed", counts["sms_failed"])
        _count("Errors", counts["errors"])
        LambdaHandler._run_level(
            failed=not report.ok,
            config_invalid=bool(report.config_invalid),
            auth=report.failed_type == "CredentialsRefused",
            login=report.failed_type in ("LoginError", "LoginBlocked"),
        )
        for (kind, status), n in sorted(
            Counter((_dimension(s.template), s.status) for s in report.sms).items()
        ):
            _by("SmsByKind", n, kind=kind, status=status)
        for kind, n in sorted(Counter(_dimension(e.kind) for e in report.errors).items()):
            _by("ErrorsByKind", n, kind=kind)

    @staticmethod
    def _log_report(report: RunReport) -> None:
        from naver_sms.domain.privacy import mask_text  # with the runner (first invocation)

        logger.info(
            {
                "event": "run_report",
                "run_id": report.run_id,
                "ok": report.ok,
                "failed": mask_text(report.failed) if report.failed else None,
                "config_version": report.config_version,
                **report.counts(),
                "errors": [
                    {
                        "kind": e.kind,
                        "rule": e.rule,
                        "action": e.action,
                        "store_id": e.store_id,
                        "booking_num": e.booking_num,
                        "message": mask_text(e.message),
                    }
                    for e in report.errors
                ],
            }
        )


def _deadline(context: Any, runtime: Runtime) -> datetime | None:
    """The invocation's end in real time (no claim starts in its last NAVER_SMS_DEADLINE_MARGIN_SECONDS)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return runtime.real_clock() + timedelta(milliseconds=int(remaining()))


#: the function's handler (`naver_sms.handler.lambda_handler` in deploy/template.yaml)
lambda_handler = LambdaHandler()
