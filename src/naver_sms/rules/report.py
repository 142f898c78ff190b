"""The result of one run. Its JSON form is a public interface: keys are only added (docs/cli.md, "The run report")."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from naver_sms.rules.context import FlagChange, NotificationRecord, SmsRecord
from naver_sms.rules.quiet import Hold

REPORT_VERSION = 1


@dataclass(frozen=True, slots=True)
class RunError:
    """Something that went wrong without stopping the run."""

    kind: str  # action | booking | store | record_read | flag_failed | summary
    message: str
    rule: str | None = None
    action: str | None = None
    booking_num: str | None = None
    store_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Deferral:
    """A match whose actions this run left to the next one: its deadline was near (no new claim starts in
    the last `NAVER_SMS_DEADLINE_MARGIN_SECONDS`). Nothing is lost: the next run decides again."""

    rule: str
    booking_num: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "booking_num": self.booking_num}


@dataclass
class RunReport:
    run_id: str
    now: datetime  # the decision clock (Korean time)
    started_at: datetime  # wall clock
    mode: str  # sandbox | live
    source: str
    dry_run: bool = False
    finished_at: datetime | None = None
    failed: str | None = None  # the run itself failed: why
    bookings_fetched: int = 0
    bookings_skipped: int = 0
    stores: int = 0
    rules_matched: Counter[str] = field(default_factory=Counter)
    actions: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (rule, action, status)
    sms: list[SmsRecord] = field(default_factory=list)
    flags: list[FlagChange] = field(default_factory=list)
    notifications: list[NotificationRecord] = field(default_factory=list)
    #: matches whose rule was in its quiet hours: nothing of them was done, the next runs decide again
    held: list[Hold] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: str = ""
    read_calls: int = 0
    deferred: list[Deferral] = field(default_factory=list)
    #: the class of the error that failed the run (`LoginBlocked`, `CredentialsRefused`, ...), for metrics
    failed_type: str | None = None
    #: what identifies the configuration the run used (S3 ETags, or the files' digest)
    config_version: str | None = None
    #: the configuration given was refused (the run used the last valid one): the error
    config_invalid: str | None = None

    def part(self) -> RunReport:
        """An empty report of the same run, for one booking's actions (acted on in parallel, `merge`d in
        decision order)."""
        return RunReport(self.run_id, self.now, self.started_at, self.mode, self.source, self.dry_run)

    def merge(self, part: RunReport) -> None:
        """Add what `part` recorded (its actions, SMS, flags, messages, errors, deferrals, holds), in its order."""
        self.rules_matched.update(part.rules_matched)
        self.actions.update(part.actions)
        self.sms.extend(part.sms)
        self.flags.extend(part.flags)
        self.notifications.extend(part.notifications)
        self.errors.extend(part.errors)
        self.deferred.extend(part.deferred)
        self.held.extend(part.held)

    @property
    def duration_seconds(self) -> float:
        end = self.finished_at or self.started_at
        return round((end - self.started_at).total_seconds(), 3)

    @property
    def ok(self) -> bool:
        return self.failed is None

    def counts(self) -> dict[str, int]:
        sms = Counter(s.status for s in self.sms)
        return {
            "bookings": self.bookings_fetched,
            "bookings_skipped": self.bookings_skipped,
            "sms_sent": sms["sent"] + sms["outbox"],
            "sms_failed": sms["failed"] + sms["unknown"],
            "sms_reconciled": sms["reconciled"],
            "sms_planned": sms["planned"],
            "sms_suppressed": sms["suppressed"],
            "held": len(self.held),
            "flags_changed": len(self.flags),
            "notifications": len(self.notifications),
            "errors": len(self.errors),
            "deferred": len(self.deferred),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "run_id": self.run_id,
            "ok": self.ok,
            "failed": self.failed,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "source": self.source,
            "now": self.now.strftime("%Y-%m-%d %H:%M"),
            "started_at": self.started_at.isoformat(),
            "duration_seconds": self.duration_seconds,
            "counts": self.counts(),
            "rules": {name: {"matched": n} for name, n in sorted(self.rules_matched.items())},
            "actions": [
                {"rule": r, "action": a, "status": s, "count": n}
                for (r, a, s), n in sorted(self.actions.items())
            ],
            "sms": [s.to_json() for s in self.sms],
            "flags": [f.to_json() for f in self.flags],
            "notifications": [n.to_json() for n in self.notifications],
            "held": [h.to_json() for h in self.held],
            "errors": [e.to_json() for e in self.errors],
            "deferred": [d.to_json() for d in self.deferred],
            "warnings": list(self.warnings),
            "summary": self.summary,
            "config_version": self.config_version,
            "config_invalid": self.config_invalid,
        }
