"""The forecast (`naver-sms upcoming`): which messages the rules will send on a day, at which run, to whom and
with which text - the compiled rules evaluated forward over the day's 20-minute runs, against the state as it
is now, in one process and one pass per run, writing nothing.

The bookings are fetched and their rows read once. Each run from the next one on is then evaluated as a run
would be (the same compiled rules, conditions and previews), and what it would do is applied to a copy of
the rows held in memory: an SMS guarded by a flag sets that flag, a flag-setting action sets its flag, an
action that writes the row creates it. So a confirmation planned at 10:00 is not planned again at 10:20, and a
digest with `once_per` is planned once in its period. A flag that failed for good is shown as blocked (its
reset command), a flag another run holds now is left to that run.

What it cannot know: bookings made, cancelled or completed after now (a booking keeps the status it has
now), and sends that will fail. The runs of the day before the asked one are evaluated too (their effects
count), but only the asked day's messages are listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from naver_sms.domain.booking import FLAG_NAMES, Booking, BookingRecord
from naver_sms.domain.clock import KST, FixedClock
from naver_sms.domain.privacy import mask_name, mask_phone
from naver_sms.domain.sms_text import euc_kr_length
from naver_sms.flags.periods import period_state
from naver_sms.flags.state import FlagState, read_flag
from naver_sms.rules.context import ActionContext, ActionResult, RunScope
from naver_sms.rules.exceptions import ActionExecutionError
from naver_sms.rules.facts import Facts
from naver_sms.rules.periodic import with_when_empty
from naver_sms.rules.plan import CompiledAction, CompiledRule
from naver_sms.rules.report import RunError
from naver_sms.runner import Runtime, build_plan, decide, new_report

#: the runs: every 20 minutes, at :00, :20 and :40 (the schedule of `serve` and of the Lambda)
EVERY = timedelta(minutes=20)
#: the furthest day a forecast goes to (each day ahead is 72 more runs)
MAX_DAYS_AHEAD = 31


@dataclass(frozen=True, slots=True)
class Planned:
    """One message a run of the day would send: a customer's SMS, or a message to the owner."""

    at: datetime  # the run, Korean time
    rule: str
    channel: str  # sms | telegram | slack
    text: str
    booking_num: str | None = None  # None: a digest
    store_id: str | None = None
    to: str | None = None  # masked
    name: str | None = None  # masked
    template: str | None = None
    type: str | None = None
    bytes: int | None = None  # EUC-KR bytes of an SMS
    #: why it will not go out although the rule matches (a flag failed for good: its reset)
    blocked: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.strftime("%Y-%m-%d %H:%M")}


@dataclass
class Forecast:
    day: date
    now: datetime
    runs: list[datetime]
    bookings: int
    planned: list[Planned] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "now": self.now.strftime("%Y-%m-%d %H:%M"),
            "runs": len(self.runs),
            "first_run": self.runs[0].strftime("%Y-%m-%d %H:%M") if self.runs else None,
            "bookings": self.bookings,
            "planned": [p.to_json() for p in self.planned],
            "errors": [e.to_json() for e in self.errors],
        }


def runs_until_end_of(day: date, now: datetime) -> list[datetime]:
    """The runs from `now` (a run at `now` itself counts) to the end of `day`, Korean time."""
    now = now.astimezone(KST)
    midnight = datetime.combine(now.date(), time(), tzinfo=KST)
    first = midnight + EVERY * ((now - midnight) // EVERY)
    if first < now:
        first += EVERY
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=KST)
    runs, at = [], first
    while at < end:
        runs.append(at)
        at += EVERY
    return runs


