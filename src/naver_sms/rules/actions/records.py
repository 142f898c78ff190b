"""The booking's `sms` row: `create_db_record` (the legacy row, if absent), `update_flag` (one boolean
flag, idempotent; in a digest, the flag of every listed booking) and `record_reschedule` (a moved start
written to the row, the flags whose sends must follow it reopened)."""

from __future__ import annotations

from pydantic import Field

from naver_sms.domain.booking import BookingRecord
from naver_sms.rules.actions.common import ActionParams, fail, need_booking
from naver_sms.rules.changes import stored_start
from naver_sms.rules.conditions import FlagName
from naver_sms.rules.context import ActionContext, ActionResult, FlagChange
from naver_sms.rules.types import ActionType


class NoParams(ActionParams):
    pass


class UpdateFlagParams(ActionParams):
    flag: FlagName
    value: bool = True


class RescheduleParams(ActionParams):
    #: flags whose sends must follow the new time (e.g. the guide's remind_sms): reopened when they were done
    reopen: list[FlagName] = Field(default_factory=list)


def create_db_record(ctx: ActionContext, p: NoParams) -> ActionResult:
    """Insert the booking's legacy row (all flags false; sends set them) unless it exists. The row of a
    request note (made while the booking was only requested) becomes the booking's row."""
    booking = need_booking(ctx)
    try:
        if ctx.record is not None and ctx.record.request_note:
            adopted = ctx.services.db_repo.adopt(BookingRecord.for_booking(booking))
            return ActionResult(status="ok" if adopted else "noop", detail="adopted the request note")
        created = ctx.services.db_repo.create(BookingRecord.for_booking(booking))
    except Exception as exc:
        raise fail("create_db_record", ctx, exc) from exc
    return ActionResult(status="ok" if created else "noop", detail="created" if created else "exists")


def update_flag(ctx: ActionContext, p: UpdateFlagParams) -> ActionResult:
    """Set one boolean flag; a flag that already has the value is left alone (idempotent). In a digest rule,
    the flag of every listed booking."""
    changes: list[FlagChange] = []
    failures: list[str] = []
    for booking in ctx.targets:
        try:
            # a flag needs its row: one that is missing is created with the flag set, in the same write
            row = BookingRecord.for_booking(booking) if ctx.booking is None or ctx.record is None else None
            key = (booking.booking_num, booking.phone)
            if ctx.services.db_repo.set_flag(
                key, p.flag, p.value, now=ctx.scope.real(), create=row if p.value else None
            ):
                changes.append(
                    FlagChange(booking.booking_num, booking.phone, p.flag, p.value, ctx.rule, "set")
                )
        except Exception as exc:
            if ctx.booking is not None:
                raise fail("update_flag", ctx, exc, flag=p.flag) from exc
            failures.append(f"{booking.booking_num}: {exc}")
    result = ActionResult(status="ok" if changes else "noop", flags=tuple(changes))
    if failures:
        raise fail("update_flag", ctx, RuntimeError("; ".join(failures)), result, flag=p.flag)
    return result


def _moved(ctx: ActionContext, p: RescheduleParams) -> tuple[str, list[str]] | None:
    """(the row's old `booking_time`, the flags to reopen) when the booking's start moved; None otherwise."""
    booking, record = need_booking(ctx), ctx.record
    if record is None or record.request_note:
        return None
    stored = stored_start(record)
    if stored is None or stored == booking.reserve_at:
        return None
    # only flags done when the run read the row: a send of this run (for the new time) is never reopened
    return record.booking_time, [f for f in dict.fromkeys(p.reopen) if record.flag(f)]


def record_reschedule(ctx: ActionContext, p: RescheduleParams) -> ActionResult:
    """Write a moved start to the row (`booking_time`; `rescheduled_from`, `rescheduled_at`) and reopen the
    `reopen` flags that were done, in one conditional write: once, whichever run notices first. When the start
    did not move, when another run recorded it first, or a reopened flag changed meanwhile, the rule ends
    (`skipped`: its later actions, e.g. telling the customer, do not run); a change not recorded is still
    there for the next run."""
    booking = need_booking(ctx)
    moved = _moved(ctx, p)
    if moved is None:
        return ActionResult(status="skipped", detail="the start did not move")
    old, reopen = moved
    key = (booking.booking_num, booking.phone)
    try:
        recorded = ctx.services.db_repo.reschedule(
            key, old_time=old, new_time=booking.booking_time, now=ctx.scope.real(), reopen=reopen
        )
    except Exception as exc:
        raise fail("record_reschedule", ctx, exc) from exc
    if not recorded:
        return ActionResult(
            status="skipped", detail="recorded by another run, or its flags changed meanwhile"
        )
    return ActionResult(
        detail=f"moved from {old}",
        flags=tuple(
            FlagChange(booking.booking_num, booking.phone, f, False, ctx.rule, "reopen") for f in reopen
        ),
    )


def _preview_reschedule(ctx: ActionContext, p: RescheduleParams) -> ActionResult:
    moved = _moved(ctx, p)
    booking = need_booking(ctx)
    reopened = moved[1] if moved is not None else []
    return ActionResult(
        status="planned",
        flags=tuple(
            FlagChange(booking.booking_num, booking.phone, f, False, ctx.rule, "reopen") for f in reopened
        ),
    )


def _preview_flag(ctx: ActionContext, p: UpdateFlagParams) -> ActionResult:
    return ActionResult(
        status="planned",
        flags=tuple(
            FlagChange(b.booking_num, b.phone, p.flag, p.value, ctx.rule, "set") for b in ctx.targets
        ),
    )


ACTIONS: tuple[ActionType, ...] = (
    ActionType(
        "create_db_record",
        NoParams,
        create_db_record,
        "insert the booking's `sms` row if absent",
        creates_row=True,
        writes_row=True,
    ),
    ActionType(
        "update_flag",
        UpdateFlagParams,
        update_flag,
        "set one boolean flag of the booking's row",
        digest=True,
        preview=_preview_flag,
        sets_flag=True,
    ),
    ActionType(
        "record_reschedule",
        RescheduleParams,
        record_reschedule,
        "record a moved start on the row and reopen the flags whose sends must follow it",
        preview=_preview_reschedule,
    ),
)
