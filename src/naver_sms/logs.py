"""Structured log events with personal data masked.

Every log line the package writes about a booking goes through here (or through `mask_text`): phone numbers
become `010-****-5678`, names `홍*동` (legacy-behaviour.md §7). Secrets are never passed to a logger at all.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from naver_sms.domain.booking import Booking, mask_name, mask_phone

__all__ = ["emit", "mask_text"]

# Korean phone numbers with or without hyphens: 010-1234-5678, 01012345678, 02-123-4567, 011-123-4567
_PHONE = re.compile(r"(?<!\d)(0\d{1,2})-?(\d{3,4})-?(\d{4})(?!\d)")


def mask_text(text: str, bookings: Iterable[Booking] = ()) -> str:
    """Mask every phone-number-like run of digits, and the names of `bookings`, in free text."""
    for booking in bookings:
        if booking.name and len(booking.name) > 1:
            text = text.replace(booking.name, mask_name(booking.name))
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def emit(logger: logging.Logger, level: int, event: str, /, **fields: Any) -> dict[str, Any]:
    """Write one JSON object (`{"event": ..., **fields}`) as a log line; returns it. Values must already be
    safe; strings are passed through `mask_text` once more as a net."""
    record = {"event": event}
    for key, value in fields.items():
        record[key] = mask_text(value) if isinstance(value, str) else value
    logger.log(level, json.dumps(record, ensure_ascii=False, default=str))
    return record
