"""The text of a run's Telegram summary: the legacy lines - one per SMS, in decision order, or "nothing to
send" - and what the project adds where the legacy job was silent: what to do about an SMS no retry can send,
what the booking source lost (docs/rules/rules-config.md, "The Telegram summary")."""

from __future__ import annotations

from collections.abc import Sequence

from naver_sms.domain.privacy import mask_text
from naver_sms.rules.context import SmsRecord
from naver_sms.rules.report import RunReport

NOTHING_TO_SEND = "문자 발송 대상 없음"
BOOKINGS_UNREAD = "읽지 못한 예약"
STORE_UNREAD = "예약을 가져오지 못한 매장"


def lost_lines(report: RunReport) -> list[str]:
    """What the source lost, for the summary: bookings that could not be read (a file that is not JSON, a
    malformed booking) and stores that could not be fetched - a run problem the owner must see, beside
    the legacy lines."""
    skipped = [e.message for e in report.errors if e.kind == "booking"]
    lines = []
    if skipped:
        more = f" 외 {len(skipped) - 1}건" if len(skipped) > 1 else ""
        lines.append(f"{BOOKINGS_UNREAD} {len(skipped)}건: {mask_text(skipped[0])}{more}")
    lines += [
        f"{STORE_UNREAD} {e.store_id}: {mask_text(e.message)}" for e in report.errors if e.kind == "store"
    ]
    return lines


def legacy_summary(sms: Sequence[SmsRecord]) -> str:
    """The legacy Telegram summary (docs/rules/rules-config.md, "The Telegram summary"): one line per SMS, in decision order - then, for
    an SMS no retry can send, what to do (its fix and the command that sends it again)."""
    lines = []
    for record in sms:
        label = record.label or record.template
        if record.status in ("sent", "outbox", "reconciled"):
            lines.append(f"{record.phone} {label} 문자 발송 완료")
        elif record.status == "failed":
            lines.append(f"{record.phone} {label} 문자 발송 실패")
        elif record.status == "unknown":  # SENS took it and did not answer: the next runs find out
            lines.append(f"{record.phone} {label} 문자 발송 확인중")
    lines += [f"{r.phone} {r.label or r.template}: {r.fix}" for r in sms if r.fix and r.status == "failed"]
    return "\n".join(lines) if lines else NOTHING_TO_SEND
