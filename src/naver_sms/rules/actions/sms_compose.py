"""How `send_sms` composes its SMS: the template of the rule (or the store's own for a role), rendered in the
sandbox, its type chosen (`auto`: SMS when it fits in 90 bytes) and measured as SENS counts
(`domain.sms_text.length_problem`, the one measure the outbox and the SENS client use too) - so the run, the
dry run and `plan` refuse the same texts. What cannot be composed says why and what to change (`fix`), and
is permanent: the same data composes the same way on the next run."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from naver_sms.config.models import SmsTemplate
from naver_sms.domain.booking import Booking
from naver_sms.domain.sms_text import choose_type, length_problem
from naver_sms.errors import MessageTooLong
from naver_sms.flags.state import reset_command
from naver_sms.ports import SmsMessage
from naver_sms.rules.actions.common import need_booking
from naver_sms.rules.context import ActionContext, SmsRecord
from naver_sms.rules.templates import TemplateProblem, render


class SmsAsk(Protocol):
    """What a send asks for (`SendSmsParams`)."""

    @property
    def template(self) -> str: ...
    @property
    def store_specific(self) -> bool: ...
    @property
    def flag(self) -> str | None: ...


class _NoTemplate(LookupError):
    """The booking's store has no template for the role (or is not in stores.yaml): permanent."""

    permanent = True

    def __init__(self, message: str, fix: str) -> None:
        self.fix = fix
        super().__init__(message)


def template_for(ctx: ActionContext, p: SmsAsk) -> tuple[str, SmsTemplate]:
    name = p.template
    if p.store_specific:
        if ctx.store is None:
            store_id = ctx.booking.store_id if ctx.booking else "?"
            raise _NoTemplate(
                f"store {store_id} is not in stores.yaml", f"add store {store_id} to stores.yaml"
            )
        mapped = ctx.store.templates.get(p.template)
        if mapped is None:
            raise _NoTemplate(
                f"store {ctx.store.id} has no {p.template!r} template",
                f"add `{p.template}: <template>` to the `templates:` of store {ctx.store.id} in stores.yaml",
            )
        name = mapped
    return name, ctx.config.sms_templates[name]


class TooLong(MessageTooLong):
    """A composed text over the SENS limit, with the record of the SMS it would have been (for the report)."""

    def __init__(self, problem: str, *, fix: str, record: SmsRecord) -> None:
        super().__init__(problem, channel="sens")
        self.fix = fix
        self.record = record


def compose(ctx: ActionContext, p: SmsAsk) -> tuple[SmsMessage, SmsRecord]:
    """The message and its report record, or the reason it cannot be sent: a template that cannot render,
    no template for the role, a text over the SENS limit (`MessageTooLong`, measured as SENS counts)."""
    booking = need_booking(ctx)
    name, tpl = template_for(ctx, p)
    variables = ctx.template_vars()
    try:
        content = render(tpl.text, variables)
        subject = render(tpl.subject if tpl.subject is not None else ctx.config.subject, variables)
    except TemplateProblem as exc:
        exc.fix = f"fix template {name!r} in templates.yaml (it cannot be rendered with this booking's data)"
        raise
    message = SmsMessage(
        to=booking.phone_digits,
        sender=ctx.config.sender_for(ctx.store, p.store_specific),
        type=choose_type(content) if tpl.type == "auto" else tpl.type,
        subject=subject,
        content=content,
        content_type=tpl.content_type,
    )

    record = SmsRecord(
        to=message.to,
        sender=message.sender,
        type=message.type,
        subject=message.subject,
        content=message.content,
        store_id=booking.store_id,
        template=name,
        rule=ctx.rule,
        status="planned",
        booking_num=booking.booking_num,
        phone=booking.phone,
        label=tpl.label,
        flag=p.flag,
    )
    problem = length_problem(message.type, message.content, message.subject)
    if problem is not None:
        fix = (
            f"shorten template {name!r}, or make it `type: auto` (an LMS of up to 2,000 bytes when longer)"
            if tpl.type == "SMS"
            else f"shorten template {name!r}"
        )
        raise TooLong(problem, fix=fix, record=record)
    return message, record


def then_reset(fix: str, booking: Booking, flag: str | None) -> str:
    if flag is None:
        return fix
    return f"{fix}; then send it again with: {reset_command(booking.booking_num, flag)}"


def unbuilt(
    booking: Booking, ctx: ActionContext, p: SmsAsk, exc: BaseException, fix: str | None = None
) -> SmsRecord:
    """The report's record of an SMS whose text could not be built: failed, with what is known of it (all
    of it, for a text over the limit)."""
    if isinstance(exc, TooLong):
        return replace(exc.record, status="failed", error=f"MessageTooLong: {exc}", fix=fix)
    try:
        label = template_for(ctx, p)[1].label
    except Exception:  # the template itself is what is missing
        label = None
    return SmsRecord(
        to=booking.phone_digits,
        sender="",
        type="",
        subject="",
        content="",
        store_id=booking.store_id,
        template=p.template,
        rule=ctx.rule,
        status="failed",
        booking_num=booking.booking_num,
        phone=booking.phone,
        label=label,
        error=f"{type(exc).__name__}: {exc}",
        flag=p.flag,
        fix=fix,
    )
