"""What every action module shares: the parameter base, the template variables of each rule mode, and the
typed failure (`fail`) that carries what the action did before it failed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from naver_sms.domain.booking import Booking
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
