"""The rule engine: registries of condition and action types, evaluation into a plan, and the walk that executes
- or previews - the plan's actions. It knows no action and no condition by name.

    engine = RuleEngine()                       # built-in conditions registered
    register_actions(engine)                    # rules.actions: every built-in action
    rules = engine.compile(config)              # rules.compile: ConfigErrors with file:line, rule, field
    plan = engine.evaluate(rules, facts)        # rules.plan: no side effects
    engine.execute(plan, scope, report)         # the actions, with contexts made from the run's scope
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence

from naver_sms.config.models import AppConfig
from naver_sms.domain.privacy import mask_text
from naver_sms.rules.compile import compile_rules
from naver_sms.rules.conditions import CONDITIONS, ConditionType
from naver_sms.rules.context import ActionContext, ActionResult, RunScope
from naver_sms.rules.exceptions import ActionExecutionError
from naver_sms.rules.facts import Facts
from naver_sms.rules.order import in_decision_order
from naver_sms.rules.plan import CompiledRule, Evaluation, Plan
from naver_sms.rules.report import Deferral, RunError, RunReport
from naver_sms.rules.types import ActionType
from naver_sms.rules.walk import walk

log = logging.getLogger("naver_sms.engine")


class RuleEngine:
    def __init__(self) -> None:
        self.conditions: dict[str, ConditionType] = {}
        self.actions: dict[str, ActionType] = {}
        for ctype in CONDITIONS:
            self.register_condition(ctype)

    def register_condition(self, ctype: ConditionType) -> None:
        if ctype.name in self.conditions:
            raise ValueError(f"condition type {ctype.name!r} is registered already")
        self.conditions[ctype.name] = ctype

    def register_action(self, atype: ActionType) -> None:
        if atype.name in self.actions:
            raise ValueError(f"action type {atype.name!r} is registered already")
        self.actions[atype.name] = atype

    def compile(self, config: AppConfig) -> tuple[CompiledRule, ...]:
        """Validate and compile the rules of `config`. Raises `ConfigErrors` listing every problem."""
        return compile_rules(config, self.conditions, self.actions)

    def evaluate(self, rules: Sequence[CompiledRule], facts: Iterable[Facts]) -> Plan:
        """Every enabled rule against every booking, in the decision order (`rules.order`: confirmed
        bookings first, then completed ones, as the legacy job decided)."""
        enabled = tuple(r for r in rules if r.enabled)
        plan = Plan(rules=enabled)
        append = plan.evaluations.append
        for f in in_decision_order(facts):
            plan.facts.append(f)
            append([Evaluation(rule, f, rule.first_failure(f)) for rule in enabled])
        return plan

    def execute(self, plan: Plan, scope: RunScope, report: RunReport) -> None:
        """Run the actions of every match: per booking, rules in order; then each digest rule once (a digest
        with `once_per`: once in its period, rules.periodic). Bookings are acted on in parallel
        (`scope.workers`, naver_sms.rules.walk); the report keeps the decision order. A failing action is
        wrapped in `ActionExecutionError`, logged and counted, and ends its rule for that booking (the engine
        goes on); so does `skipped` or `disabled`, quietly (nothing went out), or `deferred` (the run's
        deadline is near: the next run decides)."""
        walk(plan, scope, report, _run_actions, workers=scope.workers, preview=False)

    def preview(self, plan: Plan, scope: RunScope, report: RunReport) -> None:
        """What `execute` would do, without doing it (dry runs, `naver-sms plan`)."""
        walk(plan, scope, report, _preview_actions, preview=True)


def _preview_actions(rule: CompiledRule, ctx: ActionContext, report: RunReport) -> str | None:
    """What `_run_actions` would do, from the actions' previews: the same statuses (`planned`, `disabled`,
    `skipped`, `failed`), and the rule stops where the run's would. A preview returns None (`Act`)."""
    for action in rule.actions:
        if action.atype.preview is None:
            report.actions[(rule.name, action.name, "planned")] += 1
            continue
        try:
            result = action.atype.preview(ctx, action.params)
        except Exception as exc:  # e.g. a text over the limit: show it, as execute would fail
            report.actions[(rule.name, action.name, "failed")] += 1
            cause = _record_partial(report, exc)
            report.errors.append(
                RunError(
                    "action",
                    f"{action.name}: {cause}",
                    rule=rule.name,
                    action=action.name,
                    booking_num=ctx.subject,
                    store_id=ctx.store.id if ctx.store else None,
                )
            )
            return None  # as in a real run, the rule's later actions would not run
        report.actions[(rule.name, action.name, result.status)] += 1
        _record(report, result)
        if result.status in ("skipped", "disabled"):  # as in a real run: nothing went out, the rule ends
            return None
    return None


def _run_actions(rule: CompiledRule, ctx: ActionContext, report: RunReport) -> str:
    for action in rule.actions:
        try:
            result = action.atype.execute(ctx, action.params)
        except Exception as exc:
            err = exc if isinstance(exc, ActionExecutionError) else _wrapped(action.name, ctx, exc)
            report.actions[(rule.name, action.name, "failed")] += 1
            _record_partial(report, err)
            report.errors.append(
                RunError(
                    "action",
                    # a provider's answer may echo the customer's name: never in the report
                    mask_text(str(err.original_error), [b.name for b in ctx.targets]),
                    rule=rule.name,
                    action=action.name,
                    booking_num=ctx.subject,
                    store_id=ctx.store.id if ctx.store else None,
                )
            )
            log.error(
                json.dumps(
                    {
                        "event": "action_failed",
                        "rule": rule.name,
                        "action": action.name,
                        "booking_id": ctx.subject,
                        "error_type": type(err.original_error).__name__,
                        "skipped_actions": [a.name for a in rule.actions[action.index + 1 :]],
                    },
                    ensure_ascii=False,
                )
            )
            if getattr(err.original_error, "stops_run", False):  # e.g. credentials refused: the run fails
                raise err.original_error from None
            return "failed"
        report.actions[(rule.name, action.name, result.status)] += 1
        _record(report, result)
        if result.status == "deferred":  # not claimed: the run's deadline is near; the next run decides
            report.deferred.extend(Deferral(rule.name, b.booking_num) for b in ctx.targets)
            return "deferred"
        if result.status in (
            "skipped",
            "disabled",
            "suppressed",
        ):  # what follows (an update_flag) must not run
            return result.status
    return "ok"


def _wrapped(name: str, ctx: ActionContext, exc: Exception) -> ActionExecutionError:
    wrapped = ActionExecutionError(name, ctx.subject, exc, {"rule": ctx.rule})
    wrapped.__cause__ = exc
    return wrapped


def _record_partial(report: RunReport, exc: Exception) -> BaseException:
    """Record what a failing action did before it failed (e.g. the failed SMS); returns the cause."""
    if not isinstance(exc, ActionExecutionError):
        return exc
    if exc.partial is not None:
        _record(report, exc.partial)
    return exc.original_error


def _record(report: RunReport, result: ActionResult) -> None:
    report.sms.extend(result.sms)
    report.flags.extend(result.flags)
    report.notifications.extend(result.notifications)
