"""Action executors: every side effect of a rule (the seed story, story 3.3).

Each executor is a synchronous function `(ActionContext, Params) -> ActionResult` that reaches the outside
world only through the services in `context.services`. Failures are raised as `ActionExecutionError` with the
executor's name, the booking and what it was doing; the engine logs, counts and goes on.

    send_sms(template, store_specific=false, flag=None)   SMS through the SmsService, exactly once per flag
    create_db_record()                                    the legacy `sms` row, if absent
    update_flag(flag, value=true)                         one boolean flag, idempotent
    send_telegram(message, flag=None)                     a templated Telegram message, once per flag
    send_slack(message, flag=None)                        a templated Slack message (no-op when disabled)
    log_event(message, status="info", action="log_event") one JSON log line, personal data masked

Adding an action: write a params model and an executor here, add an `ActionType` to `ACTIONS`, document it
in docs/rules/actions.md (a test keeps the docs complete).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from naver_sms.config.loader import suggest
from naver_sms.config.models import AppConfig, SmsTemplate
from naver_sms.database.repositories import Claim
from naver_sms.delivery import deliver_once
from naver_sms.domain.booking import Booking, BookingRecord, mask_phone
from naver_sms.domain.sms_text import choose_type
from naver_sms.errors import FlagAlreadyDone, FlagClaimed, FlagFailedForGood, OutcomeUnknown
from naver_sms.logs import emit, mask_text
from naver_sms.notifications.protocols import SmsMessage
from naver_sms.rules.conditions import FlagName
from naver_sms.rules.context import (
    ActionContext,
    ActionResult,
    ActionServicesBundle,
    FlagChange,
    NotificationRecord,
    SmsRecord,
)
from naver_sms.rules.engine import ActionType, RuleEngine
from naver_sms.rules.exceptions import ActionExecutionError
from naver_sms.rules.templates import TemplateProblem, check_template, render

__all__ = [
    "ACTIONS",
    "ActionContext",
    "ActionServicesBundle",
    "create_db_record",
    "log_event",
    "register_actions",
    "send_slack",
    "send_sms",
    "send_telegram",
    "update_flag",
]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(_Params):
    pass


class SendSmsParams(_Params):
    #: an SMS template name of templates.yaml; with store_specific, a role of the store's `templates`
    template: str = Field(min_length=1)
    store_specific: bool = False
    #: the flag that makes this SMS exactly-once; filled from the rule's next update_flag when absent
    flag: FlagName | None = None


class UpdateFlagParams(_Params):
    flag: FlagName
    value: bool = True


class MessageParams(_Params):
    message: str = Field(min_length=1)
    #: claimed on each booking before posting and set after it (overlapping runs never post a booking
    #: twice); filled from the rule's next update_flag when absent, like send_sms's
    flag: FlagName | None = None


class LogEventParams(_Params):
    message: str = ""
    status: str = "info"
    action: str = "log_event"
    level: Literal["debug", "info", "warning", "error"] = "info"


_EACH_VARS = ("booking", "store", "now", "rule")
_DIGEST_VARS = ("bookings", "count", "now", "rule", "stores")


def _fail(
    name: str, ctx: ActionContext, exc: BaseException, result: ActionResult | None = None, **data: Any
) -> ActionExecutionError:
    context_data: dict[str, Any] = {"rule": ctx.rule, **data}
    if result is not None:
        context_data["result"] = result
    return ActionExecutionError(name, ctx.booking_id, exc, context_data)


# --- send_sms -----------------------------------------------------------------------------------------------


def _template_for(ctx: ActionContext, p: SendSmsParams) -> tuple[str, SmsTemplate]:
    name = p.template
    if p.store_specific:
        if ctx.store is None:
            raise LookupError(f"store {ctx.booking.store_id if ctx.booking else '?'} is not in stores.yaml")
        mapped = ctx.store.templates.get(p.template)
        if mapped is None:
            raise LookupError(f"store {ctx.store.id} has no {p.template!r} template")
        name = mapped
    return name, ctx.config.sms_templates[name]


def _compose(ctx: ActionContext, p: SendSmsParams) -> tuple[SmsMessage, SmsRecord]:
    booking = _need_booking(ctx)
    name, tpl = _template_for(ctx, p)
    variables = ctx.template_vars()
    content = render(tpl.text, variables)
    subject = render(tpl.subject if tpl.subject is not None else ctx.config.subject, variables)
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
    return message, record


def _need_booking(ctx: ActionContext) -> Booking:
    if ctx.booking is None:
        raise ValueError("this action needs a booking (it cannot run in a digest rule)")
    return ctx.booking


def send_sms(ctx: ActionContext, p: SendSmsParams) -> ActionResult:
    """Send an SMS from a template; with a flag, exactly once (claim -> send -> commit, see delivery.py)."""
    try:
        message, record = _compose(ctx, p)
    except Exception as exc:
        raise _unbuildable(ctx, p, exc) from exc
    booking = _need_booking(ctx)
    services = ctx.services
    if p.flag is None:  # compiled rules always have one (engine.link_guards); direct callers may not
        try:
            receipt = services.sms_service.send(message)
        except Exception as exc:
            raise _fail(
                "send_sms",
                ctx,
                exc,
                ActionResult(sms=(_with(record, "failed", error=exc),)),
                template=record.template,
            ) from exc
        done = _with(record, receipt.status, request_id=receipt.request_id)
        _log_sms(ctx, done)
        return ActionResult(sms=(done,))
    key = (booking.booking_num, booking.phone)
    try:
        if ctx.record is None:  # a flag needs its row (create-if-absent: a row made meanwhile stays as it is)
            services.db_repo.create(BookingRecord.for_booking(booking))
        outcome = deliver_once(
            repo=services.db_repo,
            sms=services.sms_service,
            message=message,
            key=key,
            flag=p.flag,
            run_id=ctx.options.run_id,
            now=ctx.options.wall_clock(),  # leases live in real time, whatever the decision clock says
            lease=ctx.options.lease,
            info={"template": record.template, "rule": ctx.rule},
            exclude_request_ids=ctx.known_request_ids,
        )
    except OutcomeUnknown as exc:
        unknown = _with(record, "unknown", error=exc)
        _log_sms(ctx, unknown)
        raise _fail("send_sms", ctx, exc, ActionResult(sms=(unknown,)), template=record.template) from exc
    except FlagFailedForGood as exc:
        raise _fail(
            "send_sms",
            ctx,
            exc,
            ActionResult(sms=(_with(record, "failed", error=exc),)),
            template=record.template,
            failed_for_good=True,
        ) from exc
    except Exception as exc:
        failed = _with(record, "failed", error=exc)
        _log_sms(ctx, failed)
        raise _fail("send_sms", ctx, exc, ActionResult(sms=(failed,)), template=record.template) from exc
    if outcome.status in ("already_done", "claimed_elsewhere"):
        emit(
            ctx.logger,
            logging.INFO,
            "sms_skipped",
            rule=ctx.rule,
            booking_id=booking.booking_num,
            flag=p.flag,
            reason=outcome.status,
        )
        return ActionResult(status="skipped", detail=outcome.detail)
    done = _with(record, outcome.status, request_id=outcome.request_id)
    _log_sms(ctx, done)
    return ActionResult(
        sms=(done,),
        detail=outcome.detail,
        flags=(FlagChange(booking.booking_num, booking.phone, p.flag, True, ctx.rule, "commit"),),
    )


def _unbuilt(booking: Booking, ctx: ActionContext, p: SendSmsParams, exc: BaseException) -> SmsRecord:
    """The report's record of an SMS whose text could not be built: failed, with what is known of it."""
    try:
        label = _template_for(ctx, p)[1].label
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
    )


