"""SMS text measured as SENS counts it (sms_text.py): EUC-KR bytes, and the characters EUC-KR cannot hold."""

from __future__ import annotations

import pytest

from naver_sms.domain.sms_text import choose_type, euc_kr_length, non_euc_kr_chars


@pytest.mark.parametrize(
    ("text", "odd"),
    [
        ("[예약] 고객님 3월 5일 14:00 확정", []),
        ("", []),
        ("확정 ⚠ 주차 ⚠ 🙂 안내 🙂\ufe0f", ["⚠", "🙂", "\ufe0f"]),
        ("🙂", ["🙂"]),
        ("a\ud800b", ["\ud800"]),  # a lone surrogate: no encoding holds it
    ],
)
def test_the_characters_euc_kr_cannot_hold_are_named_once_in_order(text: str, odd: list[str]) -> None:
    assert non_euc_kr_chars(text) == odd


def test_hangul_counts_two_bytes_and_an_unencodable_character_two() -> None:
    assert euc_kr_length("ab") == 2
    assert euc_kr_length("가나") == 4
    assert euc_kr_length("가🙂") == 4
    assert choose_type("가" * 45) == "SMS" and choose_type("가" * 46) == "LMS"
