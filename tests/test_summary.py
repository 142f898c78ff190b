"""The Telegram summary lines (legacy-behaviour.md §6), including the lines the legacy job never had."""

from __future__ import annotations

from naver_sms.rules.context import SmsRecord
from naver_sms.runner import NOTHING_TO_SEND, legacy_summary


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
