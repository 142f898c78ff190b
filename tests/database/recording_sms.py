"""A stand-in `SmsService` that records every send as one line of a file shared by processes.

Each send is a single `write` on a file opened with O_APPEND - atomic for lines this short on a local file
system - so eight processes appending at once never interleave, and the file is the ground truth of what
"went out". `find_sent` answers the look-up from the same file, as SENS answers it from its own records
(external-apis.md §2, "Look-ups after sending").
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from naver_sms.ports import SmsMessage, SmsReceipt


def _wall_now() -> datetime:
    return datetime.now(UTC)


class RecordingSms:
    live = True

    def __init__(self, path: str | Path, *, wall_clock: Callable[[], datetime] = _wall_now) -> None:
        self.path = Path(path)
        self.wall_clock = wall_clock

    def send(self, message: SmsMessage) -> SmsReceipt:
        accepted_at = self.wall_clock()
        request_id = f"RQ-{uuid.uuid4().hex[:16]}"
        line = json.dumps(
            {
                "request_id": request_id,
                "to": message.to,
                "from": message.sender,
                "content": message.content,
                "accepted_at": accepted_at.isoformat(),
                "pid": os.getpid(),
            },
            ensure_ascii=False,
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        return SmsReceipt("sent", request_id, accepted_at)

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        for sent in self.sent():
            at = datetime.fromisoformat(sent["accepted_at"])
            if (
                (sent["to"], sent["from"]) == (message.to, message.sender)
                and since <= at <= until
                and sent["request_id"] not in exclude
            ):
                return SmsReceipt("sent", sent["request_id"], at)
        return None

    def sent(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