def _unbuildable(ctx: ActionContext, p: SendSmsParams, exc: Exception) -> ActionExecutionError:
    """The SMS text could not be built (a template that fails only with this booking's data, a store with
    no template for the role): nothing was sent. It is reported as a failed SMS - in the report's `sms`,
    the counts and the summary - and, with a flag, counted as an attempt like a refused send, so the flag is
    retried on the next runs (after a fix) and fails for good at the bound instead of being forgotten."""
    booking = ctx.booking
    if booking is None:
        return _fail("send_sms", ctx, exc, template=p.template)
    cause: BaseException = exc
    for_good = False
    if p.flag is not None:
        try:
            for_good = _count_unbuilt_attempt(ctx, booking, p.flag, p.template, exc)
        except FlagFailedForGood as gone:  # given up on already: report that, as a send would
            cause, for_good = gone, True
        except (FlagAlreadyDone, FlagClaimed):  # sent meanwhile, or another run is on it: nothing to count
            pass
        except Exception:  # the attempt could not be counted; the failure itself is still reported
            ctx.logger.warning("could not count the failed attempt of %s", booking.booking_num, exc_info=True)
    failed = _unbuilt(booking, ctx, p, cause)
    _log_sms(ctx, failed)
    return _fail(
        "send_sms", ctx, cause, ActionResult(sms=(failed,)), template=p.template, failed_for_good=for_good
    )