def forecast(
    rt: Runtime,
    day: date,
    *,
    stores: set[str] | None = None,
    bookings: Sequence[Booking] | None = None,
    since: datetime | None = None,
) -> Forecast:
    """What the rules would send on `day` (today or later), from the run at `since` (default: now) on. With
    `bookings` (those a run just fetched), nothing is fetched: only their rows are read again. Raises
    `ValueError` for a past day or one too far ahead, and what the booking source raises when it cannot give
    any booking."""
    now = (since or rt.clock()).astimezone(KST)
    if day < now.date():
        raise ValueError(f"{day} is past: `naver-sms history` shows what was sent")
    if day > now.date() + timedelta(days=MAX_DAYS_AHEAD):
        raise ValueError(f"{day} is more than {MAX_DAYS_AHEAD} days ahead")
    report = new_report(rt, "upcoming", dry_run=True)
    start = decide(rt, report, keep_all=True) if bookings is None else build_plan(rt, report, bookings)
    runs = runs_until_end_of(day, now)
    result = Forecast(day, now, [r for r in runs if r.date() == day], len(start.facts), errors=report.errors)
    sim = _Simulation(rt, {f.booking.booking_num: f.record for f in start.facts})
    enabled = [r for r in rt.rules if r.enabled]
    rows = sim.rows
    timeless = _Timeless(enabled)
    for at in runs:
        listed = result.planned if at.date() == day else None
        scope = RunScope("upcoming", rt.config, rt.services, at, FixedClock(at), rt.lease)
        groups: dict[str, list[Booking]] = {r.name: [] for r in enabled if r.mode == "digest"}
        # the engine's evaluation, inlined: only the matches are kept (72 runs x N bookings x the rules);
        # as in a run, every rule sees the row as it was before the run, and acts on the row as it is
        for f in start.facts:
            num = f.booking.booking_num
            matched = timeless.matches(f, rows[num], at)
            if not matched:
                continue
            facts = Facts(f.booking, rows[num], at, f.store, f.option_keywords, at)
            for rule in matched:
                if rule.held(num, at) is not None:  # its quiet hours: the run holds the match (rules.walk)
                    continue
                if rule.mode == "digest":
                    groups[rule.name].append(f.booking)
                else:
                    sim.run_rule(rule, ActionContext.of(scope, rule.name, facts), listed, result.errors)
        for rule in enabled:
            if rule.mode == "digest" and rule.held(None, at) is None:
                sim.run_digest(rule, tuple(groups[rule.name]), scope, listed, result.errors)
    if stores:
        result.planned = [p for p in result.planned if p.store_id is None or p.store_id in stores]
    return result


class _Watched:
    """The facts of one booking that notice whether a condition read the time (`now`, `read_at`, or a flag's
    state, whose claim is live or stale relative to it). Conditions are pure functions of their facts
    (rules/conditions.py): one that read no time gives the same answer at every run while the row is the
    same. It stands in for `Facts` field by field (tests/owner/test_upcoming.py holds the two alike)."""

    __slots__ = ("_at", "booking", "option_keywords", "record", "store", "timed")

    def __init__(self, facts: Facts, record: BookingRecord | None, at: datetime) -> None:
        self.booking, self.record, self.store = facts.booking, record, facts.store
        self.option_keywords, self._at, self.timed = facts.option_keywords, at, False

    @property
    def now(self) -> datetime:
        self.timed = True
        return self._at

    @property
    def read_at(self) -> datetime:
        self.timed = True
        return self._at

    def flag(self, name: str) -> FlagState:
        self.timed = True
        return read_flag(self.record, name, self._at)


