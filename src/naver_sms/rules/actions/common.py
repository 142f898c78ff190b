"""What every action module shares: the parameter base, the template variables of each rule mode, and the
typed failure (`fail`) that carries what the action did before it failed."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from naver_sms.domain.booking import Booking
from naver_sms.errors import FlagFailedForGood
from naver_sms.flags.effect import describe
from naver_sms.flags.state import reset_command
from naver_sms.flags.store import RecordKey
from naver_sms.rules.context import ActionContext, ActionResult
from naver_sms.rules.exceptions import ActionExecutionError
from naver_sms.rules.templates import TemplateProblem, render

#: the template variables of a per-booking rule, and of a digest rule
EACH_VARS = ("booking", "store", "now", "rule")
DIGEST_VARS = ("bookings", "count", "now", "rule", "stores", "by_store")


class ActionParams(BaseModel):
    """The parameters of an action: unknown fields refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def fail(
    name: str, ctx: ActionContext, exc: BaseException, partial: ActionResult | None = None, **data: object
) -> ActionExecutionError:
    """The failure of action `name`: the error behind it, where (rule, booking), what it was doing (`data`),
    and what it did before failing (`partial`, recorded in the report)."""
    return ActionExecutionError(name, ctx.subject, exc, {"rule": ctx.rule, **data}, partial=partial)


def need_booking(ctx: ActionContext) -> Booking:
    if ctx.booking is None:
        raise ValueError("this action needs a booking (it cannot run in a digest rule)")
    return ctx.booking


def render_message(ctx: ActionContext, name: str, message: str) -> str:
    """A message template rendered for the context; a template that cannot render fails action `name`."""
    try:
        return render(message, ctx.template_vars())
    except TemplateProblem as exc:
        raise fail(name, ctx, exc) from exc


def fix_of(exc: BaseException | None, default: str) -> str:
    """What the operator must change for `exc` (its `fix`, or that of an error it was raised from)."""
    while exc is not None:
        fix = getattr(exc, "fix", None)
        if isinstance(fix, str) and fix:
            return fix
        exc = exc.__cause__
    return default


def failed_at_once(keys: Sequence[RecordKey], flag: str, exc: BaseException, fix: str) -> FlagFailedForGood:
    """The report of a flag that failed for good at once because no retry could fix `exc`: the cause, the
    fix, and the command that sends it again after the fix (reported in this run only)."""
    commands = "; ".join(reset_command(key[0], flag) for key in keys[:3]) + (" ..." if len(keys) > 3 else "")
    return FlagFailedForGood(
        f"failed for good at once, no retry can fix it ({describe(exc)}): {fix}, then send it again with "
        f"`{commands}`",
        key=keys[0],
        flag=flag,
        permanent=True,
    )
