"""Benchmark of the rule engine and of a whole sandbox run (issue 2, item 13).

    .venv/bin/python bench/engine.py [--bookings 10000] [--repeat 5] [--seed 20261126]

Prints figures; asserts nothing about time. Everything is synthetic and seeded, so two runs decide on the
same data:

(a) decision throughput: the default rules compiled once, `Facts` for N bookings (half of them with a row
    of the `sms` table, with random flags), `RuleEngine.evaluate` timed (best and median of --repeat) ->
    bookings x rules per second, and the time to decide N bookings (target: 10,000 in under 1 s, one core);
(b) a whole sandbox run: `run_once` over a JSON file of N bookings, a fresh SQLite database in a temp
    directory, every SMS to the outbox - total and per stage, wall clock and CPU time (a wall time far above
    the CPU time is time spent waiting for the disk); then a second run on the same state (nothing left to
    send);
and the peak memory: tracemalloc's peak while deciding, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from naver_sms.config.settings import Settings  # noqa: E402
from naver_sms.domain.booking import Booking, BookingRecord  # noqa: E402
from naver_sms.domain.clock import FixedClock, parse_kst  # noqa: E402
from naver_sms.rules.facts import Facts  # noqa: E402
from naver_sms.runner import run_once  # noqa: E402
from naver_sms.wiring import build_runtime, compile_config  # noqa: E402

CONFIG_DIR = ROOT / "config"
#: 20:10 Korean time: the review rule's `current_hour(20)` holds, so RC08 bookings are evaluated in full.
NOW = "2026-11-26 20:10"
STORES = [str(1000001 + i) for i in range(8)]
EXTRA_OPTIONS = [
    "원본 파일",
    "인스타 팔로우 이벤트",
    "네이버 리뷰 약속",
    "전문가 보정",
    "추가 인화",
    "소품 대여",
]


def synthetic_bookings(n: int, seed: int, now: datetime) -> list[dict[str, Any]]:
    """N Naver-format booking objects (external-apis.md §1): 8 stores, ~70% RC03 / 30% RC08, options."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        status = "RC03" if rng.random() < 0.7 else "RC08"
        if status == "RC03":  # from a few hours ago to two weeks ahead, on the 10-minute grid
            start = now + timedelta(minutes=10 * rng.randint(-18, 14 * 24 * 6))
        else:  # completed in the last three days
            start = now - timedelta(minutes=10 * rng.randint(6, 3 * 24 * 6))
        options = [{"optionId": 100, "name": "50분 촬영", "price": 30000, "bookingCount": 1}]
        for k in range(rng.choice((0, 0, 1, 1, 2, 3))):
            options.append(
                {
                    "optionId": 101 + k,
                    "name": rng.choice(EXTRA_OPTIONS),
                    "price": 5000,
                    "bookingCount": rng.choice((1, 1, 1, 2, 3)),
                }
            )
        utc = start.astimezone(UTC)
        phone = f"010{i:08d}"
        out.append(
            {
                "bookingId": 800000000 + i,
                "businessId": int(rng.choice(STORES)),
                "bookingStatusCode": status,
                "name": f"고객{i:05d}",
                "phone": phone,
                "bizItemName": "50min / 1-4 persons",
                "regDateTime": (start - timedelta(days=rng.randint(0, 20))).isoformat(),
                "snapshotJson": {
                    "startDateTime": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "endDateTime": (utc + timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "bookingOptionJson": options,
                    "couponJson": [],
                },
                "bookingOptionJson": options,
            }
        )
    return out


def synthetic_record(booking: Booking, rng: random.Random) -> BookingRecord:
    """A row as earlier runs would have left it: random legacy flags, sometimes a failed attempt."""
    extra: dict[str, Any] = {}
    if rng.random() < 0.05:
        extra = {"confirm_sms_attempts": 1, "confirm_sms_last_error": "sens: unavailable"}
    return BookingRecord(
        booking_num=booking.booking_num,
        phone=booking.phone,
        name=booking.name,
        booking_time=booking.booking_time,
        confirm_sms=rng.random() < 0.9 and not extra,
        remind_sms=rng.random() < 0.3,
        option_sms=rng.random() < 0.2,
        extra=extra,
    )


def bench_decide(n: int, repeat: int, seed: int) -> None:
    now = parse_kst(NOW)
    config, engine, rules = compile_config(CONFIG_DIR)
    enabled = [r for r in rules if r.enabled]
    raw = synthetic_bookings(n, seed, now)

    t0 = time.perf_counter()
    bookings = [Booking.from_naver(obj) for obj in raw]
    t_map = time.perf_counter() - t0

    rng = random.Random(seed + 1)
    t0 = time.perf_counter()
    facts = [
        Facts(
            b,
            synthetic_record(b, rng) if i % 2 == 0 else None,
            now,
            config.store(b.store_id),
            config.option_keywords,
        )
        for i, b in enumerate(bookings)
    ]
    t_facts = time.perf_counter() - t0

    times = []
    plan = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        plan = engine.evaluate(rules, facts)
        times.append(time.perf_counter() - t0)
    assert plan is not None
    matches = sum(1 for _ in plan.matches())
    best, median = min(times), statistics.median(times)

    tracemalloc.start()
    engine.evaluate(rules, facts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    pairs = n * len(enabled)
    print(
        f"(a) decision throughput - {n} bookings (half with a row) x {len(enabled)} default rules, now {NOW}"
    )
    print(f"    map Naver JSON -> Booking      {t_map:8.3f} s")
    print(f"    build Facts                   {t_facts:8.3f} s")
    print(f"    evaluate (best of {repeat})         {best:8.3f} s   median {median:.3f} s")
    print(f"    bookings x rules per second    {pairs / best:12,.0f}   (median {pairs / median:,.0f})")
    print(f"    time to decide {n} bookings  {best:8.3f} s   (target < 1 s on one core)")
    print(f"    matches in the plan            {matches:8d}")
    print(f"    tracemalloc peak while deciding {peak / 2**20:7.1f} MiB")


def bench_run(n: int, seed: int) -> None:
    now = parse_kst(NOW)
    with tempfile.TemporaryDirectory(prefix="naver-sms-bench-") as tmp:
        bookings_file = Path(tmp) / "bookings.json"
        bookings_file.write_text(json.dumps(synthetic_bookings(n, seed, now), ensure_ascii=False))
        settings = Settings(
            config_dir=CONFIG_DIR, db=str(Path(tmp) / "state.sqlite3"), bookings_path=bookings_file
        )
        print(f"(b) a whole sandbox run - {n} bookings from a JSON file, fresh SQLite, outbox, now {NOW}")
        for label in ("first run (empty database)", "second run (same state, nothing new)"):
            marks: list[tuple[str, float, float]] = []  # (stage, wall clock, CPU time of the process)

            def mark(stage: str, _detail: str = "", marks: list[tuple[str, float, float]] = marks) -> None:
                marks.append((stage, time.perf_counter(), time.process_time()))

            mark("setup")
            run_id = f"bench-{len(label)}"
            runtime, state = build_runtime(settings, clock=FixedClock(now), run_id=run_id, progress=mark)
            report = run_once(runtime, run_id=run_id)
            mark("end")
            if state.sqlite is not None:
                state.sqlite.close()
            counts = report.counts()
            names = {
                "setup": "setup (config, rules, state)",
                "fetch": "fetch + map",
                "decide": "load rows + decide",
                "act": "act + summary",
            }
            print(f"    {label}: {marks[-1][1] - marks[0][1]:.3f} s in all")
            print(f"      {'stage':30s} {'wall':>8s}   {'CPU':>8s}")
            for (stage, wall, cpu), (_, wall_next, cpu_next) in itertools.pairwise(marks):
                if stage in names:
                    print(f"      {names[stage]:30s} {wall_next - wall:8.3f} s {cpu_next - cpu:8.3f} s")
            act = next((m, nxt) for m, nxt in itertools.pairwise(marks) if m[0] == "act")
            sent = counts["sms_sent"]
            per_sms = f", {1000 * (act[1][1] - act[0][1]) / sent:.1f} ms of acting per SMS" if sent else ""
            print(
                f"      bookings {counts['bookings']}, SMS {sent} to the outbox{per_sms}, "
                f"{counts['sms_failed']} failed, flags {counts['flags_changed']}, errors {counts['errors']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"naver-sms bench/engine.py - Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load}, seed {args.seed}"
    )
    bench_decide(args.bookings, args.repeat, args.seed)
    bench_run(args.bookings, args.seed)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak RSS of the process: {rss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
