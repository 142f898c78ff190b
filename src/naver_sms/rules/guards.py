"""Guard inference: which flag makes each send of a rule happen once, read from the actions' traits
(`ActionType.sends`, `.sets_flag`), never their names.

A send of a customer's SMS (`sends="sms"`) without its own `flag` is guarded by the rule's next
flag-setting action with `value: true` before another SMS send (messages to the owner in between are passed
over); it must be guarded, or it would send on every run. A message to the owner (`sends="message"`) without
its own `flag` is guarded by the next flag-setting action when no other send comes first and no earlier send
of the rule is guarded by that flag; otherwise it stays unguarded, as it is allowed to. Two sends of one rule
guarded by the same flag are an error: the second would never go out.

A flag-setting action with `value: true` after a send guarded by that flag writes nothing: the send committed
exactly what went out (in a digest, only the bookings it listed), and a write of its own could mark bookings
that another run holds or that were never posted.

A row-creating action (`creates_row`) right before a customer's SMS writes nothing either: the SMS's claim
creates the row with the claim, in one conditional write. A row without its claim is never left behind - a
run that dies between the two would otherwise leave a row that no longer matches "not in the database" and
whose confirmation waits for the guide's window (issue 9, item 1; docs/database.md). When the SMS is never
reached (an earlier action failed, the run's deadline), no row is written and the next run decides again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from naver_sms.rules.context import ActionContext, ActionResult
from naver_sms.rules.plan import CompiledAction
from naver_sms.rules.types import Mode


class ErrorSink(Protocol):
    def __call__(
        self,
        message: str,
        line: int | None,
        rule: str | None,
        field: str | None,
        suggestion: str | None = None,
    ) -> None: ...


def _sets_true(action: CompiledAction) -> str | None:
    """The flag a flag-setting action sets to true (None: not one, or it sets false)."""
    if action.atype.sets_flag and action.params.value:
        return str(action.params.flag)
    return None


def link_guards(
    actions: list[CompiledAction], rule: str, mode: Mode, error: ErrorSink
) -> list[CompiledAction]:
    linked = list(actions)
    guarded: set[str] = set()
    for i, action in enumerate(linked):
        field = f"actions[{action.index}]"
        sends = action.atype.sends
        if action.atype.creates_row and i + 1 < len(linked) and linked[i + 1].atype.sends == "sms":
            by_claim = replace(action.atype, execute=_created_by_its_send(action.atype.execute))
            linked[i] = CompiledAction(by_claim, action.params, action.index, action.line)
            continue
        if sends is None:
            set_flag = _sets_true(action)
            if set_flag is not None and set_flag in guarded:
                done = replace(action.atype, execute=_set_by_its_send)
                linked[i] = CompiledAction(done, action.params, action.index, action.line)
            continue
        flag: str | None = getattr(action.params, "flag", None)
        if flag is None:
            flag = _guard_of(linked[i + 1 :], sms=sends == "sms")
            if flag is None and sends == "sms":
                error(
                    f"{action.name} needs a flag, or it would send on every run: follow it with "
                    "update_flag(flag: ..., value: true) or give it `flag`",
                    line=action.line,
                    rule=rule,
                    field=field,
                )
                continue
            if flag is None or (flag in guarded and sends != "sms"):
                continue  # an unguarded message: posted each time the rule gets this far
            params = action.params.model_copy(update={"flag": flag})
            linked[i] = CompiledAction(action.atype, params, action.index, action.line)
        if flag in guarded:
            error(
                f"{flag} already guards an earlier send of this rule: this {action.name} would never "
                "go out (it finds the flag set); give it a flag of its own",
                line=action.line,
                rule=rule,
                field=f"{field}.params.flag" if getattr(action.params, "flag", None) else field,
            )
        guarded.add(flag)
    return linked


def _guard_of(following: Sequence[CompiledAction], *, sms: bool) -> str | None:
    """The flag of the next flag-setting action (value: true), unless a send comes first (for an SMS, only
    another SMS counts: messages to the owner between an SMS and its flag are common)."""
    for action in following:
        flag = _sets_true(action)
        if flag is not None:
            return flag
        if action.atype.sends == "sms" or (action.atype.sends is not None and not sms):
            return None
    return None


def _set_by_its_send(ctx: ActionContext, params: Any) -> ActionResult:
    return ActionResult(status="noop", detail=f"{params.flag} is set by the send it guards")


def _created_by_its_send(execute: Any) -> Any:
    """The executor of a row-creating action right before a customer's SMS: the SMS's claim creates the row.
    A row that is only a request note is still adopted by the action itself (`create_db_record`)."""

    def created(ctx: ActionContext, params: Any) -> ActionResult:
        if ctx.record is not None and ctx.record.request_note:
            result: ActionResult = execute(ctx, params)
            return result
        return ActionResult(status="noop", detail="the row is created with the claim of the SMS that follows")

    return created
