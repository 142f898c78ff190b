"""What happens after every run that acted (`Runtime.after_run`, set by the composition root): the daily report
when it is due, then the run recorded in the run log (with the report's notifications and errors).

The daily report is due in every run from its time (reports.yaml `daily_report.at`, e.g. 21:00) to the end of
that day, until it is posted: each channel (Telegram, Slack) is claimed on its own period key, so it is posted once per
day exactly - overlapping runs post nothing, a failed post is retried by the next run of the period and
bounded (the period claim of `naver_sms.flags.periods`). Its tomorrow's forecast reuses the bookings the run
fetched (their rows read again), and the SMS provider is asked what became of the day's SMS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from naver_sms.config.reports import DailyReport
from naver_sms.domain.clock import KST
from naver_sms.domain.period import Period
from naver_sms.errors import FlagFailedForGood
from naver_sms.flags.effect import Done, NotTried
from naver_sms.flags.machine import Claim
from naver_sms.flags.periods import once_in_period, period_state
from naver_sms.logs import emit
from naver_sms.owner.daily import DayReport, check_deliveries, day_report, render_report
from naver_sms.owner.publish import Publisher
from naver_sms.owner.runlog import summarise
from naver_sms.owner.status import StateView, daily_report_key
from naver_sms.owner.upcoming import forecast
from naver_sms.ports import ChannelReceipt, DeliveryLookup, RunRecord
from naver_sms.rules.context import NotificationRecord
from naver_sms.rules.plan import Plan
from naver_sms.rules.report import RunError, RunReport
from naver_sms.runner import Runtime

log = logging.getLogger("naver_sms.owner")

RULE = "(daily report)"
Channel = Literal["telegram", "slack"]


@dataclass
class AfterRun:
    """The hook: `state` (the run log, the period claims), and where the report's page goes."""

    state: StateView
    publisher: Publisher | None = None

    def __call__(self, rt: Runtime, report: RunReport, plan: Plan | None) -> None:
        try:
            daily = rt.config.reports.daily_report
            if daily is not None and report.ok:
                post_daily_report(rt, report, plan, self.state, daily, self.publisher)
        finally:
            self.state.runs.record(summarise(report, rt.config, version=rt.config_version))


def build_day(
    rt: Runtime,
    state: StateView,
    daily: DailyReport,
    plan: Plan | None,
    publisher: Publisher | None,
    current: RunRecord | None = None,
) -> tuple[DayReport, list[RunError]]:
    """The report of the day its period covers, with tomorrow's forecast, the delivery results and the page."""
    now = rt.clock().astimezone(KST)
    period = daily.period.period_at(now)
    day = period.start.date() - (timedelta(days=1) if daily.covers == "yesterday" else timedelta())
    problems: list[RunError] = []
    data = day_report(state.runs, rt.config, day, now, current=current)
    try:
        # a run's plan keeps only the bookings a rule matched (issue 12): then the forecast fetches its own
        bookings = [f.booking for f in plan.facts] if plan is not None and plan.complete else None
        ahead = forecast(rt, day + timedelta(days=1), bookings=bookings, since=now + timedelta(seconds=1))
        data.tomorrow = [p for p in ahead.planned if p.channel == "sms" and not p.blocked]
        data.forecast = True
    except Exception as exc:  # the report goes out without its forecast
        problems.append(RunError("owner", f"daily report: no forecast: {exc}"))
    service = rt.services.sms_service
    lookup = service if isinstance(service, DeliveryLookup) and service.live else None
    runs = state.runs.runs_on(day.isoformat()) + ([current] if current is not None else [])
    check_deliveries(data, runs, lookup, at_most=daily.delivery_checks)
    if daily.html and publisher is not None:
        # pygal (the charts) only for the run that posts the report, never on the handler's import path
        from naver_sms.owner.page import render_page

        try:
            page = render_page(data, state.runs, generated=f"{now:%Y-%m-%d %H:%M} KST")
            data.link = publisher.publish(f"{day.isoformat()}.html", page, hours=daily.link_hours)
        except Exception as exc:
            problems.append(RunError("owner", f"daily report: no page: {exc}"))
    return data, problems


def post_daily_report(
    rt: Runtime,
    report: RunReport,
    plan: Plan | None,
    state: StateView,
    daily: DailyReport,
    publisher: Publisher | None,
) -> None:
    """Post the daily report on each of its channels whose period is still open (see the module's docstring)."""
    real = rt.real_clock()
    now = rt.clock().astimezone(KST)
    period = daily.period.period_at(now)
    if now.date() != period.start.date():
        return  # a report is posted on its own day (from `at` to midnight): a day whose runs all missed it is skipped
    services = rt.services
    wanted: list[tuple[Channel, bool, Callable[[str], ChannelReceipt]]] = [
        (
            "telegram",
            daily.telegram,
            lambda text: services.telegram_service.send_message(text, chat_id=daily.chat),
        ),
        ("slack", daily.slack, services.slack_service.post_message),
    ]
    channels = [
        (name, send)
        for name, on, send in wanted
        if on
        and period_state(state.periods, daily_report_key(name), period, real).status in ("open", "stale")
    ]
    if not channels:
        return
    current = summarise(report, rt.config, version=rt.config_version)
    data, problems = build_day(rt, state, daily, plan, publisher, current)
    report.errors.extend(problems)
    text = render_report(data, daily)
    for name, send in channels:
        _post(rt, report, state, period, name, send, text)


def _post(
    rt: Runtime,
    report: RunReport,
    state: StateView,
    period: Period,
    name: Channel,
    send: Callable[[str], ChannelReceipt],
    text: str,
) -> None:
    """One channel's post of the daily report, once in its period."""

    def post(_: tuple[Claim, ...]) -> Done[ChannelReceipt] | NotTried[ChannelReceipt]:
        receipt = send(text)
        if receipt.status == "disabled":
            return NotTried(receipt, f"{name} is disabled")
        return Done(receipt, rt.real_clock())

    try:
        guarded = once_in_period(
            state.periods,
            daily_report_key(name),
            period,
            post,
            run_id=report.run_id,
            now=rt.real_clock(),
            lease=rt.lease,
            info={"channel": name, "rule": RULE},
        )
    except Exception as exc:  # released with the attempt counted: the next run of the period tries again
        report.errors.append(RunError("owner", f"daily report to {name} not sent: {exc}", rule=RULE))
        return
    (outcome,) = guarded.outcomes
    if isinstance(outcome.error, FlagFailedForGood):
        report.errors.append(
            RunError("flag_failed", f"the daily report of {period.key} to {name} failed for good", rule=RULE)
        )
    elif guarded.acted and guarded.value is not None:
        report.notifications.append(NotificationRecord(name, text, guarded.value.status, RULE))
        emit(log, logging.INFO, "daily_report", channel=name, period=period.key, status=guarded.value.status)
