"""`Retry-After` (RFC 9110 §10.2.3), as every adapter reads it: delta-seconds or an HTTP date."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC

__all__ = ["parse_retry_after"]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, from a `Retry-After` value (`"30"`, `"1.5"`, or an HTTP date); None when absent or
    unreadable. `now` is epoch seconds (default: the real time) for the date form."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, float(moment.timestamp()) - (time.time() if now is None else now))
