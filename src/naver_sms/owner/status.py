"""The one screen to look at when something seems wrong (`naver-sms status`, the console's first page): the
last run (when, ok or not, what it sent), the next run, the sends waiting for a retry or failed for good (with
the reset), the Naver login (the cookies' age, a pause), the configuration's version, the daily report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from naver_sms.config.models import AppConfig
from naver_sms.config.reports import DailyReport
from naver_sms.domain.clock import KST
from naver_sms.domain.period import Period
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.periods import period_state
from naver_sms.owner.ledger import Entry, ledger
from naver_sms.ports import RunLog, RunRecord, SessionRepository
from naver_sms.rules.plan import CompiledRule


class StateView(Protocol):
    """What the owner's view reads of the state (the composition root's `wiring.State` is one)."""

    repo: FlagRepository
    sessions: SessionRepository
    periods: FlagRepository
    runs: RunLog
    description: str


#: the runs' schedule (serve, and the Lambda's cron(0/20 * * * ? *))
EVERY = timedelta(minutes=20)
DAILY_REPORT = "daily_report"


def next_run(now: datetime) -> datetime:
    """The next run after `now`: at :00, :20 or :40, Korean time."""
    now = now.astimezone(KST).replace(second=0, microsecond=0)
    return now + timedelta(minutes=20 - now.minute % 20)


@dataclass
class Status:
    now: datetime
    state: str
    last_run: RunRecord | None
    next_run: datetime
    waiting: list[Entry]
    failed: list[Entry]
    login: dict[str, Any]
    config: dict[str, Any]
    daily_report: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "state": self.state,
            "last_run": dict(self.last_run.summary) if self.last_run else None,
            "next_run": self.next_run.isoformat(),
            "waiting": [e.to_json() for e in self.waiting],
            "failed": [
                {**e.to_json(), "reset": f"naver-sms db reset {e.booking_num} {e.flag}"} for e in self.failed
            ],
            "login": self.login,
            "config": self.config,
            "daily_report": self.daily_report,
            "problems": self.problems,
        }


def _login(state: StateView, now: datetime) -> dict[str, Any]:
    saved = state.sessions.cookies_saved_at()
    cookies = state.sessions.load_cookies()
    pause = state.sessions.load_login_pause()
    paused = pause is not None and pause.until > now
    return {
        "cookies": len(cookies) if cookies is not None else 0,
        "cookies_saved_at": saved.astimezone(KST).isoformat() if saved else None,
        "cookies_age_hours": round((now - saved).total_seconds() / 3600, 1) if saved else None,
        "paused": paused,
        "paused_until": pause.until.astimezone(KST).isoformat() if pause and paused else None,
        "pause_reason": pause.reason if pause and paused else None,
        "fix": "naver-sms login --interactive" if paused else None,
    }


def daily_report_key(channel: str) -> str:
    """The period claim of the daily report on one channel (`owner.after` posts each channel on its own)."""
    return f"{DAILY_REPORT}:{channel}"


def _daily_report(state: StateView, daily: DailyReport, period: Period, now: datetime) -> dict[str, Any]:
    """The daily report of the period: each configured channel's state, and `status` the least advanced one
    (`done` once every channel is posted, `off` when no channel is on)."""
    channels: dict[str, dict[str, Any]] = {}
    for name, on in (("telegram", daily.telegram), ("slack", daily.slack)):
        if on:
            done = period_state(state.periods, daily_report_key(name), period, now)
            channels[name] = {"status": done.status, "sent_at": done.sent_at}
    states = [c["status"] for c in channels.values()]
    overall = next((s for s in states if s != "done"), "done") if states else "off"
    sent = [c["sent_at"] for c in channels.values() if c["sent_at"]]
    return {
        "at": daily.at,
        "period": period.key,
        "status": overall,
        "sent_at": max(sent) if sent and overall == "done" else None,
        "channels": channels,
        "next": period.end.isoformat(),
    }


def status(
    state: StateView,
    config: AppConfig | None,
    rules: tuple[CompiledRule, ...],
    now: datetime,
    *,
    config_dir: Any,
    version: str,
    location: str | None = None,
) -> Status:
    """Everything `naver-sms status` shows, read at real time `now` (no write); `version` is the
    configuration's as the runs name it (`naver_sms.config_source.local_version` of a directory)."""
    now = now.astimezone(KST)
    problems: list[str] = []
    last = state.runs.last()
    entries = ledger(state.repo.records(), config, rules, now)
    login = _login(state, now)
    last_version = last.summary.get("config_version") if last else None
    result = Status(
        now=now,
        state=state.description,
        last_run=last,
        next_run=next_run(now),
        waiting=[e for e in entries if e.status in ("retrying", "sending", "unknown")],
        failed=[e for e in entries if e.status == "failed"],
        login=login,
        config={
            "location": location or str(config_dir),
            "valid": config is not None,
            "version": version,
            "last_run_version": last_version,
            "changed_since_last_run": bool(last_version and last_version != version),
        },
    )
    if last is None:
        problems.append("no run recorded yet")
    elif not last.summary.get("ok", True):
        problems.append(f"the last run failed: {last.summary.get('failed')}")
    if config is None:
        problems.append("the configuration is invalid: naver-sms rules check")
    if result.failed:
        problems.append(f"{len(result.failed)} send(s) failed for good: reset each after fixing the cause")
    if login["paused"]:
        problems.append(f"Naver logins are paused until {login['paused_until']}: {login['fix']}")
    daily = config.reports.daily_report if config is not None else None
    if daily is not None:
        period = daily.period.period_at(now)
        try:
            result.daily_report = _daily_report(state, daily, period, now)
        except Exception as exc:  # the period store: shown, never fatal for the screen
            problems.append(f"daily report: {exc}")
    result.problems = problems
    return result
