"""SMS text measurement: SENS counts bytes in EUC-KR (Hangul = 2 bytes) and truncates over-long content
silently, so lengths are checked before sending (external-apis.md §2)."""

from __future__ import annotations

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
SUBJECT_MAX_BYTES = 40


def non_euc_kr_chars(text: str) -> list[str]:
    """The distinct characters EUC-KR cannot encode (emoji, ⬇ ⚠ ❗, variation selectors), in order of
    appearance. SENS may drop or reject them; they are kept as written and reported as a warning."""
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in seen:
            try:
                ch.encode("euc-kr")
            except UnicodeEncodeError:
                seen[ch] = None
    return list(seen)


def euc_kr_length(text: str) -> int:
    """Bytes of `text` in EUC-KR; a character EUC-KR cannot encode counts 2 (the conservative guess)."""
    total = 0
    for ch in text:
        try:
            total += len(ch.encode("euc-kr"))
        except UnicodeEncodeError:
            total += 2
    return total


def choose_type(content: str) -> str:
    """`type: auto`: SMS when the content fits in 90 bytes, LMS otherwise."""
    return "SMS" if euc_kr_length(content) <= SMS_MAX_BYTES else "LMS"
