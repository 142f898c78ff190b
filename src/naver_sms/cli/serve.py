"""`naver-sms serve`: a run every 20 minutes (at :00, :20, :40 Korean time) on one machine, until stopped.
Its clock and its wait are the seams of `Seams` (a test freezes one and intercepts the other).

Supervised (deploy/naver-sms.service, docs/operations.md "One machine"):
- **SIGTERM / SIGINT** (systemd's stop, Ctrl-C): a run in progress is finished - the action in flight, the
  summary - and then `serve` exits 0; during the wait it exits at once.
- **one timestamped line per run** on stderr: when, the run id, the outcome and the counts.
- **any exception of one run** is logged with its traceback and sent to the owner's Telegram; the next run
  goes on at its time.
- **a run skipped for an invalid configuration** is sent to the owner's Telegram once per distinct error
  (not every 20 minutes), and once more when the configuration is valid again.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape

from naver_sms.cli.common import (
    BookingsOpt,
    ConfigOpt,
    DbOpt,
    Seams,
    err,
    fail_config,
    print_config_error,
    print_report,
    runtime_for,
    seams,
    settings_of,
)
from naver_sms.config.settings import Settings
from naver_sms.domain.clock import KST
from naver_sms.domain.privacy import mask_text
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.logs import log_context
from naver_sms.rules.report import RunReport
from naver_sms.runner import new_run_id, run_once
from naver_sms.wiring import State, alert_channel

log = logging.getLogger("naver_sms.serve")

CONFIG_INVALID_ALERT = "설정 파일 오류로 실행을 건너뜁니다 (고칠 때까지 20분마다 다시 확인합니다):\n{error}"
CONFIG_VALID_AGAIN = "설정 파일이 다시 정상입니다: 실행을 재개합니다."
RUN_CRASHED_ALERT = "실행 중 예기치 않은 오류가 발생했습니다 (다음 실행은 예정대로 진행): {error}"


class _Stopping(BaseException):
    """A stop signal arrived while `serve` was waiting for the next run: leave the wait at once."""


class _Stop:
    """SIGTERM and SIGINT ask `serve` to stop: during a run, after the run (it is finished, its summary
    sent); during the wait, at once. The previous handlers come back when `serve` ends."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self.in_run = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = signal.Signals(signum).name
        if not self.in_run:
            raise _Stopping

    @contextmanager
    def installed(self) -> Iterator[_Stop]:
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield self
            return
        previous = {sig: signal.signal(sig, self) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _Alerts:
    """The owner hears of a skipped run once per distinct configuration error, and of a crashed run."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._config_error: str | None = None

    def _send(self, text: str, state: State | None) -> None:
        try:
            channel = alert_channel(self._settings, state, run_id=new_run_id())
            channel.send_message(text)
        except Exception as exc:  # an alert that cannot go out is logged; serving goes on
            log.warning("serve: the alert could not be sent to Telegram: %s", exc)

    def config_invalid(self, exc: ConfigError, state: State | None) -> None:
        error = exc.render()
        if error == self._config_error:
            return
        self._config_error = error
        self._send(CONFIG_INVALID_ALERT.format(error=error), state)

    def config_valid(self, state: State | None) -> None:
        if self._config_error is not None:
            self._config_error = None
            self._send(CONFIG_VALID_AGAIN, state)

    def crashed(self, exc: BaseException, state: State | None) -> None:
        self._send(RUN_CRASHED_ALERT.format(error=mask_text(f"{type(exc).__name__}: {exc}")), state)


def serve(
    ctx: typer.Context,
    bookings: BookingsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    live: Annotated[bool, typer.Option("--live", help="Send for real (SENS, Telegram, Slack).")] = False,
    every: Annotated[
        int, typer.Option("--every", min=1, max=1440, help="Minutes between runs, aligned to the hour.")
    ] = 20,
) -> None:
    """Run every 20 minutes (at :00, :20, :40 Korean time) on one machine, until stopped (SIGTERM, Ctrl-C)."""
    world = seams(ctx)
    try:
        settings = settings_of(config=config, db=db, bookings=bookings, live=live)
    except ConfigError as exc:
        fail_config(exc)
    state: State | None = None  # opened once, reused by every run of this process
    alerts = _Alerts(settings)
    stop = _Stop()
    with stop.installed():
        while stop.requested is None:
            stop.in_run = True
            state = _one_run(settings, world, state, alerts)
            try:
                stop.in_run = False  # from here a stop signal leaves the wait at once (_Stopping)
                if stop.requested is not None:
                    break
                now = world.clock().astimezone(KST)
                wait = every - now.minute % every
                next_at = (now + timedelta(minutes=wait)).replace(second=0, microsecond=0)
                err.print(f"[dim]next run at {next_at:%H:%M}[/]")
                world.sleep(max(1.0, (next_at - world.clock().astimezone(KST)).total_seconds()))
            except _Stopping:
                break
    err.print(f"stopped ({stop.requested or 'done'}): exit 0", highlight=False)


def _one_run(settings: Settings, world: Seams, state: State | None, alerts: _Alerts) -> State | None:
    """One run of `serve`, whatever happens in it; the state to reuse."""
    started = world.clock().astimezone(KST)
    run_id: str | None = None
    try:
        runtime, state, run_id = runtime_for(settings, None, world, quiet=False, state=state)
        with log_context(run_id=run_id):
            try:
                report = run_once(runtime, run_id=run_id)
            finally:
                runtime.close()
        print_report(report)
        _line(started, run_id, _outcome(report))
        alerts.config_valid(state)
    except ConfigError as exc:  # an edited file: say so, keep serving, pick up the fix next time
        print_config_error(exc)
        _line(started, run_id, "skipped: invalid configuration")
        alerts.config_invalid(exc, state)
    except NaverSmsError as exc:  # e.g. the state store unavailable: this run fails, the next one tries
        err.print(f"[bold red]run failed:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        _line(started, run_id, f"failed: {type(exc).__name__}")
    except Exception as exc:  # anything else: logged with its traceback, the owner told, serving goes on
        log.exception("serve: the run failed with an unexpected error; the next run goes on at its time")
        _line(started, run_id, f"crashed: {type(exc).__name__}")
        alerts.crashed(exc, state)
    return state


def _outcome(report: RunReport) -> str:
    counts = report.counts()
    return (
        f"{'ok' if report.ok else 'failed'}: {counts['sms_sent']} sent, {counts['sms_failed']} failed, "
        f"{counts['bookings']} bookings, {counts['errors']} errors, {report.duration_seconds:.1f} s"
    )


def _line(started: object, run_id: str | None, outcome: str) -> None:
    """The one line per run: when it started (Korean time), its id, what became of it."""
    err.print(
        f"{started:%Y-%m-%dT%H:%M:%S%z} run {run_id or '-'} {escape(outcome)}",
        highlight=False,
        soft_wrap=True,
    )