def _count_unbuilt_attempt(
    ctx: ActionContext, booking: Booking, flag: str, template: str, exc: Exception
) -> bool:
    """Claim and release the flag, counting one attempt; True when the flag is now failed for good."""
    repo = ctx.services.db_repo
    claim = _claim(ctx, booking, flag, {"template": template, "rule": ctx.rule})
    error = f"the text could not be built: {type(exc).__name__}: {exc}"
    if claim.stale is not None:  # a crashed run's send may have gone out: leave it to the look-up
        return repo.abandon(claim, error=error)
    return repo.release(claim, error=error)


def _claim(ctx: ActionContext, booking: Booking, flag: str, info: dict[str, Any]) -> Claim:
    """Claim `flag` on the booking's row for this run, in real time (leases live in real time, whatever
    the decision clock says); a row the run did not load is created first (a flag needs its row)."""
    if ctx.booking is None or ctx.record is None:
        ctx.services.db_repo.create(BookingRecord.for_booking(booking))
    return ctx.services.db_repo.claim(
        (booking.booking_num, booking.phone),
        flag,
        run_id=ctx.options.run_id,
        now=ctx.options.wall_clock(),
        lease=ctx.options.lease,
        info=info,
    )


def _with(
    record: SmsRecord, status: Any, *, request_id: str | None = None, error: BaseException | None = None
) -> SmsRecord:
    return replace(
        record,
        status=status,
        request_id=request_id,
        error=f"{type(error).__name__}: {error}" if error is not None else None,
    )


def _log_sms(ctx: ActionContext, record: SmsRecord) -> None:
    level = logging.INFO if record.status in ("sent", "outbox", "reconciled") else logging.ERROR
    emit(
        ctx.logger,
        level,
        "sms",
        rule=ctx.rule,
        action="send_sms",
        booking_id=record.booking_num,
        status=record.status,
        template=record.template,
        to=mask_phone(record.to),
        request_id=record.request_id,
        error=mask_text(record.error) if record.error else None,
    )


def _preview_sms(ctx: ActionContext, p: SendSmsParams) -> ActionResult:
    try:
        return ActionResult(status="planned", sms=(_compose(ctx, p)[1],))
    except Exception as exc:  # shown as the failed SMS the run would report (nothing is claimed or counted)
        if ctx.booking is None:
            raise
        failed = _unbuilt(ctx.booking, ctx, p, exc)
        raise _fail("send_sms", ctx, exc, ActionResult(sms=(failed,)), template=p.template) from exc


