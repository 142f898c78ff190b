"""What a claim of a booking's flag takes from the run (issue 9 item 1, issue 12 item 1): no read before it."""

from __future__ import annotations

from typing import Any

from naver_sms.domain.booking import Booking, BookingRecord
from naver_sms.flags.machine import Seen
from naver_sms.rules.context import ActionContext


def claim_options(ctx: ActionContext, booking: Booking) -> dict[str, Any]:
    """What a claim of this booking's flag takes from the run: the row as the run's batch read saw it (no
    read before the claim), the row to create with the claim when there was none (one write: issue 9 item 1,
    issue 12 item 1), and the cutoff after which no claim starts (the run's deadline less its margin)."""
    if ctx.record is not None:
        return {"seen": Seen(ctx.record), "create": None, "cutoff": ctx.scope.cutoff}
    key = (booking.booking_num, booking.phone)
    first = key not in ctx.scope.rows_written  # this run's first write of the row: put it with the claim
    ctx.scope.rows_written.add(key)
    return {
        "seen": Seen(None) if first else None,  # after the first, the row is there (or made by the claim)
        "create": BookingRecord.for_booking(booking),
        "cutoff": ctx.scope.cutoff,
    }
