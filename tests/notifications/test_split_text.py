"""Splitting long texts for Telegram (4096) and Slack (40,000): whole lines, nothing lost."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from naver_sms.domain.privacy import mask_text as mask_phones
from naver_sms.notifications._http import split_text, utf16_length


def test_a_text_within_the_limit_is_one_part() -> None:
    assert split_text("a\nb", 10) == ["a\nb"]


def test_lines_are_packed_greedily_and_never_split_when_they_fit() -> None:
    assert split_text("aaa\nbbb\nccc", 7) == ["aaa\nbbb", "ccc"]


def test_a_line_longer_than_the_limit_is_cut_hard() -> None:
    assert split_text("ab\ncccccccccc\nd", 4) == ["ab", "cccc", "cccc", "cc\nd"]


def test_an_emoji_is_never_cut_in_half() -> None:
    assert split_text("😀😀😀", 3) == ["😀", "😀", "😀"]


@given(st.text(alphabet=st.sampled_from("ab가😀\n "), max_size=300), st.integers(min_value=2, max_value=40))
def test_every_part_fits_and_only_separating_newlines_and_blank_parts_are_lost(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    if utf16_length(text) <= limit:
        assert parts == [text]
        return
    assert all(0 < utf16_length(p) <= limit and p.strip() for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_phone_numbers_in_provider_text_are_masked() -> None:
    assert mask_phones("to 01098765432 / 010-9876-5432 / 02-123-4567") == (
        "to 010****5432 / 010-****-5432 / 02-****-4567"
    )
