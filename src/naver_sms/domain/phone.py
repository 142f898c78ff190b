"""Korean phone numbers: every way of writing one, to its national form - or refused.

An SMS goes to `phone_digits` exactly as this returns them, so a number that is not a Korean mobile or
landline number must never get this far (issue 9, item 8: `+82 10-…` was sent to `8210…`).

    national_number("+82 10-1234-5678") == "01012345678"
    national_number("(02) 123-4567")    == "021234567"

Accepted: ASCII digits with spaces, `-`, `.`, parentheses, and the country code written `+82`, `82` or
`0082` (with or without the `0` of the national prefix, `+82 (0)10…`). The national number must then be

| kind | form | digits |
|---|---|---|
| mobile | `01[016789]` + 7 or 8 digits | 10-11 |
| Seoul | `02` + 7 or 8 digits | 9-10 |
| other areas | `031`-`033`, `041`-`044`, `051`-`055`, `061`-`064` + 7 or 8 digits | 10-11 |
| internet phone | `070` + 8 digits | 11 |
| personal / safe numbers | `050x` + 7 or 8 digits | 11-12 |

Anything else (a foreign number, `1588-…` service numbers that cannot receive an SMS, letters, other
scripts' digits) is a `PhoneError`. docs/naver.md ("Malformed bookings") lists the same.
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
