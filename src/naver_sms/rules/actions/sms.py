"""`send_sms`: an SMS from a template to the booking's customer, exactly once per flag (`deliver_once`). A text
that cannot be composed (`sms_compose`) fails its flag for good at once: no retry can fix it."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import NoReturn

from pydantic import Field

from naver_sms.config.loader import STORES_FILE, TEMPLATES_FILE
from naver_sms.config.models import AppConfig
from naver_sms.delivery import deliver_once
from naver_sms.domain.booking import Booking, BookingRecord
from naver_sms.domain.privacy import mask_phone, mask_text
from naver_sms.errors import FlagFailedForGood, NaverSmsError, OutcomeUnknown, did_you_mean
from naver_sms.flags.effect import Guarded, guarded_effect, is_permanent
from naver_sms.flags.machine import Claim
from naver_sms.flags.state import read_flag
from naver_sms.flags.store import RecordKey
from naver_sms.logs import emit
from naver_sms.ports import SmsMessage
from naver_sms.rules.actions.claims import claim_options
from naver_sms.rules.actions.common import (
    ActionParams,
    fail,
    failed_at_once,
    fix_of,
    need_booking,
)
from naver_sms.rules.actions.masked_sms import NamesMasked
from naver_sms.rules.actions.sms_compose import compose, then_reset, unbuilt
from naver_sms.rules.conditions import FlagName
from naver_sms.rules.context import ActionContext, ActionResult, FlagChange, SmsRecord, SmsStatus
from naver_sms.rules.exceptions import ActionExecutionError
from naver_sms.rules.types import ActionType, Mode, Problem


class SendSmsParams(ActionParams):
    #: an SMS template name of templates.yaml; with store_specific, a role of the store's `templates`
    template: str = Field(min_length=1)
    store_specific: bool = False
    #: the flag that makes this SMS exactly-once; filled from the rule's next update_flag when absent
    flag: FlagName | None = None


#: why an advertising SMS was not sent (the report's detail and `<flag>_suppressed`)
OPTED_OUT = "the number refused advertising (opt-out list)"


class _Unbuildable(NaverSmsError):
    """The SMS text could not be built: nothing was sent, and the same data builds the same text on the next
    run - permanent (its flag fails for good at once)."""

    permanent = True


def send_sms(ctx: ActionContext, p: SendSmsParams) -> ActionResult:
    """Send an SMS from a template; with a flag, exactly once (claim -> send -> commit, see delivery.py)."""
    if p.flag is not None and (given_up := _given_up(ctx, p.flag)) is not None:
        return given_up
    try:
        message, record = compose(ctx, p)
    except Exception as exc:
        raise _unbuildable(ctx, p, exc) from exc
    booking = need_booking(ctx)
    services = ctx.services
    if message.content_type == "AD" and _refused(ctx, p, message, record):
        return _suppress(ctx, p, booking, record)
    sms = NamesMasked(services.sms_service, [booking.name])
    if p.flag is None:  # compiled rules always have one (rules.guards); direct callers may not
        try:
            receipt = sms.send(message)
        except Exception as exc:
            failed = ActionResult(sms=(_with(record, "failed", error=exc),))
            raise fail("send_sms", ctx, exc, failed, template=record.template) from exc
        done = _with(
            record, "outbox" if receipt.status == "outbox" else "sent", request_id=receipt.request_id
        )
        _log_sms(ctx, done)
        return ActionResult(sms=(done,))
    try:
        outcome = deliver_once(
            repo=services.db_repo,
            sms=sms,
            message=message,
            key=(booking.booking_num, booking.phone),
            flag=p.flag,
            run_id=ctx.scope.run_id,
            now=ctx.scope.real(),  # leases and the look-up window live in real time, whatever `now` says
            lease=ctx.scope.lease,
            info={"template": record.template, "rule": ctx.rule},
            exclude_request_ids=ctx.known_request_ids,
            **claim_options(ctx, booking),
            clock=ctx.scope.real,
            send_margin=ctx.scope.send_margin,
        )
    except Exception as exc:
        status: SmsStatus = "unknown" if isinstance(exc, OutcomeUnknown) else "failed"
        failed_sms = _with(record, status, error=exc)
        gone = isinstance(exc, FlagFailedForGood)
        cause: BaseException = exc
        if not gone and is_permanent(exc):  # the guarded effect failed the flag for good at once
            fix = fix_of(exc, "fix the cause")
            cause = failed_at_once([(booking.booking_num, booking.phone)], p.flag, exc, fix)
            failed_sms = replace(failed_sms, fix=then_reset(fix, booking, p.flag))
            gone = True
        if not isinstance(exc, FlagFailedForGood):  # given up on earlier: reported by the run, not logged
            _log_sms(ctx, failed_sms)
        details: dict[str, object] = {
            "template": record.template,
            **({"failed_for_good": True} if gone else {}),
        }
        raise fail("send_sms", ctx, cause, ActionResult(sms=(failed_sms,)), **details) from exc
    if outcome.status in ("already_done", "claimed_elsewhere", "deferred"):
        emit(
            ctx.logger,
            logging.WARNING if "paused" in outcome.detail else logging.INFO,
            "sms_skipped" if outcome.status != "deferred" else "sms_deferred",
            rule=ctx.rule,
            booking_id=booking.booking_num,
            flag=p.flag,
            reason=outcome.status,
            detail=outcome.detail or None,
        )
        status_of = "deferred" if outcome.status == "deferred" else "skipped"
        return ActionResult(status=status_of, detail=outcome.detail)
    sent: SmsStatus = (
        "reconciled" if outcome.status == "reconciled" else "outbox" if outcome.status == "outbox" else "sent"
    )
    done = _with(record, sent, request_id=outcome.request_id)
    _log_sms(ctx, done)
    if outcome.uncommitted is not None:  # it went out; this run could not set its flag (it is reported)
        problem = RuntimeError(
            f"sent (request {outcome.request_id}), but {p.flag} was not set by this run: {outcome.uncommitted}; "
            "a later run finds the SMS through the look-up - it is not sent again"
        )
        raise fail("send_sms", ctx, problem, ActionResult(sms=(done,)), template=record.template)
    return ActionResult(
        sms=(done,),
        detail=outcome.detail,
        flags=(FlagChange(booking.booking_num, booking.phone, p.flag, True, ctx.rule, "commit"),),
    )


def _given_up(ctx: ActionContext, flag: str) -> ActionResult | None:
    """A flag that failed for good at once was reported in the run it failed in: until an operator resets it,
    the SMS is left alone, quietly."""
    state = read_flag(ctx.record, flag, ctx.scope.real())
    if state.status != "failed" or not state.permanent:
        return None
    return ActionResult(status="skipped", detail=f"{flag} failed for good: {state.last_error}")


def _refused(ctx: ActionContext, p: SendSmsParams, message: SmsMessage, record: SmsRecord) -> bool:
    """Whether the recipient refused advertising (the run's opt-out list); a list that cannot be read fails
    the SMS - no advertising goes out unchecked - and a later run tries again."""
    try:
        return ctx.scope.opt_out.refuses(ctx.services.opt_out, message.to)
    except Exception as exc:
        failed = ActionResult(sms=(_with(record, "failed", error=exc),))
        raise fail("send_sms", ctx, exc, failed, template=record.template, opt_out=True) from exc


def _suppress(ctx: ActionContext, p: SendSmsParams, booking: Booking, record: SmsRecord) -> ActionResult:
    """An advertising SMS to a number that refused advertising: not sent, and - with a flag - never tried
    again (the flag is done, `<flag>_suppressed` says why). Reported as `suppressed`."""
    suppressed = _with(record, "suppressed")
    flags: tuple[FlagChange, ...] = ()
    if p.flag is not None:
        key = (booking.booking_num, booking.phone)
        try:
            if ctx.record is None:  # a flag needs its row
                ctx.services.db_repo.create(BookingRecord.for_booking(booking))
            marked = ctx.services.db_repo.suppress(key, p.flag, reason=OPTED_OUT, now=ctx.scope.real())
        except Exception as exc:
            raise fail("send_sms", ctx, exc, template=record.template) from exc
        if not marked:  # done, failed for good, or held by another run meanwhile: nothing to say
            return ActionResult(status="skipped", detail=f"{p.flag} is not open")
        flags = (FlagChange(booking.booking_num, booking.phone, p.flag, True, ctx.rule, "suppress"),)
    _log_sms(ctx, suppressed)
    return ActionResult(status="suppressed", detail=OPTED_OUT, sms=(suppressed,), flags=flags)


def _unbuildable(ctx: ActionContext, p: SendSmsParams, exc: Exception) -> ActionExecutionError:
    """The text could not be built with this booking's data (nothing was sent): a failed SMS in the report,
    with the fix; with a flag, its attempt is counted through the guarded effect, which fails it for good at
    once (no retry can fix it) - the report says what to change and the command that sends it again."""
    booking = ctx.booking
    if booking is None:
        return fail("send_sms", ctx, exc, template=p.template)
    cause: BaseException = exc
    for_good = False
    fix = fix_of(exc, "fix the template or stores.yaml")
    if p.flag is not None:
        cause, for_good = _count_unbuilt_attempt(ctx, booking, p.flag, p.template, exc)
        if for_good and cause is exc:  # failed for good just now: say what to do, this once
            cause = failed_at_once([(booking.booking_num, booking.phone)], p.flag, exc, fix)
    failed = unbuilt(booking, ctx, p, exc if cause is not exc else cause, then_reset(fix, booking, p.flag))
    _log_sms(ctx, failed)
    return fail(
        "send_sms", ctx, cause, ActionResult(sms=(failed,)), template=p.template, failed_for_good=for_good
    )


def _count_unbuilt_attempt(
    ctx: ActionContext, booking: Booking, flag: str, template: str, exc: Exception
) -> tuple[BaseException, bool]:
    """Count the attempt through the guarded effect (over a crashed run's claim, whose SMS may have gone out:
    put back for the look-up). Returns what to report and whether the flag has now failed for good."""
    unbuildable = _Unbuildable(f"the text could not be built: {type(exc).__name__}: {exc}")

    def refuse(_: Claim | tuple[Claim, ...]) -> NoReturn:
        raise unbuildable

    key = (booking.booking_num, booking.phone)
    options = claim_options(ctx, booking)
    try:
        guarded: Guarded[object] = guarded_effect(
            ctx.services.db_repo,
            [key],
            flag,
            refuse,
            run_id=ctx.scope.run_id,
            now=ctx.scope.real(),
            lease=ctx.scope.lease,
            info={"template": template, "rule": ctx.rule},
            resolve=refuse,
            seen={key: options["seen"]} if options["seen"] is not None else None,
            create={key: options["create"]} if options["create"] is not None else None,
            cutoff=options["cutoff"],
        )
    except _Unbuildable:  # counted: released - and failed for good, when that was the last attempt
        return exc, _failed(ctx, key, flag)
    except Exception:  # the attempt could not be counted; the failure itself is still reported
        ctx.logger.warning("could not count the failed attempt of %s", booking.booking_num, exc_info=True)
        return exc, False
    (outcome,) = guarded.outcomes
    if isinstance(outcome.error, FlagFailedForGood):  # given up on already: report that, as a send would
        return outcome.error, True
    if isinstance(outcome.error, _Unbuildable):  # over a stale claim: put back for the look-up (bounded)
        return exc, _failed(ctx, key, flag)
    if outcome.status == "refused":
        ctx.logger.warning("could not count the failed attempt of %s: %s", booking.booking_num, outcome.error)
    return exc, False  # sent meanwhile, or held by another run: nothing to count


def _failed(ctx: ActionContext, key: RecordKey, flag: str) -> bool:
    try:
        return read_flag(ctx.services.db_repo.get(key), flag, ctx.scope.real()).status == "failed"
    except Exception:  # the report says what happened; this is only its detail
        return False


def _with(
    record: SmsRecord, status: SmsStatus, *, request_id: str | None = None, error: BaseException | None = None
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
    """What the run would do: the composed SMS, planned - or the failed SMS the run would report (a text
    that cannot be built or is over the limit), with its fix; nothing is claimed or counted."""
    if p.flag is not None and (given_up := _given_up(ctx, p.flag)) is not None:
        return given_up
    try:
        message, record = compose(ctx, p)
        if message.content_type == "AD" and _refused(ctx, p, message, record):
            return ActionResult(status="planned", detail=OPTED_OUT, sms=(_with(record, "suppressed"),))
        return ActionResult(status="planned", sms=(record,))
    except Exception as exc:  # shown as the failed SMS the run would report (nothing is claimed or counted)
        if ctx.booking is None:
            raise
        fix = fix_of(exc, "fix the template or stores.yaml")
        failed = unbuilt(ctx.booking, ctx, p, exc, fix)
        raise fail("send_sms", ctx, exc, ActionResult(sms=(failed,)), template=p.template) from exc


def _validate_sms(p: SendSmsParams, config: AppConfig, mode: Mode) -> list[Problem]:
    """The template (or every store's template for the role) exists. The templates themselves are checked
    once each, at their own line of templates.yaml (naver_sms.rules.config_check); a file that could not be
    loaded is not second-guessed here (its own errors say what is wrong)."""
    if p.store_specific:
        if STORES_FILE in config.broken:
            return []
        missing = [s.id for s in config.stores.values() if p.template not in s.templates]
        if not missing:
            return []
        roles = {r for s in config.stores.values() for r in s.templates}
        have = [s.id for s in config.stores.values() if p.template in s.templates]
        known = f" (as stores {', '.join(have)} do)" if have else ""
        return [
            (
                f"store(s) {', '.join(missing)} have no {p.template!r} template in stores.yaml: add "
                f"`{p.template}: <template>` to their `templates:`{known}",
                "template",
                None if p.template in roles else did_you_mean(p.template, roles),  # never itself
            )
        ]
    if TEMPLATES_FILE in config.broken or p.template in config.sms_templates:
        return []
    return [
        (f"unknown SMS template {p.template!r}", "template", did_you_mean(p.template, config.sms_templates))
    ]


def _advertises(p: SendSmsParams, config: AppConfig) -> bool:
    """Whether the SMS is advertising (`contentType: AD`) - for a store's role, for any store."""
    names = (
        [s.templates[p.template] for s in config.stores.values() if p.template in s.templates]
        if p.store_specific
        else [p.template]
    )
    return any(n in config.sms_templates and config.sms_templates[n].content_type == "AD" for n in names)


ACTIONS: tuple[ActionType, ...] = (
    ActionType(
        "send_sms",
        SendSmsParams,
        send_sms,
        "send an SMS from a template, exactly once per flag",
        preview=_preview_sms,
        validate=_validate_sms,
        sends="sms",
        advertises=_advertises,
    ),
)
