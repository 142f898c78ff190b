"""One run: fetch -> load state -> decide -> act -> report (product.md, "One run - the data flow"), written once:
`run_once` is a run, `preview` the same steps with the actions previewed (`naver-sms plan`, dry runs). The
entry points (cli, handler) build a `Runtime` (naver_sms.wiring) and call these.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from naver_sms.config.models import AppConfig
from naver_sms.config.settings import check_lease
from naver_sms.domain.booking import Booking
from naver_sms.domain.clock import KST, Clock, SystemClock
from naver_sms.domain.period import PeriodSpec
from naver_sms.domain.privacy import mask_text
from naver_sms.errors import BookingsLost, CredentialsRefused, LoginBlocked
from naver_sms.flags.effect import Done
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.periods import once_in_period
from naver_sms.flags.state import reset_command
from naver_sms.gc_policy import run_gc
from naver_sms.logs import emit
from naver_sms.planning import PlanBuilder
from naver_sms.ports import BookingSource, TelegramService, fetch_batches
from naver_sms.rules.context import ActionServicesBundle, NotificationRecord, RunScope
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.plan import CompiledRule, Plan
from naver_sms.rules.report import RunError, RunReport
from naver_sms.rules.summary import lost_lines, run_summary

log = logging.getLogger("naver_sms.runner")

RUN_FAILED = "요청중 오류 발생"
BOOKINGS_LOST = "예약을 하나도 읽지 못했습니다"
#: bookings a run reads and decides at a time, at least (one store's part, or several small stores' together)
DECIDE_BATCH = 500
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
    #: bookings acted on at once (`NAVER_SMS_SEND_CONCURRENCY`)
    workers: int = 1
    #: the longest one send may take (`NAVER_SMS_SEND_TIMEOUT_SECONDS`)
    send_timeout: timedelta = timedelta(seconds=30)
    #: no new claim in the last this much before a run's deadline (`NAVER_SMS_DEADLINE_MARGIN_SECONDS`)
    deadline_margin: timedelta = timedelta(seconds=90)
    #: a run's deadline from its start, when none is given to `run_once` (`NAVER_SMS_RUN_DEADLINE_SECONDS`)
    run_deadline: timedelta | None = None
    summary_channel: TelegramService | None = None
    #: after each run that acted (not a dry run), with its plan (None when it failed before deciding): the run
    #: log and the daily report (naver_sms.owner.after)
    after_run: Callable[[Runtime, RunReport, Plan | None], None] | None = None
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

    def scope(self, report: RunReport, *, deadline: datetime | None = None) -> RunScope:
        """The scope of the run `report` is about; with a `deadline` (real time), no claim starts after its
        cutoff (the deadline less the margin)."""
        return RunScope(
            report.run_id,
            self.config,
            self.services,
            report.now,
            self.real_clock,
            self.lease,
            cutoff=None if deadline is None else deadline - self.deadline_margin,
            send_margin=self.send_timeout,
            workers=self.workers,
        )

    def deadline_of(self, deadline: datetime | None) -> datetime | None:
        """The deadline of a run starting now: the one given (the Lambda invocation's), or the configured
        one from now, or none. Raises `ConfigError` when the lease could run out before it (`check_lease`)."""
        now = self.real_clock()
        if deadline is None and self.run_deadline is not None:
            deadline = now + self.run_deadline
        if deadline is not None:
            span = (deadline - now).total_seconds()
            check_lease(self.lease.total_seconds(), self.send_timeout.total_seconds(), max(span, 0.0))
        return deadline

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
    parts = parts_lost = 0
    pending: list[Booking] = []  # small stores' parts decided together: full batch reads (100 keys a call)
    for batch in fetch_batches(rt.source, stores, report.now):
        bookings = batch.bookings
        if only_booking:
            bookings = [b for b in bookings if only_booking in (b.booking_num, b.booking_id)]
        report.bookings_fetched += len(bookings)
        report.bookings_skipped += len(batch.skipped)
        parts, parts_lost = parts + batch.parts, parts_lost + batch.parts_lost
        skipped.extend(RunError("booking", str(bad), booking_num=bad.booking_id) for bad in batch.skipped)
        failed_stores.extend(RunError("store", why, store_id=sid) for sid, why in batch.failed_stores.items())
        pending.extend(bookings)
        if len(pending) >= DECIDE_BATCH:
            builder.add(pending)
            pending = []
    report.errors.extend(skipped)
    report.errors.extend(failed_stores)
    if parts and parts_lost == parts:  # a source that lost everything is a run problem, not "nothing to send"
        first = report.errors[0].message if report.errors else "?"
        raise BookingsLost(f"not one booking could be read from {rt.source.description}: {first}")
    builder.add(pending)
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


def act(
    rt: Runtime, plan: Plan, report: RunReport, *, dry_run: bool = False, deadline: datetime | None = None
) -> None:
    """Step 6: the plan's actions, with contexts made from the run's scope - done, or only previewed
    (nothing is sent and no row is written). No claim starts in the last `deadline_margin` before the
    `deadline` (real time): those matches are deferred to the next run."""
    (rt.engine.preview if dry_run else rt.engine.execute)(plan, rt.scope(report, deadline=deadline), report)


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
    rt: Runtime,
    *,
    dry_run: bool = False,
    run_id: str | None = None,
    only_booking: str | None = None,
    deadline: datetime | None = None,
) -> RunReport:
    """One whole run. Never raises for a booking, a store or an action; `report.failed` says when the run
    itself failed (the source as a whole, the state store). A dry run previews the actions instead.

    `deadline` (real time; the Lambda invocation's end) - or `rt.run_deadline` from now: no claim starts in
    its last `rt.deadline_margin`, so the sends in flight and the summary still fit; what is left is
    reported as deferred (`report.deferred`) and done by the next run."""
    report = new_report(rt, run_id or new_run_id(), dry_run=dry_run)
    plan: Plan | None = None
    try:
        until = rt.deadline_of(deadline)
        with run_gc():  # the collector set for a run's shape (naver_sms.gc_policy)
            plan = decide(rt, report, only_booking=only_booking)
            rt.progress("act", "dry run: nothing is sent or written" if dry_run else rt.mode)
            act(rt, plan, report, dry_run=dry_run, deadline=until)
        _report_failed_flags(plan, report)
    except Exception as exc:  # the run itself failed: report it, send the legacy failure line
        report.failed = f"{type(exc).__name__}: {exc}"
        report.failed_type = type(exc).__name__
        emit(log, logging.ERROR, "run_failed", run_id=report.run_id, error=report.failed)
        if isinstance(exc, LoginBlocked):  # a person must act: say so where the owner looks
            report.summary = f"{RUN_FAILED}\n{LOGIN_NEEDS_A_PERSON}\n{exc}"
        elif isinstance(exc, CredentialsRefused):
            report.summary = f"{RUN_FAILED}\n{CREDENTIALS_REFUSED}\n{exc}"
        elif isinstance(exc, BookingsLost):
            report.summary = f"{RUN_FAILED}\n{BOOKINGS_LOST}: {mask_text(str(exc))}"
    if not report.summary:
        report.summary = RUN_FAILED if report.failed else run_summary(report.sms, _store_names(rt.config))
        if not report.failed and rt.config.reports.summary == "every_run":
            # (`when_something_happened` counts them in its `PROBLEMS` line instead, pointing to `status`)
            report.summary = "\n".join([report.summary, *lost_lines(report)])
    if rt.notices:
        report.summary = "\n".join((report.summary, *rt.notices))
    if not dry_run and rt.summary_channel is not None and _summary_due(rt, report):
        _send_summary(rt.summary_channel, report)
    if not dry_run and rt.after_run is not None:
        try:
            rt.after_run(rt, report, plan)
        except Exception as exc:  # the run itself is done: what it sent stands
            report.errors.append(RunError("owner", f"after the run: {type(exc).__name__}: {exc}"))
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
        if (num, state.flag) in reported or state.permanent:  # permanent: reported when it failed
            continue
        report.errors.append(
            RunError(
                "flag_failed",
                f"{state.flag} failed for good after {state.attempts} attempts: {state.last_error or ''} "
                f"(reset: {reset_command(num, state.flag)})",
                booking_num=num,
                store_id=booking.store_id,
            )
        )


def _store_names(config: AppConfig) -> dict[str, str]:
    return {store.id: store.alias for store in config.stores.values()}


#: errors a run reports again on every run until someone acts - a malformed booking Naver still lists, a send
#: failed for good (until its reset): under `when_something_happened` each brings the summary once a day
STANDING_ERRORS = frozenset({"booking", "flag_failed"})
_SUMMARY_DAY = PeriodSpec.parse("day")
#: the line `when_something_happened` adds to a summary of a run with errors (the legacy summary has none)
PROBLEMS = "확인할 문제 {n}건: naver-sms status"


def _summary_due(rt: Runtime, report: RunReport) -> bool:
    """The legacy summary goes after every run (reports.yaml `summary: every_run`, the default), or - with
    `when_something_happened` - only when this run sent or failed an SMS, posted a message, failed, met a new
    kind of trouble, or reports a standing error (`STANDING_ERRORS`) not yet told today (docs/owner.md)."""
    if rt.config.reports.summary == "every_run" or rt.notices:  # a notice is always for the owner
        return True
    sent = any(s.status != "planned" for s in report.sms)
    posted = any(n.status in ("sent", "outbox") for n in report.notifications if n.channel != "log")
    untold = _standing_untold_today(rt, report)  # marked told even when the summary is due anyway
    due = bool(report.failed or sent or posted or untold)
    if due or any(e.kind not in STANDING_ERRORS for e in report.errors):
        if report.errors:
            report.summary = "\n".join((report.summary, PROBLEMS.format(n=len(report.errors))))
        return True
    return False


def _standing_untold_today(rt: Runtime, report: RunReport) -> bool:
    """True when one of the run's standing errors was not told yet today (the decision clock's day in Korean
    time); each is then marked told for the day - a period claim per error, so overlapping runs tell it once."""
    repo = rt.services.periods
    period = _SUMMARY_DAY.period_at(rt.clock())
    untold = False
    for error in {_error_id(e): e for e in report.errors if e.kind in STANDING_ERRORS}:
        if repo is None:
            return True  # nowhere to remember it: told on every run, as `every_run` would
        try:
            guarded = once_in_period(
                repo,
                f"summary_error:{error}",
                period,
                lambda _claims: Done(None, rt.real_clock()),
                run_id=report.run_id,
                now=rt.real_clock(),
                lease=rt.lease,
            )
        except Exception:  # the claim store failed: better told twice than never
            return True
        untold = untold or guarded.acted
    return untold


def _error_id(error: RunError) -> str:
    """What identifies a standing error from run to run (its kind, booking, store, rule and message)."""
    parts = (error.kind, error.booking_num, error.store_id, error.rule, error.action, error.message)
    return hashlib.sha256("|".join(p or "" for p in parts).encode("utf-8")).hexdigest()[:16]


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
