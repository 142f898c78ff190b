"""Messages to the owner - `send_telegram`, `send_slack` (with a flag, once per booking) - and `log_event`; each
runs per booking or once for a digest's `bookings`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from naver_sms.config.models import AppConfig
from naver_sms.domain.booking import Booking, BookingRecord
from naver_sms.domain.privacy import mask_text
from naver_sms.errors import FlagFailedForGood
from naver_sms.flags.effect import Done, NotTried, guarded_effect, is_permanent
from naver_sms.flags.machine import Claim, Seen
from naver_sms.flags.store import RecordKey
from naver_sms.logs import emit
from naver_sms.rules.actions.common import (
    DIGEST_VARS,
    EACH_VARS,
    ActionParams,
    fail,
    failed_at_once,
    fix_of,
    render_message,
)
from naver_sms.rules.conditions import FlagName
from naver_sms.rules.context import ActionContext, ActionResult, FlagChange, NotificationRecord
from naver_sms.rules.templates import TemplateProblem, check_template, render
from naver_sms.rules.types import ActionType, Executor, Mode, Problem


class MessageParams(ActionParams):
    message: str = Field(min_length=1)
    #: claimed on each booking before posting and set after it (overlapping runs never post a booking
    #: twice); filled from the rule's next update_flag when absent, like send_sms's
    flag: FlagName | None = None


class TelegramParams(MessageParams):
    #: a chat of its own (a chat id, or `@channel`); default: the configured chat (NAVER_SMS_TELEGRAM_CHAT_ID)
    chat: str | None = Field(default=None, pattern=r"^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$")


class LogEventParams(ActionParams):
    message: str = ""
    status: str = "info"
    action: str = "log_event"
    level: Literal["debug", "info", "warning", "error"] = "info"


def send_telegram(ctx: ActionContext, p: MessageParams) -> ActionResult:
    """Post a templated message to the configured Telegram chat (plain text); with a flag, once per booking."""
    if p.flag is not None and ctx.services.telegram_service.enabled:
        return _post_once(ctx, "send_telegram", p.flag, lambda listed: _post(listed, p, "telegram"))
    return _post(ctx, p, "telegram")


def send_slack(ctx: ActionContext, p: MessageParams) -> ActionResult:
    """Post a templated message to the Slack webhook; when Slack is off nothing is posted or claimed, and the
    message is reported as `disabled` (its flag stays open: the message is due until Slack is on)."""
    if not ctx.services.slack_service.enabled:
        return _disabled(ctx, "slack", render_message(ctx, "send_slack", p.message))
    if p.flag is not None:
        return _post_once(ctx, "send_slack", p.flag, lambda listed: _post(listed, p, "slack"))
    return _post(ctx, p, "slack")


def _post(ctx: ActionContext, p: MessageParams, channel: Literal["telegram", "slack"]) -> ActionResult:
    name = f"send_{channel}"
    text = render_message(ctx, name, p.message)
    services = ctx.services
    try:
        if channel == "telegram":
            chat = getattr(p, "chat", None)  # TelegramParams has one: a digest's own chat
            receipt = services.telegram_service.send_message(text, chat_id=chat)
        else:
            receipt = services.slack_service.post_message(text)
    except Exception as exc:
        raise fail(name, ctx, exc) from exc
    note = NotificationRecord(
        channel, text, receipt.status, ctx.rule, ctx.booking.booking_num if ctx.booking else None
    )
    if receipt.status == "disabled":
        return ActionResult(status="disabled", notifications=(note,), detail=f"{channel} is disabled")
    return ActionResult(notifications=(note,))


def _post_once(
    ctx: ActionContext, name: str, flag: str, post: Callable[[ActionContext], ActionResult]
) -> ActionResult:
    """Post about each booking at most once per flag (the guarded effect): only the bookings this run claimed
    are posted - a digest lists just them - and committed after the post; none left -> `skipped`. A run that
    dies between posting and committing gets them posted again after the lease: a message to the owner is at
    least once, where a customer's SMS is exactly once."""
    by_key: dict[RecordKey, Booking] = {}
    problems: list[str] = []
    for booking in ctx.targets:
        by_key.setdefault((booking.booking_num, booking.phone), booking)
    # a flag needs its row: a missing one is created with the claim (a digest's rows were not seen by the
    # context, so each may or may not exist: the claim's write tells)
    create = {
        key: BookingRecord.for_booking(b)
        for key, b in by_key.items()
        if ctx.booking is None or ctx.record is None
    }
    seen = {key: Seen(ctx.record) for key in by_key} if ctx.booking is not None else None

    def act(claims: tuple[Claim, ...]) -> Done[ActionResult] | NotTried[ActionResult]:
        listed = (
            ctx if ctx.booking is not None else replace(ctx, bookings=tuple(by_key[c.key] for c in claims))
        )
        result = post(listed)
        if result.status == "disabled":  # nothing went out, nothing was tried: no attempt counted
            return NotTried(result, "the channel is disabled")
        return Done(result, ctx.scope.real())

    try:
        guarded = guarded_effect(
            ctx.services.db_repo,
            list(by_key),
            flag,
            act,
            run_id=ctx.scope.run_id,
            now=ctx.scope.real(),
            lease=ctx.scope.lease,
            info={"channel": name.removeprefix("send_"), "rule": ctx.rule, "action": name},
            seen=seen,
            create=create,
            cutoff=ctx.scope.cutoff,
        )
    except Exception as exc:
        if not is_permanent(exc):
            raise
        # a message that cannot be rendered with these bookings' data: their flags failed for good at once
        fix = fix_of(exc, f"fix the message of rule {ctx.rule!r} in rules.yaml")
        raise fail(name, ctx, failed_at_once(list(by_key), flag, exc, fix), flag=flag) from exc
    committed: list[FlagChange] = []
    unmarked: list[str] = []
    for outcome in guarded.outcomes:
        booking = by_key[outcome.key]
        if outcome.status == "refused" and not isinstance(outcome.error, FlagFailedForGood):
            problems.append(f"{booking.booking_num}: {outcome.error}")
        elif outcome.status == "uncommitted":  # posted, but not marked: after the lease, posted again
            unmarked.append(f"{booking.booking_num}: posted, but {flag} not set: {outcome.error}")
        elif outcome.status == "done":
            committed.append(FlagChange(booking.booking_num, booking.phone, flag, True, ctx.rule, "commit"))
    if not guarded.acted or guarded.value is None:
        if problems:
            raise fail(name, ctx, RuntimeError("; ".join(problems)), flag=flag)
        if any(o.status == "deferred" for o in guarded.outcomes):  # the run's deadline is near
            return ActionResult(status="deferred", detail="the run's deadline is near: the next run posts it")
        emit(ctx.logger, logging.INFO, "notification_skipped", rule=ctx.rule, action=name, flag=flag)
        return ActionResult(status="skipped", detail=f"every booking's {flag} is set or held by another run")
    if guarded.not_tried:
        return guarded.value
    result = replace(guarded.value, flags=(*guarded.value.flags, *committed))
    if problems or unmarked:
        raise fail(name, ctx, RuntimeError("; ".join([*problems, *unmarked])), result, flag=flag)
    return result