def _validate_sms(p: SendSmsParams, config: AppConfig, mode: str) -> list[tuple[str, str, str | None]]:
    problems: list[tuple[str, str, str | None]] = []
    if p.store_specific:
        missing = [s.id for s in config.stores.values() if p.template not in s.templates]
        if missing:
            roles = {r for s in config.stores.values() for r in s.templates}
            problems.append(
                (
                    f"store(s) {', '.join(missing)} have no {p.template!r} template in stores.yaml",
                    "template",
                    suggest(p.template, roles),
                )
            )
        names = [s.templates[p.template] for s in config.stores.values() if p.template in s.templates]
    else:
        if p.template not in config.sms_templates:
            problems.append(
                (
                    f"unknown SMS template {p.template!r}",
                    "template",
                    suggest(p.template, config.sms_templates),
                )
            )
            return problems
        names = [p.template]
    for name in names:
        tpl = config.sms_templates[name]
        for text in (tpl.text, tpl.subject or ""):
            try:
                check_template(text, allowed=_EACH_VARS)
            except TemplateProblem as exc:
                problems.append((f"SMS template {name!r}: {exc}", "template", exc.suggestion))
    return problems


# --- the database -------------------------------------------------------------------------------------------


def create_db_record(ctx: ActionContext, p: NoParams) -> ActionResult:
    """Insert the booking's legacy row (all flags false; sends set them) unless it exists."""
    booking = _need_booking(ctx)
    try:
        created = ctx.services.db_repo.create(BookingRecord.for_booking(booking))
    except Exception as exc:
        raise _fail("create_db_record", ctx, exc) from exc
    return ActionResult(status="ok" if created else "noop", detail="created" if created else "exists")


def update_flag(ctx: ActionContext, p: UpdateFlagParams) -> ActionResult:
    """Set one boolean flag; a flag that already has the value is left alone (idempotent). In a digest rule,
    the flag of every listed booking."""
    bookings = ctx.bookings if ctx.booking is None else (ctx.booking,)
    changes: list[FlagChange] = []
    failures: list[str] = []
    for booking in bookings:
        try:
            if p.value and (ctx.booking is None or ctx.record is None):
                ctx.services.db_repo.create(BookingRecord.for_booking(booking))  # a flag needs its row
            key = (booking.booking_num, booking.phone)
            if ctx.services.db_repo.set_flag(key, p.flag, p.value, now=ctx.options.wall_clock()):
                changes.append(
                    FlagChange(booking.booking_num, booking.phone, p.flag, p.value, ctx.rule, "set")
                )
        except Exception as exc:
            if ctx.booking is not None:
                raise _fail("update_flag", ctx, exc, flag=p.flag) from exc
            failures.append(f"{booking.booking_num}: {exc}")
    result = ActionResult(status="ok" if changes else "noop", flags=tuple(changes))
    if failures:
        raise _fail("update_flag", ctx, RuntimeError("; ".join(failures)), result, flag=p.flag)
    return result


def _preview_flag(ctx: ActionContext, p: UpdateFlagParams) -> ActionResult:
    bookings = ctx.bookings if ctx.booking is None else (ctx.booking,)
    return ActionResult(
        status="planned",
        flags=tuple(FlagChange(b.booking_num, b.phone, p.flag, p.value, ctx.rule, "set") for b in bookings),
    )


# --- notifications ------------------------------------------------------------------------------------------


def _render_message(ctx: ActionContext, name: str, message: str) -> str:
    try:
        return render(message, ctx.template_vars())
    except TemplateProblem as exc:
        raise _fail(name, ctx, exc) from exc


def send_telegram(ctx: ActionContext, p: MessageParams) -> ActionResult:
    """Post a templated message to the configured Telegram chat (plain text); with a flag, once per booking."""
    if p.flag is not None and ctx.services.telegram_service.enabled:
        return _post_once(ctx, "send_telegram", p.flag, lambda listed: _post_telegram(listed, p))
    return _post_telegram(ctx, p)


