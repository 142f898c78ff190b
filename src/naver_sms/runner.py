"""One run: fetch -> load state -> decide -> act -> report (product.md, "One run - the data flow"), written once:
`run_once` is a run, `preview` the same steps with the actions previewed (`naver-sms plan`, dry runs). The
entry points (cli, handler) build a `Runtime` (naver_sms.wiring) and call these.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from naver_sms.config.models import AppConfig
from naver_sms.domain.booking import Booking
from naver_sms.domain.clock import KST, Clock, SystemClock
from naver_sms.errors import CredentialsRefused, LoginBlocked
from naver_sms.flags.machine import FlagRepository
from naver_sms.gc_policy import run_gc
from naver_sms.logs import emit
from naver_sms.planning import PlanBuilder
from naver_sms.ports import BookingSource, TelegramService, fetch_batches
from naver_sms.rules.context import ActionServicesBundle, NotificationRecord, RunScope
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.plan import CompiledRule, Plan
from naver_sms.rules.report import RunError, RunReport
from naver_sms.summary import run_summary

log = logging.getLogger("naver_sms.runner")

RUN_FAILED = "요청중 오류 발생"
LOGIN_NEEDS_A_PERSON = "네이버 로그인에 사람의 확인이 필요합니다: naver-sms login --interactive"
CREDENTIALS_REFUSED = (
    "인증 정보가 거부되었습니다 (키 교체 후 다시 읽어도 거부): Secrets Manager의 값을 확인하세요"
)


@dataclass
class Runtime:
    config: AppConfig
    engine: RuleEngine
    rules: tuple[CompiledRule, ...]
    source: BookingSource
    services: ActionServicesBundle
    #: the decision clock: what the rules see (`--now`, tests)
    clock: Clock
    mode: str  # sandbox | live
    #: real time: claims, leases, look-up windows, the times written to rows and reports (tests freeze it)
    real_clock: Clock = field(default_factory=SystemClock)
    lease: timedelta = timedelta(minutes=10)
    summary_channel: TelegramService | None = None
    #: called with (stage, detail) as the run progresses (the CLI shows it)
    progress: Callable[[str, str], None] = field(default=lambda stage, detail: None)
    #: what identifies the configuration in use (S3 ETags, or the files' digest): the report's config_version
    config_version: str | None = None
    #: lines for the owner, added to the run's summary and warnings (e.g. "the upload was invalid: the last
    #: valid configuration is in use")
    notices: tuple[str, ...] = ()
    #: the configuration given was refused and the last valid one is in use: why (the rendered error)
    config_invalid: str | None = None

    @property
    def repo(self) -> FlagRepository:
        return self.services.db_repo

    def scope(self, report: RunReport) -> RunScope:
        return RunScope(report.run_id, self.config, self.services, report.now, self.real_clock, self.lease)

    def close(self) -> None:
        """Release the source's and the channels' connection pools; the state backend is the caller's."""
        for service in (
            self.source,
            self.services.sms_service,
            self.services.telegram_service,
            self.services.slack_service,
        ):
            close = getattr(service, "close", None)
            if callable(close):
                close()


def new_run_id() -> str:
    # `Z` (UTC) keeps the time's digits apart from the random part: `T001955-3599...` reads as a phone number
    # to the masking of every log line (naver_sms.logs)
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def new_report(rt: Runtime, run_id: str, *, dry_run: bool = False) -> RunReport:
    """The empty report of a run that starts now: the decision time read once, in Korean time."""
    return RunReport(
        run_id=run_id,
        now=rt.clock().astimezone(KST),
        started_at=rt.real_clock().astimezone(UTC),
        mode=rt.mode,
        source=rt.source.description,
        dry_run=dry_run,
        warnings=[*rt.config.warnings, *rt.notices],
        config_version=rt.config_version,
        config_invalid=rt.config_invalid,
    )


def decide(
    rt: Runtime, report: RunReport, *, only_booking: str | None = None, keep_all: bool = False
) -> Plan:
    """Fetch, load state, evaluate: the plan of one run (steps 3-5), with what was skipped in `report`. The
    source's batches (a store's bookings) are decided as they come, and only the bookings a rule matches are
    kept - every one with `keep_all` (a preview: `plan --explain`). Raises what the source raises when it
    cannot give any booking (e.g. the login needs a person)."""
    stores = list(rt.config.stores.values())
    report.stores = len(stores)
    rt.progress("fetch", f"{len(stores)} stores from {rt.source.description}")
    builder = _builder(rt, report, keep_all=keep_all)
    skipped: list[RunError] = []
    failed_stores: list[RunError] = []
    for batch in fetch_batches(rt.source, stores, report.now):
        bookings = batch.bookings
        if only_booking:
            bookings = [b for b in bookings if only_booking in (b.booking_num, b.booking_id)]
        report.bookings_fetched += len(bookings)
        report.bookings_skipped += len(batch.skipped)
        skipped.extend(RunError("booking", str(bad), booking_num=bad.booking_id) for bad in batch.skipped)
        failed_stores.extend(RunError("store", why, store_id=sid) for sid, why in batch.failed_stores.items())
        builder.add(bookings)
    report.errors.extend(skipped)
    report.errors.extend(failed_stores)
    rt.progress("decide", f"{report.bookings_fetched} bookings x {len(rt.rules)} rules")
    return builder.plan()


