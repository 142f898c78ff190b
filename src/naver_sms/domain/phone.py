"""Korean phone numbers: every way of writing one, to its national form - or refused (docs/naver.md,
"Malformed bookings", lists what is accepted). An SMS goes to exactly these digits, so a number that is not a
Korean mobile or landline number must never get this far (issue 9, item 8: `+82 10-…` was sent to `8210…`).

    national_number("+82 10-1234-5678") == "01012345678"
    national_number("(02) 123-4567")    == "021234567"
"""

from __future__ import annotations

import re


class PhoneError(ValueError):
    """Not a Korean mobile or landline number; the message says why."""


_WRITTEN = re.compile(r"\+?[0-9 ().\-]+")
_NATIONAL = re.compile(
    r"01[016789][0-9]{7,8}"
    r"|02[0-9]{7,8}"
    r"|0(?:3[1-3]|4[1-4]|5[1-5]|6[1-4])[0-9]{7,8}"
    r"|070[0-9]{8}"
    r"|050[0-9][0-9]{7,8}"
)


def national_number(written: str) -> str:
    """The national digits of a Korean number (`010…`, `02…`, `0xx…`); `PhoneError` otherwise."""
    if _NATIONAL.fullmatch(written):  # already the national form (as Naver sends it): nothing to take away
        return written
    text = written.strip()
    if not _WRITTEN.fullmatch(text):
        if "+" in text:
            raise PhoneError("not a phone number: '+' may only start it (+82)")
        raise PhoneError(
            "not a phone number: only digits 0-9, spaces, '-', '.', '(', ')' and a leading '+82' may appear"
        )
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+"):
        if not digits.startswith("82"):
            raise PhoneError("not a Korean number (only +82 numbers are sent to)")
        national = "0" + digits[2:].removeprefix("0")
    elif digits.startswith(("0082", "82")):  # no national number starts with 8: the country code
        national = "0" + digits.removeprefix("00")[2:].removeprefix("0")
    else:
        national = digits  # written nationally: it keeps its own leading 0, or it is not a number
    if not _NATIONAL.fullmatch(national):
        raise PhoneError("not a Korean mobile or landline number")
    return national


def format_phone_key(digits: str) -> str:
    """The phone as the `sms` table's sort key: legacy's 3-4-rest for 11 digits (`010-1234-5678`); 10-digit
    numbers, which legacy split wrongly (`011-1234-567`), get 3-3-4, Seoul's `02` 2-3/4-4, others no dashes."""
    if len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if digits.startswith("02") and len(digits) in (9, 10):
        return f"02-{digits[2:-4]}-{digits[-4:]}"
    if len(digits) == 10:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return digits


def legacy_phone_key(digits: str) -> str:
    """The key the legacy job wrote: always 3-4-rest (`011-1234-567` for a 10-digit number). Rows it left
    keep their key; the runner finds them under it (runner.build_plan), so no booking is taken for new."""
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
