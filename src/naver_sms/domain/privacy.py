"""Personal data out of logs and screens (legacy-behaviour.md §7): the only masking of phone numbers and names,
one pattern for every caller. A Korean number is `02` or a three-digit prefix, then 3-4 and 4 digits, with or
without hyphens, never part of a longer run of digits (a booking number `1000001_900000001` is not one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: The one phone pattern: `02` first (there is no 021-029 prefix), then the three-digit prefixes.
PHONE = re.compile(r"(?<!\d)(02|0\d{2})-?(\d{3,4})-?(\d{4})(?!\d)")


def mask_phone(phone: str) -> str:
    """`010-1234-5678` -> `010-****-5678`; digits-only numbers keep their first three and last four."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(phone)
    if len(digits) < 9 or not digits.startswith("0"):  # not a Korean number: keep only the last four
        return "*" * (len(digits) - 4) + digits[-4:]
    if "-" in phone:
        head, *_, tail = phone.split("-")
        return f"{head}-****-{tail}"
    return f"{digits[:3]}****{digits[-4:]}"


def mask_name(name: str) -> str:
    """`홍길동` -> `홍*동`, `김철` -> `김*`, `Alexander` -> `A*******r`."""
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """Mask every phone number in free text (each in the shape it was written in), and `names`."""
    for name in names:
        if name and len(name) > 1:
            text = text.replace(name, mask_name(name))
    return PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def _dashed(match: re.Match[str]) -> str:
    return mask_phone("-".join(match.groups()))


def mask_uniform(text: str) -> str:
    """Mask every phone number in `text` in one form, `010-****-0008`, however it was written."""
    return PHONE.sub(_dashed, text)


def mask_phone_uniform(phone: str) -> str:
    """One phone number masked in the form of `mask_uniform`, whatever its shape (a key, digits only)."""
    return mask_phone(PHONE.sub(lambda m: "-".join(m.groups()), phone.strip()))