def build_plan(rt: Runtime, report: RunReport, bookings: Sequence[Booking]) -> Plan:
    """Load the records of `bookings` in batches and evaluate every rule: no side effects. The plan keeps
    every booking's evaluations."""
    builder = _builder(rt, report, keep_all=True)
    builder.add(bookings)
    return builder.plan()


def _builder(rt: Runtime, report: RunReport, *, keep_all: bool) -> PlanBuilder:
    return PlanBuilder(
        repo=rt.repo,
        engine=rt.engine,
        rules=rt.rules,
        config=rt.config,
        report=report,
        real_clock=rt.real_clock,
        keep_all=keep_all,
    )


def act(rt: Runtime, plan: Plan, report: RunReport, *, dry_run: bool = False) -> None:
    """Step 6: the plan's actions, with contexts made from the run's scope - done, or only previewed
    (nothing is sent and no row is written)."""
    (rt.engine.preview if dry_run else rt.engine.execute)(plan, rt.scope(report), report)


@dataclass(frozen=True, slots=True)
class Preview:
    """What a run would do now: the plan (with reasons) and the report of the previewed actions."""

    plan: Plan
    report: RunReport


def preview(rt: Runtime, *, run_id: str | None = None, only_booking: str | None = None) -> Preview:
    """The plan of a run, its actions previewed: nothing is sent or written. Raises what `decide` raises."""
    report = new_report(rt, run_id or new_run_id(), dry_run=True)
    plan = decide(rt, report, only_booking=only_booking, keep_all=True)
    act(rt, plan, report, dry_run=True)
    return Preview(plan, report)


def run_once(
    rt: Runtime, *, dry_run: bool = False, run_id: str | None = None, only_booking: str | None = None
) -> RunReport:
    """One whole run. Never raises for a booking, a store or an action; `report.failed` says when the run
    itself failed (the source as a whole, the state store). A dry run previews the actions instead."""
    report = new_report(rt, run_id or new_run_id(), dry_run=dry_run)
    try:
        with run_gc():  # the collector set for a run's shape (naver_sms.gc_policy)
            plan = decide(rt, report, only_booking=only_booking)
            rt.progress("act", "dry run: nothing is sent or written" if dry_run else rt.mode)
            act(rt, plan, report, dry_run=dry_run)
        _report_failed_flags(plan, report)
    except Exception as exc:  # the run itself failed: report it, send the legacy failure line
        report.failed = f"{type(exc).__name__}: {exc}"
        report.failed_type = type(exc).__name__
        emit(log, logging.ERROR, "run_failed", run_id=report.run_id, error=report.failed)
        if isinstance(exc, LoginBlocked):  # a person must act: say so where the owner looks
            report.summary = f"{RUN_FAILED}\n{LOGIN_NEEDS_A_PERSON}\n{exc}"
        elif isinstance(exc, CredentialsRefused):
            report.summary = f"{RUN_FAILED}\n{CREDENTIALS_REFUSED}\n{exc}"
    if not report.summary:
        report.summary = RUN_FAILED if report.failed else run_summary(report.sms, _store_names(rt.config))
    if rt.notices:
        report.summary = "\n".join((report.summary, *rt.notices))
    if not dry_run and rt.summary_channel is not None:
        _send_summary(rt.summary_channel, report)
    report.finished_at = rt.real_clock().astimezone(UTC)
    emit(
        log,
        logging.INFO,
        "run_finished",
        run_id=report.run_id,
        mode=rt.mode,
        dry_run=dry_run,
        duration_seconds=report.duration_seconds,
        **report.counts(),
    )
    return report


def _report_failed_flags(plan: Plan, report: RunReport) -> None:
    """A flag failed for good is reported on every run until an operator resets it (product.md) - also when
    no rule matches its booking any more. A send refused for that reason in this run reported it already."""
    reported = {
        (s.booking_num, s.flag) for s in report.sms if s.error and s.error.startswith("FlagFailedForGood")
    }
    for booking, state in plan.failed:
        num = booking.booking_num
        if (num, state.flag) in reported:
            continue
        report.errors.append(
            RunError(
                "flag_failed",
                f"{state.flag} failed for good after {state.attempts} attempts: {state.last_error or ''} "
                f"(reset: naver-sms db reset {num} {state.flag})",
                booking_num=num,
                store_id=booking.store_id,
            )
        )


def _store_names(config: AppConfig) -> dict[str, str]:
    return {store.id: store.alias for store in config.stores.values()}


def _send_summary(channel: TelegramService, report: RunReport) -> None:
    try:
        receipt = channel.send_message(report.summary)
    except Exception as exc:
        report.errors.append(RunError("summary", f"telegram summary not sent: {exc}"))
        if getattr(exc, "stops_run", False) and report.failed is None:  # Telegram refused our credentials
            report.failed = f"{type(exc).__name__}: {exc}"
            report.failed_type = type(exc).__name__
        return
    report.notifications.append(NotificationRecord("telegram", report.summary, receipt.status, "(summary)"))
