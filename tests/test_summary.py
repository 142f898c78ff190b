"""The Telegram summary lines (legacy-behaviour.md §6), including the lines the legacy job never had."""

from __future__ import annotations

from naver_sms.rules.context import SmsRecord
from naver_sms.rules.summary import (
    MESSAGE_MAX_CHARS,
    NOTHING_TO_SEND,
    SENT_LINES,
    legacy_summary,
    run_summary,
)


def sms(status: str, label: str | None, phone: str = "010-0000-0001") -> SmsRecord:
    return SmsRecord(
        to=phone.replace("-", ""),
        sender="0200000000",
        type="LMS",
        subject="s",
        content="c",
        store_id="1000001",
        template="t",
        rule="r",
        status=status,  # type: ignore[arg-type]
        booking_num="1000001_1",
        phone=phone,
        label=label,
    )


def test_sent_failed_and_unknown_lines_in_decision_order() -> None:
    text = legacy_summary(
        [
            sms("sent", "예약확정"),
            sms("outbox", "안내"),
            sms("reconciled", "옵션"),
            sms("failed", "안내"),
            sms("unknown", "예약확정"),
            sms("planned", "안내"),
        ]
    )
    assert text.splitlines() == [
        "010-0000-0001 예약확정 문자 발송 완료",
        "010-0000-0001 안내 문자 발송 완료",
        "010-0000-0001 옵션 문자 발송 완료",
        "010-0000-0001 안내 문자 발송 실패",
        "010-0000-0001 예약확정 문자 발송 확인중",  # SENS took it, no answer: never a blind resend
    ]


def test_nothing_to_send() -> None:
    assert legacy_summary([]) == NOTHING_TO_SEND == "문자 발송 대상 없음"


def test_a_template_without_a_label_is_named_by_its_template() -> None:
    assert legacy_summary([sms("sent", None)]) == "010-0000-0001 t 문자 발송 완료"


# --- issue 12 item 4: a summary that scales ------------------------------------------------------------------


def many(n: int, status: str = "sent", label: str = "예약확정", store: str = "1000001") -> list[SmsRecord]:
    return [
        SmsRecord(
            to=f"0100000{i:04d}",
            sender="0200000000",
            type="LMS",
            subject="s",
            content="c",
            store_id=store,
            template="t",
            rule="r",
            status=status,  # type: ignore[arg-type]
            booking_num=f"{store}_{i}",
            phone=f"010-0000-{i:04d}",
            label=label,
        )
        for i in range(n)
    ]


def test_a_summary_that_fits_one_message_is_the_legacy_summary_byte_for_byte() -> None:
    # GIVEN as many SMS as one Telegram message holds (each line 27 characters and a newline)
    records = many(MESSAGE_MAX_CHARS // 28)
    legacy = legacy_summary(records)
    assert len(legacy) <= MESSAGE_MAX_CHARS
    # WHEN the run's summary is made THEN it is the legacy one, whatever the store names
    assert run_summary(records, {"1000001": "강남점"}) == legacy
    assert run_summary([]) == NOTHING_TO_SEND


def test_a_summary_too_long_for_one_message_is_bounded_with_counts_failures_and_a_cap() -> None:
    # GIVEN a first run: 5,000 confirmations in two stores, 300 guides, 3 failures and 1 unanswered send
    sent = many(3000) + many(2000, store="1000002") + many(300, label="안내")
    failed = many(3, "failed", label="안내", store="1000002")
    unknown = many(1, "unknown")
    records = sent[:10] + failed + sent[10:] + unknown
    # WHEN the run's summary is made
    text = run_summary(records, {"1000001": "강남점", "1000002": "홍대점"})
    lines = text.splitlines()
    # THEN it fits in one Telegram message
    assert len(text) <= MESSAGE_MAX_CHARS
    # AND it says how many of each outcome, then counts per store and kind in the legacy line format
    assert lines[0] == (
        "문자 5,304건 중 발송 완료 5,300건 · 발송 실패 3건 · 발송 확인중 1건 (일부만 보임: naver-sms history)"
    )
    assert lines[1:5] == [
        "강남점 예약확정 문자 발송 완료 3,000건",
        "홍대점 안내 문자 발송 실패 3건",
        "홍대점 예약확정 문자 발송 완료 2,000건",
        "강남점 안내 문자 발송 완료 300건",
    ]
    # AND every failure line as the legacy job wrote it, in decision order
    assert [line for line in lines if line.endswith(("실패", "확인중"))] == [
        "010-0000-0000 안내 문자 발송 실패",
        "010-0000-0001 안내 문자 발송 실패",
        "010-0000-0002 안내 문자 발송 실패",
        "010-0000-0000 예약확정 문자 발송 확인중",
    ]
    # AND the first sent lines, in decision order, up to the cap, then how many more
    shown = [line for line in lines if line.endswith("발송 완료") and line.startswith("010-")]
    assert shown == legacy_summary(sent[: len(shown)]).splitlines()
    assert 0 < len(shown) <= SENT_LINES
    assert lines[-1] == f"... 외 {len(sent) - len(shown):,}건 문자 발송 완료"


def test_every_failure_line_is_kept_even_when_the_failures_alone_fill_more_than_one_message() -> None:
    # GIVEN SENS down for a whole first run: 2,000 failed sends
    records = many(2000, "failed")
    text = run_summary(records)
    # THEN each failure is listed (the Telegram client splits the text on line boundaries), no sent line
    assert [line for line in text.splitlines() if line.endswith("발송 실패")] == legacy_summary(
        records
    ).splitlines()
    assert "발송 완료" not in text


def test_the_message_limit_is_counted_as_telegram_counts_it_in_utf16_units() -> None:
    # GIVEN labels with a character outside the BMP (two UTF-16 units each)
    records = many(140, label="예약확정📷")
    legacy = legacy_summary(records)
    assert len(legacy) <= MESSAGE_MAX_CHARS < len(legacy.encode("utf-16-le")) // 2
    # THEN the legacy text would not fit: the bounded one is posted, and it fits
    text = run_summary(records)
    assert text != legacy and len(text.encode("utf-16-le")) // 2 <= MESSAGE_MAX_CHARS
