"""One run: fetch -> load state -> decide -> act -> report (product.md, "One run - the data flow").

`Runtime` holds what a run needs (built once per process by `naver_sms.wiring`); `run_once` is the run.
Both entry points (`cli.py`, `handler.py`) build a runtime and call `run_once`; only they translate errors
for their audience.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from naver_sms.config.models import AppConfig
from naver_sms.database.repositories import UNREADABLE_ROW, BookingRepository
from naver_sms.domain.booking import Booking, legacy_phone_key
from naver_sms.domain.clock import KST, Clock, SystemClock
from naver_sms.errors import LoginBlocked, RepositoryError
from naver_sms.logs import emit
from naver_sms.naver.source import BookingSource
from naver_sms.notifications.protocols import TelegramService
from naver_sms.rules.context import (
    ActionContext,
    ActionServicesBundle,
    NotificationRecord,
    RunOptions,
    SmsRecord,
)
from naver_sms.rules.engine import CompiledRule, Plan, RuleEngine
from naver_sms.rules.facts import Facts
from naver_sms.rules.report import RunError, RunReport

__all__ = ["Runtime", "build_plan", "context_factory", "decide", "legacy_summary", "new_run_id", "run_once"]

log = logging.getLogger("naver_sms.runner")

NOTHING_TO_SEND = "문자 발송 대상 없음"
RUN_FAILED = "요청중 오류 발생"
LOGIN_NEEDS_A_PERSON = "네이버 로그인에 사람의 확인이 필요합니다: naver-sms login --interactive"


@dataclass
class Runtime:
    config: AppConfig
    engine: RuleEngine
    rules: tuple[CompiledRule, ...]
    source: BookingSource
    repo: BookingRepository
    services: ActionServicesBundle
    clock: Clock
    mode: str  # sandbox | live
    lease: timedelta = timedelta(minutes=10)
    #: real time for claims and leases (tests freeze it); `clock` is the decision clock
    wall_clock: Clock = field(default_factory=SystemClock)
    summary_channel: TelegramService | None = None
    #: called with (stage, detail) as the run progresses (the CLI shows it)
    progress: Callable[[str, str], None] = field(default=lambda stage, detail: None)

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
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def context_factory(
    rt: Runtime, now: datetime, options: RunOptions, plan: Plan | None = None
) -> Callable[[CompiledRule, Facts | None, Sequence[Facts]], ActionContext]:
    """How the engine gets the immutable context of each action of one run."""
    sent_to: dict[str, set[str]] = {}
    for f in plan.facts if plan is not None else ():
        if f.record is not None:
            ids = {str(v) for k, v in f.record.extra.items() if k.endswith("_request_id") and v}
            sent_to.setdefault(f.booking.phone_digits, set()).update(ids)
    known = {phone: frozenset(ids) for phone, ids in sent_to.items()}

    def make_context(rule: CompiledRule, facts: Facts | None, group: Sequence[Facts]) -> ActionContext:
        return ActionContext(
            rule=rule.name,
            booking=facts.booking if facts else None,
            record=facts.record if facts else None,
            store=facts.store if facts else None,
            now=now,
            config=rt.config,
            services=rt.services,
            options=options,
            bookings=tuple(f.booking for f in group),
            known_request_ids=known.get(facts.booking.phone_digits, frozenset()) if facts else frozenset(),
        )

    return make_context


def decide(rt: Runtime, report: RunReport, *, only_booking: str | None = None) -> Plan:
    """Fetch, load state, evaluate: the plan of one run (steps 3-5), with what was skipped in `report`.
    Raises what the source raises when it cannot give any booking (e.g. the login needs a person)."""
    stores = list(rt.config.stores.values())
    report.stores = len(stores)
    rt.progress("fetch", f"{len(stores)} stores from {rt.source.description}")
    fetched = rt.source.fetch(stores, report.now)
    bookings = fetched.bookings
    if only_booking:
        bookings = [b for b in bookings if only_booking in (b.booking_num, b.booking_id)]
    report.bookings_fetched = len(bookings)
    report.bookings_skipped = len(fetched.skipped)
    for bad in fetched.skipped:
        report.errors.append(RunError("booking", str(bad), booking_num=getattr(bad, "booking_id", None)))
    for store_id, why in fetched.failed_stores.items():
        report.errors.append(RunError("store", why, store_id=store_id))
    rt.progress("decide", f"{len(bookings)} bookings x {len(rt.rules)} rules")
    return build_plan(rt, report, bookings)


def build_plan(rt: Runtime, report: RunReport, bookings: Sequence[Booking]) -> Plan:
    """Load the records of `bookings` in batches and evaluate every rule: no side effects."""
    keys = [(b.booking_num, b.phone) for b in bookings]
    # rows the legacy job wrote for 10-digit and 02 numbers have another key (legacy_phone_key): read both
    old_keys = {b.booking_num: old for b in bookings if (old := legacy_phone_key(b.phone_digits)) != b.phone}
    loaded = rt.repo.load(keys + [(num, old) for num, old in old_keys.items()])
    report.read_calls += loaded.read_calls
    facts = []
    unread: list[RunError] = []
    lease_now = rt.wall_clock()
    for booking in bookings:
        key = (booking.booking_num, booking.phone)
        if key not in loaded.records and key not in loaded.errors and booking.booking_num in old_keys:
            old_key = (booking.booking_num, old_keys[booking.booking_num])
            if old_key in loaded.records or old_key in loaded.errors:
                booking, key = replace(booking, phone=old_key[1]), old_key  # keep writing to the row it has
        if key in loaded.errors:  # a read error is never "not in the database" (legacy-behaviour.md §7)
            unread.append(
                RunError(
                    "record_read",
                    loaded.errors[key],
                    booking_num=booking.booking_num,
                    store_id=booking.store_id,
                )
            )
            continue
        facts.append(
            Facts(
                booking,
                loaded.records.get(key),
                report.now,
                rt.config.store(booking.store_id),
                rt.config.option_keywords,
                lease_now,
            )
        )
    if unread and not facts and not any(e.message.startswith(UNREADABLE_ROW) for e in unread):
        # not one row could be read, and not for damaged rows: the state store itself is down or misnamed
        raise RepositoryError(
            f"the state store could not be read for any of the {len(unread)} bookings: {unread[0].message}"
        )
    report.errors.extend(unread)
    return rt.engine.evaluate(rt.rules, facts)


def run_once(
    rt: Runtime, *, dry_run: bool = False, run_id: str | None = None, only_booking: str | None = None
) -> RunReport:
    """One whole run. Never raises for a booking, a store or an action; `report.failed` says when the run
    itself failed (the source as a whole, the state store)."""
    run_id = run_id or new_run_id()
    now = rt.clock().astimezone(KST)  # decisions are in Korean wall-clock time, whatever clock was given
    report = RunReport(
        run_id=run_id,
        now=now,
        started_at=datetime.now(UTC),
        mode=rt.mode,
        source=rt.source.description,
        dry_run=dry_run,
        warnings=list(rt.config.warnings),
    )
    options = RunOptions(run_id=run_id, lease=rt.lease, dry_run=dry_run, wall_clock=rt.wall_clock)
    try:
        plan = decide(rt, report, only_booking=only_booking)
        make_context = context_factory(rt, now, options, plan)

        rt.progress("act", "dry run: nothing is sent or written" if dry_run else rt.mode)
        if dry_run:
            rt.engine.preview(plan, make_context, report)
        else:
            rt.engine.execute(plan, make_context, report)
        _report_failed_flags(plan, report)
    except Exception as exc:  # the run itself failed: report it, send the legacy failure line
        report.failed = f"{type(exc).__name__}: {exc}"
        emit(log, logging.ERROR, "run_failed", run_id=run_id, error=report.failed)
        if isinstance(exc, LoginBlocked):  # a person must act: say so where the owner looks
            report.summary = f"{RUN_FAILED}\n{LOGIN_NEEDS_A_PERSON}\n{exc}"
    if not report.summary:
        report.summary = RUN_FAILED if report.failed else legacy_summary(report.sms)
    if not dry_run and rt.summary_channel is not None:
        _send_summary(rt.summary_channel, report)
    report.finished_at = datetime.now(UTC)
    emit(
        log,
        logging.INFO,
        "run_finished",
        run_id=run_id,
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
    seen: set[str] = set()
    for per_booking in plan.evaluations:
        record = per_booking[0].facts.record if per_booking else None
        if record is None:
            continue
        facts = per_booking[0].facts
        if facts.booking.booking_num in seen:
            continue
        seen.add(facts.booking.booking_num)
        item = record.to_item()
        for key, value in item.items():
            if not key.endswith("_failed") or value is not True:
                continue
            flag = key[: -len("_failed")]
            if f"{flag}_attempts" not in item:  # not a flag's bookkeeping (a custom attribute)
                continue
            if (facts.booking.booking_num, flag) in reported or item.get(flag) is True:
                continue
            report.errors.append(
                RunError(
                    "flag_failed",
                    f"{flag} failed for good after {item.get(flag + '_attempts', '?')} attempts: "
                    f"{item.get(flag + '_last_error', '')} (reset: naver-sms db reset {facts.booking.booking_num} {flag})",
                    booking_num=facts.booking.booking_num,
                    store_id=facts.booking.store_id,
                )
            )


def legacy_summary(sms: Sequence[SmsRecord]) -> str:
    """The legacy Telegram summary (legacy-behaviour.md §6): one line per SMS, in decision order."""
    lines = []
    for record in sms:
        label = record.label or record.template
        if record.status in ("sent", "outbox", "reconciled"):
            lines.append(f"{record.phone} {label} 문자 발송 완료")
        elif record.status == "failed":
            lines.append(f"{record.phone} {label} 문자 발송 실패")
        elif record.status == "unknown":  # SENS took it and did not answer: the next runs find out
            lines.append(f"{record.phone} {label} 문자 발송 확인중")
    return "\n".join(lines) if lines else NOTHING_TO_SEND


def _send_summary(channel: TelegramService, report: RunReport) -> None:
    try:
        receipt = channel.send_message(report.summary)
    except Exception as exc:
        report.errors.append(RunError("summary", f"telegram summary not sent: {exc}"))
        return
    report.notifications.append(NotificationRecord("telegram", report.summary, receipt.status, "(summary)"))
