"""DynamoDB backend: batched loads and claim/commit latency, against a local stand-in it starts itself.

    .venv/bin/python bench/dynamodb.py                 # moto_server (default)
    .venv/bin/python bench/dynamodb.py --dynalite      # dynalite (npm), for comparison
    .venv/bin/python bench/dynamodb.py --endpoint URL  # an endpoint that is already running

Prints, for loading the records of 1,000 and 10,000 bookings, the number of BatchGetItem calls (target:
ceil(N/100)) and the time; then the latency of claim and of commit (median, p95) over `--flags` flags.
Local stand-ins measure the client and the protocol's round trips, not AWS's service latency.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.standins.dynamo import dynalite, moto_server  # noqa: E402

from naver_sms.database.dynamo_items import to_item  # noqa: E402
from naver_sms.database.dynamo_tables import create_tables  # noqa: E402
from naver_sms.database.dynamo_target import DynamoTarget, make_client  # noqa: E402
from naver_sms.database.dynamodb_client import DynamoRepository  # noqa: E402
from naver_sms.domain.booking import BookingRecord  # noqa: E402
from naver_sms.domain.clock import KST  # noqa: E402

NOW = datetime(2026, 11, 26, 18, 40, tzinfo=KST)


def record(n: int) -> BookingRecord:
    return BookingRecord(
        booking_num=f"900001_{n}",
        phone=f"010-{n // 10000:04d}-{n % 10000:04d}",
        name="홍길동",
        booking_time="2026-11-26 20:00:00",
        confirm_sms=True,
    )


def seed(target: DynamoTarget, count: int) -> None:
    """Write `count` records with BatchWriteItem (setup, not measured)."""
    client = make_client(target)
    for start in range(0, count, 25):
        requests = [
            {"PutRequest": {"Item": to_item(record(n).to_item())}}
            for n in range(start, min(count, start + 25))
        ]
        pending: dict[str, Any] = {target.sms_table: requests}
        while pending:
            response = client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


@contextmanager
def stand_in(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    server: AbstractContextManager[str]
    if args.endpoint:
        server, name = nullcontext(args.endpoint), "endpoint"
    elif args.dynalite:
        server, name = dynalite(), "dynalite"
    else:
        server, name = moto_server(), "moto_server"
    with server as endpoint:
        yield name, endpoint


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint", help="use a running DynamoDB-compatible endpoint")
    parser.add_argument("--dynalite", action="store_true", help="start dynalite instead of moto_server")
    parser.add_argument(
        "--sizes", default="1000,10000", help="numbers of bookings to load (default 1000,10000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="loads per size; the median is reported")
    parser.add_argument("--flags", type=int, default=300, help="claims and commits measured")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with stand_in(args) as (name, endpoint):
        suffix = str(int(time.time()))
        target = DynamoTarget(
            endpoint=endpoint, sms_table=f"bench-sms-{suffix}", session_table=f"bench-session-{suffix}"
        )
        create_tables(target)
        started = time.perf_counter()
        seed(target, max(sizes))
        print(
            f"# {name} at {endpoint}: seeded {max(sizes):,} records in {time.perf_counter() - started:.1f} s"
        )
        repo = DynamoRepository(target)

        print(
            f"\n{'bookings':>9} {'read calls':>10} {'ceil(N/100)':>11} {'found':>7} {'errors':>6} {'median s':>9} "
            f"{'min s':>7}"
        )
        for size in sizes:
            keys = [record(n).key for n in range(size)]
            times: list[float] = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                result = repo.load(keys)
                times.append(time.perf_counter() - t0)
            print(
                f"{size:>9,} {result.read_calls:>10} {math.ceil(size / 100):>11} {len(result.records):>7,} "
                f"{len(result.errors):>6} {statistics.median(times):>9.3f} {min(times):>7.3f}"
            )

        claims: list[float] = []
        commits: list[float] = []
        for n in range(args.flags):
            key = record(n).key
            t0 = time.perf_counter()
            claim = repo.claim(key, "remind_sms", run_id="bench", now=NOW, lease=timedelta(minutes=10))
            t1 = time.perf_counter()
            repo.commit(claim, request_id=f"RQ-{n}", sent_at=NOW)
            t2 = time.perf_counter()
            claims.append(t1 - t0)
            commits.append(t2 - t1)
        print(
            f"\n{'operation':>9} {'count':>6} {'median ms':>10} {'p95 ms':>8}   (claim = 1 consistent read + 1 "
            "conditional update; commit = 1 conditional update)"
        )
        for label, values in (("claim", claims), ("commit", commits)):
            print(
                f"{label:>9} {len(values):>6} {statistics.median(values) * 1000:>10.2f} "
                f"{percentile(values, 0.95) * 1000:>8.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
