"""Digests once per period (`once_per`, `when_empty`): the rule's actions run at most once in each period, in the
first run of the period whose digest has something to post - across overlapping runs and after missed runs
(docs/rules/actions.md, "Digests once per period").

The period is claimed before the actions run (`naver_sms.flags.periods`: the guarded effect on the period's
row) and committed when they went through; a failed action releases it with the attempt counted, so a later
run of the same period posts it (bounded by max_attempts); a channel that is off, or bookings all held by
another run, release it without counting. A period in which nobody matched posts the rule's `when_empty` text
through its message actions (a text, never a per-booking claim: there is no booking), or nothing (`skip`).
The period is keyed by the decision time (Korean time, `--now`); claims and leases live in real time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from naver_sms.errors import FlagFailedForGood
from naver_sms.flags.effect import Done, NotTried
from naver_sms.flags.machine import Claim
from naver_sms.flags.periods import once_in_period, period_state
from naver_sms.rules.context import ActionContext, RunScope
from naver_sms.rules.facts import Facts
from naver_sms.rules.plan import CompiledAction, CompiledRule
from naver_sms.rules.report import RunError, RunReport

#: runs a rule's actions for one context: returns how it ended ("ok", "failed", or the status that stopped
#: it: "skipped", "disabled"); a preview returns None
Act = Callable[[CompiledRule, ActionContext, RunReport], str | None]


class _ActionFailed(Exception):
    """An action of the digest failed (recorded in the report already): the period's claim is released."""


def with_when_empty(rule: CompiledRule) -> CompiledRule:
    """The rule whose message actions post its `when_empty` text, without a per-booking flag."""

    def empty(action: CompiledAction) -> CompiledAction:
        fields = type(action.params).model_fields
        if action.atype.sends != "message" or "message" not in fields:
            return action
        update = {"message": rule.when_empty, **({"flag": None} if "flag" in fields else {})}
        return replace(action, params=action.params.model_copy(update=update))

    return replace(rule, actions=tuple(empty(a) for a in rule.actions))


def act_in_period(
    rule: CompiledRule,
    group: Sequence[Facts],
    scope: RunScope,
    report: RunReport,
    act: Act,
    *,
    preview: bool,
) -> None:
    """Run (or preview) the digest `rule` for `group` unless its period is done or held by another run."""
    assert rule.once_per is not None
    if not group and rule.when_empty is None:
        return
    period = rule.once_per.period_at(scope.now)
    where = f"digest:{rule.name}"
    repo = scope.services.periods
    if repo is None:
        report.errors.append(RunError("action", "no period store to claim once_per on", rule=rule.name))
        return
    ctx = ActionContext.of(scope, rule.name, None, tuple(group))
    acting = rule if group else with_when_empty(rule)
    if preview:
        try:
            state = period_state(repo, rule.name, period, scope.real())
        except Exception as exc:
            report.errors.append(RunError("action", f"period {period.key}: {exc}", rule=rule.name))
            return
        if state.status in ("open", "stale"):
            report.rules_matched[rule.name] += len(group)
            act(acting, ctx, report)
        return

    def once(_: tuple[Claim, ...]) -> Done[str] | NotTried[str]:
        ended = act(acting, ctx, report)
        if ended == "failed":
            raise _ActionFailed(f"an action of {rule.name} failed")
        if ended in ("skipped", "disabled"):  # nothing went out: the period stays open, no attempt counted
            return NotTried(str(ended), f"nothing posted ({ended})")
        return Done(str(ended), scope.real())

    try:
        guarded = once_in_period(
            repo,
            rule.name,
            period,
            once,
            run_id=scope.run_id,
            now=scope.real(),
            lease=scope.lease,
            info={"channel": "digest", "rule": rule.name},
        )
    except _ActionFailed:  # reported by the action; the next run of the period tries again (bounded)
        return
    except Exception as exc:  # the period's row could not be written or claimed
        report.errors.append(
            RunError("action", f"period {period.key}: {exc}", rule=rule.name, booking_num=where)
        )
        return
    (outcome,) = guarded.outcomes
    if guarded.acted:
        report.rules_matched[rule.name] += len(group)
    if isinstance(outcome.error, FlagFailedForGood):
        report.errors.append(
            RunError(
                "flag_failed",
                f"the {rule.name} digest of {period.key} failed for good: {outcome.error} "
                f"(it is tried again in the next period)",
                rule=rule.name,
                booking_num=where,
            )
        )
    elif outcome.status == "refused" and outcome.error is not None:
        report.errors.append(
            RunError("action", f"period {period.key}: {outcome.error}", rule=rule.name, booking_num=where)
        )