def _post_telegram(ctx: ActionContext, p: MessageParams) -> ActionResult:
    text = _render_message(ctx, "send_telegram", p.message)
    try:
        receipt = ctx.services.telegram_service.send_message(text)
    except Exception as exc:
        raise _fail("send_telegram", ctx, exc) from exc
    note = NotificationRecord(
        "telegram", text, receipt.status, ctx.rule, ctx.booking.booking_num if ctx.booking else None
    )
    return ActionResult(
        status="disabled" if receipt.status == "disabled" else "ok",
        notifications=(note,),
        detail="telegram is disabled" if receipt.status == "disabled" else "",
    )


def send_slack(ctx: ActionContext, p: MessageParams) -> ActionResult:
    """Post a templated message to the Slack webhook; a no-op (reported as `disabled`) when Slack is off."""
    if not ctx.services.slack_service.enabled:
        return ActionResult(status="disabled", detail="slack is disabled")
    if p.flag is not None:
        return _post_once(ctx, "send_slack", p.flag, lambda listed: _post_slack(listed, p))
    return _post_slack(ctx, p)


def _post_slack(ctx: ActionContext, p: MessageParams) -> ActionResult:
    services = ctx.services
    text = _render_message(ctx, "send_slack", p.message)
    try:
        receipt = services.slack_service.post_message(text)
    except Exception as exc:
        raise _fail("send_slack", ctx, exc) from exc
    note = NotificationRecord(
        "slack", text, receipt.status, ctx.rule, ctx.booking.booking_num if ctx.booking else None
    )
    return ActionResult(notifications=(note,))


def _post_once(
    ctx: ActionContext, name: str, flag: str, post: Callable[[ActionContext], ActionResult]
) -> ActionResult:
    """Post about each booking at most once per flag, even when runs overlap.

    The flag of every booking is claimed first (the claim protocol of send_sms); only the bookings this run
    won are posted - in a digest, the message lists just them - and their flags are committed after the
    post. A booking whose flag is set already or held by another run is left out; when none is left,
    nothing is posted (`skipped`). A failed post releases the claims and counts an attempt, so the next
    run posts again (bounded by max_attempts). A run that dies between posting and committing leaves
    claims that expire after the lease: the next run posts those bookings again - a notification to the
    owner is at least once, where a customer's SMS is exactly once.
    """
    repo = ctx.services.db_repo
    claims: list[tuple[Booking, Claim]] = []
    problems: list[str] = []
    for booking in ctx.bookings if ctx.booking is None else (ctx.booking,):
        try:
            claim = _claim(ctx, booking, flag, {"rule": ctx.rule, "action": name})
        except (FlagAlreadyDone, FlagClaimed, FlagFailedForGood):
            continue  # posted already, being posted by another run, or given up on (the run reports it)
        except Exception as exc:
            problems.append(f"{booking.booking_num}: {exc}")
            continue
        claims.append((booking, claim))
    if not claims:
        if problems:
            raise _fail(name, ctx, RuntimeError("; ".join(problems)), flag=flag)
        emit(ctx.logger, logging.INFO, "notification_skipped", rule=ctx.rule, action=name, flag=flag)
        return ActionResult(status="skipped", detail=f"every booking's {flag} is set or held by another run")
    listed = ctx if ctx.booking is not None else replace(ctx, bookings=tuple(b for b, _ in claims))
    try:
        result = post(listed)
    except Exception as exc:
        _release(ctx, claims, error=exc)
        raise
    if result.status == "disabled":  # nothing went out, nothing was tried: no attempt counted
        _release(ctx, claims, error=None)
        return result
    sent_at = ctx.options.wall_clock()
    committed: list[FlagChange] = []
    for booking, claim in claims:
        try:
            repo.commit(claim, request_id=None, sent_at=sent_at)
        except Exception as exc:  # posted, but not marked: after the lease, the booking is posted again
            problems.append(f"{booking.booking_num}: posted, but {flag} not set: {exc}")
            continue
        committed.append(FlagChange(booking.booking_num, booking.phone, flag, True, ctx.rule, "commit"))
    result = replace(result, flags=(*result.flags, *committed))
    if problems:
        raise _fail(name, ctx, RuntimeError("; ".join(problems)), result, flag=flag)
    return result


