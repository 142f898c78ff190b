"""The booking's `sms` row: `create_db_record` (the legacy row, if absent) and `update_flag` (one boolean
flag, idempotent; in a digest, the flag of every listed booking)."""

from __future__ import annotations

from naver_sms.domain.booking import BookingRecord
from naver_sms.rules.actions.common import ActionParams, fail, need_booking
from naver_sms.rules.conditions import FlagName
from naver_sms.rules.context import ActionContext, ActionResult, FlagChange
from naver_sms.rules.types import ActionType


class NoParams(ActionParams):
    pass


class UpdateFlagParams(ActionParams):
    flag: FlagName
    value: bool = True


def create_db_record(ctx: ActionContext, p: NoParams) -> ActionResult:
    """Insert the booking's legacy row (all flags false; sends set them) unless it exists."""
    booking = need_booking(ctx)
    try:
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
            if p.value and (ctx.booking is None or ctx.record is None):
                ctx.services.db_repo.create(BookingRecord.for_booking(booking))  # a flag needs its row
            key = (booking.booking_num, booking.phone)
            if ctx.services.db_repo.set_flag(key, p.flag, p.value, now=ctx.scope.real()):
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


def _preview_flag(ctx: ActionContext, p: UpdateFlagParams) -> ActionResult:
    return ActionResult(
        status="planned",
        flags=tuple(
            FlagChange(b.booking_num, b.phone, p.flag, p.value, ctx.rule, "set") for b in ctx.targets
        ),
    )


ACTIONS: tuple[ActionType, ...] = (
    ActionType("create_db_record", NoParams, create_db_record, "insert the booking's `sms` row if absent"),
    ActionType(
        "update_flag",
        UpdateFlagParams,
        update_flag,
        "set one boolean flag of the booking's row",
        digest=True,
        preview=_preview_flag,
        sets_flag=True,
    ),
)
