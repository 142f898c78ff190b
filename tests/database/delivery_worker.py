"""One run of deliveries, as a real process: `python -m tests.database.delivery_worker --db ... --sent ...`.

Creates the records of `--bookings` synthetic bookings (as a run creates new ones), then delivers each one's
confirmation SMS through `deliver_once`, recording sends in the `--sent` file. Used by the concurrency and
crash tests:

- `--wait-go`: print `ready` and wait for a line on stdin, so that several workers start at once;
- `--crash after-claim`: SIGKILL itself inside `send`, before anything went out;
- `--crash after-send`: SIGKILL itself when committing, after the SMS went out.

Prints one JSON line: the count of each delivery outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, NoReturn

from naver_sms.delivery import deliver_once
from naver_sms.domain.booking import BookingRecord
from naver_sms.errors import NaverSmsError
from naver_sms.ports import SmsMessage, SmsReceipt
from tests.database.backends import open_backend
from tests.database.recording_sms import RecordingSms

FLAG = "confirm_sms"
SENDER = "0200000000"


def booking(n: int) -> tuple[BookingRecord, SmsMessage]:
    digits = f"0100000{n:04d}"
    record = BookingRecord(
        booking_num=f"900001_{n}",
        phone=f"010-0000-{n:04d}",
        name="홍길동",
        booking_time="2026-11-26 20:00:00",
    )
    return record, SmsMessage(
        to=digits, sender=SENDER, type="LMS", subject="안내", content="예약이 확정되었습니다."
    )


def _die() -> NoReturn:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


class CrashBeforeSend(RecordingSms):
    def send(self, message: SmsMessage) -> SmsReceipt:
        _die()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--sent", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--bookings", type=int, default=1)
    parser.add_argument(
        "--now", required=True, help="the run's real time (claims, leases, the SMS service's clock), ISO 8601"
    )
    parser.add_argument("--lease-seconds", type=int, default=600)
    parser.add_argument("--crash", choices=["after-claim", "after-send"])
    parser.add_argument("--wait-go", action="store_true")
    args = parser.parse_args(argv)

    backend = open_backend(args.db)
    now = datetime.fromisoformat(args.now)
    # the SMS service's clock is the run's one real clock: the look-up window of a later run is real time
    service = CrashBeforeSend if args.crash == "after-claim" else RecordingSms
    sms = service(args.sent, wall_clock=lambda: now)
    repo: Any = backend.repo
    if args.crash == "after-send":
        repo.commit = lambda *a, **k: _die()  # the SMS went out; the process dies before the commit

    work = [booking(n) for n in range(args.bookings)]
    for record, _ in work:
        backend.repo.create(record)
    if args.wait_go:
        print("ready", flush=True)
        sys.stdin.readline()

    outcomes: Counter[str] = Counter()
    for record, message in work:
        try:
            outcome = deliver_once(
                repo=repo,
                sms=sms,
                message=message,
                key=record.key,
                flag=FLAG,
                run_id=args.run_id,
                now=now,
                lease=timedelta(seconds=args.lease_seconds),
            )
            outcomes[outcome.status] += 1
        except NaverSmsError as exc:
            outcomes[f"error:{type(exc).__name__}"] += 1
    print(json.dumps(dict(outcomes)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