class _Timeless:
    """Each rule evaluated against each booking, the answers that read no time kept while the row stays the
    same object (a run that changes a row gives it a new one): most rules of most bookings are settled
    (a row exists, a flag is set) and need not be asked again at every one of the day's runs."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = rules
        self.known: dict[str, tuple[BookingRecord | None, list[bool | None]]] = {}

    def matches(self, f: Facts, record: BookingRecord | None, at: datetime) -> list[CompiledRule]:
        num = f.booking.booking_num
        kept = self.known.get(num)
        if kept is None or kept[0] is not record:
            kept = (record, [None] * len(self.rules))
            self.known[num] = kept
        answers = kept[1]
        found = []
        for i, rule in enumerate(self.rules):
            answer = answers[i]
            if answer is None:
                watched = _Watched(f, record, at)
                answer = rule.first_failure(cast(Facts, watched)) is None  # the status gate too
                if not watched.timed:
                    answers[i] = answer
            if answer:
                found.append(rule)
        return found


def _with_flag(row: BookingRecord, flag: str, value: bool) -> BookingRecord:
    if flag == "confirm_sms":
        return replace(row, confirm_sms=value)
    if flag == "remind_sms":
        return replace(row, remind_sms=value)
    if flag == "option_sms":
        return replace(row, option_sms=value)
    assert flag not in FLAG_NAMES
    return replace(row, extra={**row.extra, flag: value})


class _Simulation:
    """The rows as the runs so far would leave them, and the periods they would have posted."""

    def __init__(self, rt: Runtime, rows: dict[str, BookingRecord | None]) -> None:
        self.rt = rt
        self.rows = rows
        self.posted: set[tuple[str, str]] = set()

    def _row(self, b: Booking) -> BookingRecord:
        return self.rows.get(b.booking_num) or BookingRecord.for_booking(b)

    def _set(self, b: Booking, flag: str, value: bool = True) -> None:
        self.rows[b.booking_num] = _with_flag(self._row(b), flag, value)

    def run_rule(
        self, rule: CompiledRule, ctx: ActionContext, out: list[Planned] | None, errors: list[RunError]
    ) -> None:
        """One rule's actions for one context, as a run would do them: stops where a run would stop."""
        for action in rule.actions:
            flag = getattr(action.params, "flag", None) if action.atype.sends else None
            if flag is not None:
                guarded, blocked = self._guard(ctx, flag, rule, out)
                if guarded is None or blocked:
                    return
                ctx = guarded
            result = self._preview(rule, action, ctx, out, errors)
            if result is None:
                return
            for b in ctx.targets:
                if flag is not None:
                    self._set(b, flag)
                elif action.atype.writes_row or action.atype.sets_flag:
                    self.rows[b.booking_num] = self._row(b)
            for change in result.flags:
                target = next((b for b in ctx.targets if b.booking_num == change.booking_num), None)
                if target is not None:
                    self._set(target, change.flag, change.value)
            if result.status in ("skipped", "disabled"):
                return

    def run_digest(
        self,
        rule: CompiledRule,
        group: tuple[Booking, ...],
        scope: RunScope,
        out: list[Planned] | None,
        errors: list[RunError],
    ) -> None:
        if rule.once_per is None:
            if group:
                self.run_rule(rule, ActionContext(rule.name, None, None, None, scope, group), out, errors)
            return
        if not group and rule.when_empty is None:
            return
        period = rule.once_per.period_at(scope.now)
        if (rule.name, period.key) in self.posted:
            return
        if self.rt.services.periods is not None:
            try:
                state = period_state(self.rt.services.periods, rule.name, period, self.rt.real_clock())
            except Exception as exc:
                errors.append(RunError("action", f"period {period.key}: {exc}", rule=rule.name))
                return
            if state.status not in ("open", "stale"):
                return
        self.posted.add((rule.name, period.key))
        acting = rule if group else with_when_empty(rule)
        self.run_rule(acting, ActionContext(rule.name, None, None, None, scope, group), out, errors)

    def _guard(
        self, ctx: ActionContext, flag: str, rule: CompiledRule, out: list[Planned] | None
    ) -> tuple[ActionContext | None, bool]:
        """The context left once `flag` is claimed: None when nothing is left (done, or held by another run
        now); blocked when the flag failed for good (shown, with its reset)."""
        at = ctx.now
        open_ = []
        for b in ctx.targets:
            state = read_flag(self.rows.get(b.booking_num), flag, at)
            if state.status == "failed":
                if out is not None and ctx.booking is not None:
                    reset = f"naver-sms db reset {b.booking_num} {flag}"
                    out.append(self._blocked(rule, ctx, f"{flag} failed for good (reset: {reset})"))
                if ctx.booking is not None:
                    return None, True
            elif state.status in ("open", "stale"):  # claimed: another run holds it at that time
                open_.append(b)
        if not open_:
            return None, False
        return (ctx if ctx.booking is not None else replace(ctx, bookings=tuple(open_))), False

    def _blocked(self, rule: CompiledRule, ctx: ActionContext, why: str) -> Planned:
        b = ctx.booking
        assert b is not None
        return Planned(
            ctx.now,
            rule.name,
            "sms",
            "",
            b.booking_num,
            b.store_id,
            mask_phone(b.phone),
            mask_name(b.name),
            blocked=why,
        )

    def _preview(
        self,
        rule: CompiledRule,
        action: CompiledAction,
        ctx: ActionContext,
        out: list[Planned] | None,
        errors: list[RunError],
    ) -> ActionResult | None:
        if action.atype.preview is None:
            return ActionResult(status="planned")
        try:
            result = action.atype.preview(ctx, action.params)
        except Exception as exc:  # a text that cannot be built: the run would fail it (and count an attempt)
            cause = exc.original_error if isinstance(exc, ActionExecutionError) else exc
            if out is not None:
                errors.append(
                    RunError(
                        "action",
                        f"{action.name}: {cause}",
                        rule=rule.name,
                        action=action.name,
                        booking_num=ctx.subject,
                    )
                )
            return None
        if out is not None:
            b = ctx.booking
            for s in result.sms:
                out.append(
                    Planned(
                        ctx.now,
                        rule.name,
                        "sms",
                        s.content,
                        s.booking_num,
                        s.store_id,
                        mask_phone(s.phone),
                        mask_name(b.name) if b else None,
                        s.template,
                        s.type,
                        euc_kr_length(s.content),
                    )
                )
            for n in result.notifications:
                if n.channel != "log":
                    out.append(
                        Planned(
                            ctx.now,
                            rule.name,
                            n.channel,
                            n.text,
                            n.booking_num,
                            b.store_id if b else None,
                            mask_phone(b.phone) if b else None,
                            mask_name(b.name) if b else None,
                        )
                    )
        return result
