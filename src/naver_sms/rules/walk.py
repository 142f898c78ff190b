"""The walk over a plan's matches: per booking, the rules in order; then each digest rule once - with the
bookings acted on in parallel (issue 12, item 2).

A booking's actions - every matched rule, in rule order - are one unit, done by one thread: its SMS go out in
the legacy order (the confirmation before the guide) and a failed action still stops only its own rule.
Units of different bookings run in a bounded pool (`RunScope.workers`, `NAVER_SMS_SEND_CONCURRENCY`), each
recording into a report of its own that is merged in decision order, so the report, the summary and
`--json` list everything exactly as a walk one booking after the other would. Every claim is made (and
durable) before its send, inside its unit; at most `workers * 4` units are in flight, so memory stays
bounded whatever the plan's size. Digest rules run after every booking, one after the other.

When the run's deadline is near (`RunScope.cutoff`), a unit that has not started is not started: its
matches are reported as deferred to the next run (`RunReport.deferred`), with nothing written - the next
run decides again. A unit already running makes no new claim either (`guarded_effect`'s cutoff).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from naver_sms.rules.context import ActionContext, RunScope
from naver_sms.rules.periodic import act_in_period
from naver_sms.rules.plan import CompiledRule, Plan
from naver_sms.rules.quiet import Hold
from naver_sms.rules.report import Deferral, RunReport

#: runs the actions of one rule for one context into a report: the real ones, or their previews
Act = Callable[[CompiledRule, ActionContext, RunReport], str | None]

#: the actions of one booking (or one digest): each matched rule with its context and its quiet-hours hold
Unit = list[tuple[CompiledRule, ActionContext, Hold | None]]

#: units submitted ahead of the one being merged, per worker
AHEAD = 4


def walk(
    plan: Plan, scope: RunScope, report: RunReport, act: Act, *, workers: int = 1, preview: bool = False
) -> None:
    """Every match of `plan` acted on (or previewed) by `act`, into `report` in decision order."""

    def run(unit: Unit) -> RunReport:
        part = report.part()
        late = scope.past_cutoff()
        for rule, ctx, hold in unit:
            part.rules_matched[rule.name] += len(ctx.targets)
            if hold is not None:  # in its rule's quiet hours: none of its actions run (rules.quiet)
                part.held.append(hold)
            elif late:
                part.deferred.extend(Deferral(rule.name, b.booking_num) for b in ctx.targets)
            else:
                act(rule, ctx, part)
        return part

    for part in _in_order(run, _booking_units(plan, scope), workers):
        report.merge(part)
    _digests(plan, scope, report, act, preview=preview)


def _booking_units(plan: Plan, scope: RunScope) -> Iterator[Unit]:
    known = plan.known_request_ids()
    for per_booking in plan.evaluations:
        unit = [
            (e.rule, ActionContext.of(scope, e.rule.name, e.facts, known=known), e.held())
            for e in per_booking
            if e.matched and e.rule.mode == "each"
        ]
        if unit:
            yield unit


def _digests(plan: Plan, scope: RunScope, report: RunReport, act: Act, *, preview: bool) -> None:
    """Each digest rule once, one after the other (a digest with `once_per`: once in its period,
    rules.periodic). A digest in its rule's quiet hours is held (its period is not claimed meanwhile)."""
    for name, group in plan.digest_groups().items():
        rule = next(r for r in plan.rules if r.name == name)
        if not group and rule.once_per is None:
            continue
        hold = rule.held(None, scope.now)
        if hold is not None:
            if group:
                report.rules_matched[name] += len(group)
                report.held.append(hold)
            continue
        if rule.once_per is not None:
            act_in_period(rule, group, scope, report, act, preview=preview)
        else:
            report.rules_matched[name] += len(group)
            act(rule, ActionContext.of(scope, rule.name, None, tuple(group)), report)


def _in_order(run: Callable[[Unit], RunReport], units: Iterable[Unit], workers: int) -> Iterator[RunReport]:
    """`run(unit)` for every unit - in a pool of `workers` threads when there are several - yielded in the
    units' order."""
    if workers <= 1:
        for unit in units:
            yield run(unit)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="naver-sms-act")
    pending: deque[Future[RunReport]] = deque()
    try:
        for unit in units:
            pending.append(pool.submit(run, unit))
            if len(pending) >= workers * AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # on an error no unit not yet started starts; those running finish their actions
        pool.shutdown(wait=True, cancel_futures=True)
