"""SMS text measurement: SENS counts bytes in EUC-KR (Hangul = 2 bytes) and truncates over-long content
silently, so lengths are checked before sending (external-apis.md §2)."""

from __future__ import annotations

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
SUBJECT_MAX_BYTES = 40


def non_euc_kr_chars(text: str) -> list[str]:
    """The distinct characters EUC-KR cannot encode (emoji, ⬇ ⚠ ❗, variation selectors), in order of
    appearance. SENS may drop or reject them; they are kept as written and reported as a warning."""
    try:  # the whole text at once (nearly always all of it encodes): one call, not one per character
        text.encode("euc-kr")
    except UnicodeEncodeError:
        pass
    else:
        return []
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
    try:  # the whole text at once when it can be (nearly always): not one encode call per character
        return len(text.encode("euc-kr"))
    except UnicodeEncodeError:
        pass
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


def limit_of(sms_type: str) -> int:
    """The most content bytes SENS takes for a type: 90 for SMS, 2000 for LMS (and MMS)."""
    return SMS_MAX_BYTES if sms_type == "SMS" else LMS_MAX_BYTES


def length_problem(sms_type: str, content: str, subject: str) -> str | None:
    """What SENS would silently truncate - the content over its type's limit, or an LMS/MMS subject over 40
    bytes, counted in EUC-KR - or None when the message fits. The one measure of a message: the SMS action
    applies it when it composes a text (so previews show what the run would refuse), and the outbox and the
    SENS client before sending."""
    limit = limit_of(sms_type)
    size = euc_kr_length(content)
    if size > limit:
        return f"{sms_type} content is {size} bytes in EUC-KR, over the limit of {limit} (SENS would truncate it)"
    if sms_type != "SMS" and (subject_size := euc_kr_length(subject)) > SUBJECT_MAX_BYTES:
        return f"subject is {subject_size} bytes in EUC-KR, over the limit of {SUBJECT_MAX_BYTES}"
    return None
