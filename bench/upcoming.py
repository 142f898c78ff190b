"""Benchmark of the forecast (`naver-sms upcoming`, issue 14 item 1): a day of 72 runs over N bookings.

    .venv/bin/python bench/upcoming.py [--bookings 1000] [--repeat 5] [--seed 20261126]

Prints figures; asserts nothing about time (target: 72 runs over 1,000 bookings in under 2 s). Synthetic and
seeded: N confirmed bookings spread over the eight example stores and the next three days (a third of them
with a row whose confirmation went out already), the default rules, a fresh SQLite state in a temp directory
holding those rows, and the bookings in a JSON file (the sandbox source). The forecast starts at 00:00, so
the day has all its 72 runs; it is timed whole (fetch, the rows read once, 72 evaluations and previews),
best and median of --repeat, and the time of the same forecast as `naver-sms upcoming --json` in a process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from naver_sms.config.settings import Settings  # noqa: E402
from naver_sms.domain.booking import Booking, BookingRecord  # noqa: E402
from naver_sms.domain.clock import FixedClock, parse_kst  # noqa: E402
from naver_sms.owner.upcoming import forecast  # noqa: E402
from naver_sms.wiring import build_runtime  # noqa: E402

CONFIG_DIR = ROOT / "config"
NOW = "2026-11-26 00:00"
STORES = [str(1000001 + i) for i in range(8)]


def synthetic_bookings(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = parse_kst(NOW)
    found = []
    for i in range(n):
        at = start + timedelta(days=rng.randrange(3), hours=rng.randrange(9, 22), minutes=rng.choice((0, 30)))
        utc = at.astimezone(UTC)
        found.append(
            {
                "bookingId": 700_000_000 + i,
                "businessId": int(STORES[i % len(STORES)]),
                "bookingStatusCode": "RC03",
                "name": "홍길동",
                "phone": f"0107{i:07d}",
                "snapshotJson": {
                    "startDateTime": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "bookingOptionJson": [{"name": "50분 촬영", "bookingCount": 1}],
                },
            }
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"naver-sms bench/upcoming.py - Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load}, seed {args.seed}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        raws = synthetic_bookings(args.bookings, args.seed)
        path = Path(tmp) / "bookings.json"
        path.write_text(json.dumps(raws, ensure_ascii=False), encoding="utf-8")
        db = Path(tmp) / "state.sqlite3"
        settings = Settings(config_dir=CONFIG_DIR, db=str(db), bookings_path=path)
        clock = FixedClock(parse_kst(NOW))
        rt, state = build_runtime(settings, clock=clock, real_clock=clock, run_id="bench", dry_run=True)
        for raw in raws[::3]:  # a third already confirmed
            b = Booking.from_naver(raw)
            row = BookingRecord.for_booking(b)
            state.repo.create(BookingRecord(row.booking_num, row.phone, row.name, row.booking_time, True))
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            shown = forecast(rt, date(2026, 11, 26))
            times.append(time.perf_counter() - t0)
        sms = [p for p in shown.planned if p.channel == "sms"]
        print(
            f"(a) forecast of {shown.day}: {len(shown.runs)} runs over {shown.bookings} bookings, in this process"
        )
        print(f"    best {min(times):.3f} s   median {statistics.median(times):.3f} s   (target < 2 s)")
        print(f"    planned SMS {len(sms)} ({sum(p.template == 'confirmation' for p in sms)} confirmations)")
        env = {**os.environ, "NAVER_SMS_TELEGRAM_ENABLED": "false"}
        command = [
            str(ROOT / ".venv" / "bin" / "naver-sms"),
            "upcoming",
            "--bookings",
            str(path),
            "--db",
            str(db),
            "--config",
            str(CONFIG_DIR),
            "--now",
            NOW,
            "--json",
        ]
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        whole = time.perf_counter() - t0
        planned = len(json.loads(done.stdout)["planned"])
        print(f"(b) naver-sms upcoming --json, a whole process: {whole:.3f} s, {planned} planned messages")


if __name__ == "__main__":
    main()