def _disabled(ctx: ActionContext, channel: Literal["telegram", "slack"], text: str) -> ActionResult:
    """A message not posted because its channel is off: reported (`disabled`), nothing claimed."""
    booking_num = ctx.booking.booking_num if ctx.booking else None
    return ActionResult(
        status="disabled",
        notifications=(NotificationRecord(channel, text, "disabled", ctx.rule, booking_num),),
        detail=f"{channel} is disabled",
    )


def preview_message(channel: Literal["telegram", "slack"]) -> Executor:
    """The preview of a message action on `channel`: the rendered text, planned - or `disabled` when the
    channel is off, as the run would report it."""

    def preview(ctx: ActionContext, p: Any) -> ActionResult:
        text = render(p.message, ctx.template_vars())
        service = ctx.services.telegram_service if channel == "telegram" else ctx.services.slack_service
        if not service.enabled:
            return _disabled(ctx, channel, text)
        booking_num = ctx.booking.booking_num if ctx.booking else None
        return ActionResult(
            status="planned",
            notifications=(NotificationRecord(channel, text, "planned", ctx.rule, booking_num),),
        )

    return preview


def log_event(ctx: ActionContext, p: LogEventParams) -> ActionResult:
    """Write one JSON log line: rule, action, booking_id, status, message - phones and names masked."""
    text = render_message(ctx, "log_event", p.message) if p.message else ""
    record = emit(
        ctx.logger,
        logging.getLevelNamesMapping()[p.level.upper()],
        "rule_event",
        rule=ctx.rule,
        action=p.action,
        booking_id=ctx.subject,
        status=p.status,
        message=mask_text(text, (b.name for b in ctx.targets)),
    )
    note = NotificationRecord(
        "log", str(record["message"]), p.status, ctx.rule, ctx.booking.booking_num if ctx.booking else None
    )
    return ActionResult(notifications=(note,))


def validate_message(p: Any, config: AppConfig, mode: Mode) -> list[Problem]:
    """The variables of a `message` template, for the rule's mode (per booking, or a digest)."""
    text = getattr(p, "message", "")
    try:
        check_template(text, allowed=DIGEST_VARS if mode == "digest" else EACH_VARS)
    except TemplateProblem as exc:
        return [(str(exc), "message", exc.suggestion)]
    return []


ACTIONS: tuple[ActionType, ...] = (
    ActionType(
        "send_telegram",
        TelegramParams,
        send_telegram,
        "post a templated Telegram message",
        digest=True,
        preview=preview_message("telegram"),
        validate=validate_message,
        sends="message",
    ),
    ActionType(
        "send_slack",
        MessageParams,
        send_slack,
        "post a templated Slack message (no-op when disabled)",
        digest=True,
        preview=preview_message("slack"),
        validate=validate_message,
        sends="message",
    ),
    ActionType(
        "log_event",
        LogEventParams,
        log_event,
        "write one structured JSON log line",
        digest=True,
        validate=validate_message,
    ),
)
