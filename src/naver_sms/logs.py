"""Every log line about a booking is one JSON object written here, personal data masked (domain.privacy)."""

from __future__ import annotations

import json
import logging
from typing import Any

from naver_sms.domain.privacy import mask_text


def emit(logger: logging.Logger, level: int, event: str, /, **fields: Any) -> dict[str, Any]:
    """Write one JSON object (`{"event": ..., **fields}`) as a log line; returns it. Values must already be
    safe; strings are passed through `mask_text` once more as a net."""
    record = {"event": event}
    for key, value in fields.items():
        record[key] = mask_text(value) if isinstance(value, str) else value
    logger.log(level, json.dumps(record, ensure_ascii=False, default=str))
    return record