def _release(ctx: ActionContext, claims: list[tuple[Booking, Claim]], *, error: BaseException | None) -> None:
    for booking, claim in claims:
        try:
            if error is None:
                ctx.services.db_repo.release(claim, error="the channel is disabled", count_attempt=False)
            else:
                ctx.services.db_repo.release(claim, error=f"{type(error).__name__}: {error}")
        except Exception:  # the claim expires after its lease; the next run takes it over
            ctx.logger.warning("could not release the claim on %s", booking.booking_num, exc_info=True)


def _preview_message(channel: Literal["telegram", "slack"]) -> Any:
    def preview(ctx: ActionContext, p: MessageParams) -> ActionResult:
        text = render(p.message, ctx.template_vars())
        return ActionResult(
            status="planned",
            notifications=(
                NotificationRecord(
                    channel, text, "planned", ctx.rule, ctx.booking.booking_num if ctx.booking else None
                ),
            ),
        )

    return preview


def log_event(ctx: ActionContext, p: LogEventParams) -> ActionResult:
    """Write one JSON log line: rule, action, booking_id, status, message - phones and names masked."""
    text = _render_message(ctx, "log_event", p.message) if p.message else ""
    people = (ctx.booking,) if ctx.booking else ctx.bookings
    record = emit(
        ctx.logger,
        logging.getLevelNamesMapping()[p.level.upper()],
        "rule_event",
        rule=ctx.rule,
        action=p.action,
        booking_id=ctx.booking_id,
        status=p.status,
        message=mask_text(text, people),
    )
    note = NotificationRecord(
        "log", str(record["message"]), p.status, ctx.rule, ctx.booking.booking_num if ctx.booking else None
    )
    return ActionResult(notifications=(note,))


def _validate_message(p: Any, config: AppConfig, mode: str) -> list[tuple[str, str, str | None]]:
    text = getattr(p, "message", "")
    try:
        check_template(text, allowed=_DIGEST_VARS if mode == "digest" else _EACH_VARS)
    except TemplateProblem as exc:
        return [(str(exc), "message", exc.suggestion)]
    return []


ACTIONS: tuple[ActionType, ...] = (
    ActionType(
        "send_sms",
        SendSmsParams,
        send_sms,
        "send an SMS from a template, exactly once per flag",
        preview=_preview_sms,
        validate=_validate_sms,
    ),
    ActionType("create_db_record", NoParams, create_db_record, "insert the booking's `sms` row if absent"),
    ActionType(
        "update_flag",
        UpdateFlagParams,
        update_flag,
        "set one boolean flag of the booking's row",
        digest=True,
        preview=_preview_flag,
    ),
    ActionType(
        "send_telegram",
        MessageParams,
        send_telegram,
        "post a templated Telegram message",
        digest=True,
        preview=_preview_message("telegram"),
        validate=_validate_message,
    ),
    ActionType(
        "send_slack",
        MessageParams,
        send_slack,
        "post a templated Slack message (no-op when disabled)",
        digest=True,
        preview=_preview_message("slack"),
        validate=_validate_message,
    ),
    ActionType(
        "log_event",
        LogEventParams,
        log_event,
        "write one structured JSON log line",
        digest=True,
        validate=_validate_message,
    ),
)


def register_actions(engine: RuleEngine, services: ActionServicesBundle | None = None) -> None:
    """Register every executor with `engine`, and the services the run's contexts will carry."""
    for atype in ACTIONS:
        engine.register_action(atype)
    engine.services = services
