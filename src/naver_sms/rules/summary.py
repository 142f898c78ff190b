"""The text of a run's Telegram summary: the legacy lines - one per SMS, in decision order, or "nothing to
send" - and what the project adds where the legacy job was silent: what to do about an SMS no retry can send,
what the booking source lost (docs/rules/rules-config.md, "The Telegram summary").

The legacy summary is one line per SMS, in the order of the decisions - byte for byte what the legacy job
posted, whenever it fits in one Telegram message (4,096 characters). A run with more to say (a first run over a
large chain: 7,000 SMS are 48 messages, nearly a minute at Telegram's pace; the legacy job's message was
simply refused) posts a bounded summary instead, in the same line format:

    문자 7,000건 중 발송 완료 6,990건 · 발송 실패 8건 · 발송 확인중 2건 (일부만 보임: naver-sms history)
    강남점 예약확정 문자 발송 완료 2,100건                     <- counts per store and kind
    강남점 안내 문자 발송 실패 3건
    ...
    010-0000-0001 안내 문자 발송 실패                           <- every failure line, as the legacy job wrote it
    010-0000-0002 예약확정 문자 발송 확인중
    010-0000-0003 예약확정 문자 발송 완료                       <- the first sent lines, up to SENT_LINES
    ... 외 6,940건 문자 발송 완료

Its size grows with the stores and the failures, never with the SMS sent. Every failure line is kept, so a run
in which thousands fail (SENS down) still lists each (the Telegram client splits such a text on line
boundaries); the next runs retry those sends anyway.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

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


#: one Telegram message (sendMessage's `text`), in UTF-16 code units
MESSAGE_MAX_CHARS = 4096
#: sent lines a bounded summary lists, at most (fewer when the counts and failures leave less room)
SENT_LINES = 40

#: how each status of an SMS reads in a summary line; `planned` (a dry run) has no line
_OUTCOME = {
    "sent": "발송 완료",
    "outbox": "발송 완료",
    "reconciled": "발송 완료",
    "failed": "발송 실패",
    "unknown": "발송 확인중",  # SENS took it and did not answer: the next runs find out
}
_DONE = "발송 완료"


def run_summary(sms: Sequence[SmsRecord], store_names: Mapping[str, str] | None = None) -> str:
    """The summary a run posts: the legacy one when it fits in one message, else the bounded one.
    `store_names` names the stores of the count lines (store id -> alias; the id when absent)."""
    text = legacy_summary(sms)
    if _chars(text) <= MESSAGE_MAX_CHARS:
        return text
    return bounded_summary(sms, store_names or {})


def bounded_summary(sms: Sequence[SmsRecord], store_names: Mapping[str, str]) -> str:
    """Counts per store and kind, every failure line, the first sent lines up to `SENT_LINES` (see above)."""
    listed = [r for r in sms if r.status in _OUTCOME]
    outcomes = Counter(_OUTCOME[r.status] for r in listed)
    head = f"문자 {len(listed):,}건 중 " + " · ".join(
        f"{outcome} {outcomes[outcome]:,}건"
        for outcome in dict.fromkeys(_OUTCOME.values())
        if outcomes[outcome]
    )
    per_store: Counter[tuple[str, str, str]] = Counter(
        (store_names.get(r.store_id, r.store_id), _label(r), _OUTCOME[r.status]) for r in listed
    )
    counts = [f"{store} {label} 문자 {outcome} {n:,}건" for (store, label, outcome), n in per_store.items()]
    failures = [_line(r) for r in listed if _OUTCOME[r.status] != _DONE]
    failures += [f"{r.phone} {_label(r)}: {r.fix}" for r in listed if r.fix and r.status == "failed"]
    lines = [head + " (일부만 보임: naver-sms history)", *counts, *failures]
    room = MESSAGE_MAX_CHARS - _chars("\n".join(lines))
    sent = [r for r in listed if _OUTCOME[r.status] == _DONE]
    shown: list[str] = []
    for record in sent[:SENT_LINES]:
        line = _line(record)
        rest = f"... 외 {len(sent) - len(shown) - 1:,}건 문자 {_DONE}"
        if _chars(line) + _chars(rest) + 2 > room:
            break
        shown.append(line)
        room -= _chars(line) + 1
    lines += shown
    if len(sent) > len(shown):
        lines.append(f"... 외 {len(sent) - len(shown):,}건 문자 {_DONE}")
    return "\n".join(lines)


def _label(record: SmsRecord) -> str:
    return record.label or record.template


def _line(record: SmsRecord) -> str:
    return f"{record.phone} {_label(record)} 문자 {_OUTCOME[record.status]}"


def _chars(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2
