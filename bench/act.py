"""The act step (issue 12, items 1-2): a first run over N new bookings against the legacy job's loop.

    .venv/bin/python bench/act.py                         # 10,000 bookings over 200 stores, dynalite
    .venv/bin/python bench/act.py --backend sqlite        # the same on a SQLite file
    .venv/bin/python bench/act.py --bookings 2000 --repeat 1 --concurrency 1 4 8

For each repeat, on fresh tables:
(a) the project: `run_once` of a live run (`build_runtime`, the default rules, SENS's stand-in) over a
    bookings file - every booking new: 5 in 10 get their confirmation, 1 in 10 their confirmation and guide
    (starting within two hours), 4 in 10 are completed (nothing at this hour) - about 7 SMS per 10 bookings;
(b) the legacy-style loop on the same stand-ins: per SMS a PutItem of the row, the SENS send, and an
    UpdateItem of its flag, one after the other, with no claims (legacy-behaviour.md §3: what the legacy job
    did, minus its defects' absence of checks).
Printed: wall and CPU time, the run's act stage, DynamoDB API calls (or SQLite write transactions and how
many were fsync'd) per SMS, SENS calls per SMS, and the ratio legacy / project. Medians over `--repeat`.
The SENS stand-in runs in a process of its own; dynalite is a Node process. Nothing is asserted: the targets
(issue 12: at least 2x faster than the legacy-style loop on dynalite, at most 2 conditional writes and 1 SENS
call per SMS) are read off the output.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.counters import DynamoCalls, SensProcess, SqliteWrites, Timed, quiet_logs, write_stores_config  # noqa: E402
from tests.standins.dynamo import dynalite, new_target  # noqa: E402
from tests.world import kst, raw_booking, write_bookings  # noqa: E402

from naver_sms.config.settings import Settings  # noqa: E402
from naver_sms.database.dynamo_target import make_client  # noqa: E402
from naver_sms.domain.booking import Booking  # noqa: E402
from naver_sms.domain.clock import FixedClock, SystemClock  # noqa: E402
from naver_sms.notifications.sms_service import SensClient  # noqa: E402
from naver_sms.ports import SmsMessage  # noqa: E402
from naver_sms.runner import run_once  # noqa: E402
from naver_sms.wiring import build_runtime, compile_config  # noqa: E402

NOW = kst("2026-11-26 10:00")


def write_world(root: Path, bookings: int, stores: int) -> tuple[Path, Path]:
    """A configuration with `stores` stores (the default rules and templates) and a bookings file."""
    config = write_stores_config(root, stores)
    raws = []
    for i in range(bookings):
        kind = i % 10
        if kind < 5:  # tomorrow or later: the confirmation
            start, status = NOW + timedelta(days=1 + i % 20, minutes=10 * (i % 50)), "RC03"
        elif kind == 5:  # within two hours: the confirmation and the guide
            start, status = NOW + timedelta(minutes=30 + 10 * (i % 9)), "RC03"
        else:  # completed yesterday: nothing outside the 20 o'clock hour
            start, status = NOW - timedelta(days=1, hours=i % 8), "RC08"
        raws.append(
            raw_booking(
                800_000_000 + i,
                store_id=2000001 + i % stores,
                status=status,
                start=start,
                phone=f"0107{i:07d}",
            )
        )
    return config, write_bookings(root / "bookings.json", raws)


@contextmanager
def state(backend: str, root: Path, endpoint: str | None, n: int) -> Iterator[str]:
    """A fresh, empty state: new dynalite tables, or a new SQLite file."""
    if backend == "dynalite":
        assert endpoint is not None
        yield new_target(endpoint).url()
    else:
        yield str(root / f"state-{n}.sqlite3")


def project(db: str, config: Path, bookings: Path, sens: SensProcess, concurrency: int) -> dict[str, Any]:
    settings = Settings(
        config_dir=config,
        db=db,
        live=True,
        bookings_path=bookings,
        sens_base=sens.url,
        telegram_enabled=False,
        send_concurrency=concurrency,
        **sens.credentials,  # type: ignore[arg-type]
    )
    runtime, st = build_runtime(settings, clock=FixedClock(NOW), run_id="bench")
    repo: Any = runtime.repo
    calls = DynamoCalls.attach(repo.client, repo) if hasattr(repo, "client") else None
    writes = SqliteWrites.attach(st.sqlite.conn) if st.sqlite is not None else None
    marks: dict[str, float] = {}
    runtime.progress = lambda stage, detail: marks.setdefault(stage, time.perf_counter())
    sens.reset()
    with quiet_logs(), Timed() as timed:
        report = run_once(runtime, run_id="bench")
    runtime.close()
    act = time.perf_counter() - marks["act"]  # act, the summary and the report
    sent = report.counts()["sms_sent"]
    assert report.ok and not report.errors, (report.failed, report.errors[:3])
    figures: dict[str, Any] = {"wall": timed.wall, "cpu": timed.cpu, "act": act, "sms": sent}
    figures["sens_per_sms"] = sens.counts().get("send", 0) / sent
    if calls is not None:
        figures["calls"] = dict(calls.by_operation)
        figures["writes_per_sms"] = calls.writes / sent
        figures["calls_per_sms"] = calls.total / sent
    if writes is not None:
        figures["transactions_per_sms"] = writes.commits / sent
        figures["fsyncs_per_sms"] = writes.durable / sent
    if st.sqlite is not None:
        st.sqlite.close()
    return figures


def legacy_loop(db: str, config_dir: Path, bookings: Path, sens: SensProcess) -> dict[str, Any]:
    """Per SMS: PutItem of the row, the send, UpdateItem of its flag - sequential, no claims, no batch read."""
    config, _, _ = compile_config(config_dir)
    creds = sens.credentials
    client = SensClient(
        base_url=sens.url,
        service_id=creds["sens_service_id"],
        access_key=creds["sens_access_key"],
        secret_key=creds["sens_secret_key"],
        clock=SystemClock(),
    )
    sens.reset()
    put, update, close = _legacy_writes(db)
    sent = 0
    with quiet_logs(), Timed() as timed:
        from naver_sms.naver.files import JsonFileSource

        fetched = JsonFileSource(bookings).fetch(list(config.stores.values()), NOW)
        for b in fetched.bookings:
            if b.status != "RC03":
                continue
            store = config.store(b.store_id)
            window = b.reserve_at - timedelta(hours=2) <= NOW < b.reserve_at
            sends = [("confirm_sms", "confirmation", False)]
            if window:
                sends.append(("remind_sms", store.templates["guide"] if store else "guide_gangnam", True))
            for flag, template, own_sender in sends:
                put(b)
                text = config.sms_templates[template]
                client.send(
                    SmsMessage(
                        b.phone_digits, config.sender_for(store, own_sender), "LMS", config.subject, text.text
                    )
                )
                update(b, flag)
                sent += 1
    client.close()
    close()
    figures: dict[str, Any] = {"wall": timed.wall, "cpu": timed.cpu, "sms": sent}
    figures["sens_per_sms"] = sens.counts().get("send", 0) / sent
    return figures


def _legacy_writes(db: str) -> tuple[Any, Any, Any]:
    if db.startswith("dynamodb://"):
        from naver_sms.database.dynamo_target import DynamoTarget

        target = DynamoTarget.parse(db)
        dynamo = make_client(target)

        def put(b: Booking) -> None:
            dynamo.put_item(
                TableName=target.sms_table,
                Item={
                    "booking_num": {"S": b.booking_num},
                    "phone": {"S": b.phone},
                    "name": {"S": b.name},
                    "booking_time": {"S": b.booking_time},
                    "confirm_sms": {"BOOL": False},
                    "remind_sms": {"BOOL": False},
                    "option_sms": {"BOOL": False},
                    "option_time": {"S": ""},
                },
            )

        def update(b: Booking, flag: str) -> None:
            dynamo.update_item(
                TableName=target.sms_table,
                Key={"booking_num": {"S": b.booking_num}, "phone": {"S": b.phone}},
                UpdateExpression="SET #f = :t",
                ExpressionAttributeNames={"#f": flag},
                ExpressionAttributeValues={":t": {"BOOL": True}},
            )

        return put, update, dynamo.close
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS sms (booking_num TEXT, phone TEXT, item TEXT, PRIMARY KEY (booking_num, phone))"
    )

    def put_row(b: Booking) -> None:
        conn.execute("INSERT OR REPLACE INTO sms VALUES (?, ?, ?)", (b.booking_num, b.phone, "{}"))

    def update_row(b: Booking, flag: str) -> None:
        conn.execute(
            "UPDATE sms SET item = json_set(item, ?, json('true')) WHERE booking_num = ?",
            (f"$.{flag}", b.booking_num),
        )

    return put_row, update_row, conn.close


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--backend", choices=("dynalite", "sqlite"), default="dynalite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4])
    parser.add_argument("--no-legacy", action="store_true", help="skip the legacy-style loop")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, SensProcess() as sens, _stand_in(args.backend) as endpoint:
        root = Path(tmp)
        config, bookings = write_world(root, args.bookings, args.stores)
        print(f"act step: {args.bookings} new bookings over {args.stores} stores, {args.backend}, first run")
        runs: dict[str, list[dict[str, Any]]] = {}
        n = 0
        for _ in range(args.repeat):
            for c in args.concurrency:
                with state(args.backend, root, endpoint, n := n + 1) as db:
                    runs.setdefault(f"project c={c}", []).append(project(db, config, bookings, sens, c))
            if not args.no_legacy:
                with state(args.backend, root, endpoint, n := n + 1) as db:
                    runs.setdefault("legacy-style", []).append(legacy_loop(db, config, bookings, sens))
        legacy = statistics.median(r["wall"] for r in runs.get("legacy-style", [{"wall": float("nan")}]))
        for name, results in runs.items():
            wall = statistics.median(r["wall"] for r in results)
            walls = ", ".join(f"{r['wall']:.2f}" for r in results)
            cpu = statistics.median(r["cpu"] for r in results)
            first = results[0]
            line = (
                f"  {name:<14} wall {wall:7.2f} s (runs: {walls})  cpu {cpu:6.2f} s  sms {first['sms']}"
                f"  SENS calls/SMS {first['sens_per_sms']:.2f}"
            )
            if "act" in first:
                line += f"  act {statistics.median(r['act'] for r in results):6.2f} s"
            if "calls" in first:
                line += (
                    f"  DynamoDB calls/SMS {first['calls_per_sms']:.2f}"
                    f" (writes {first['writes_per_sms']:.2f}) {first['calls']}"
                )
            if "transactions_per_sms" in first:
                line += (
                    f"  SQLite write transactions/SMS {first['transactions_per_sms']:.2f}"
                    f" (fsync'd {first['fsyncs_per_sms']:.2f})"
                )
            if name != "legacy-style" and legacy == legacy:
                line += f"  legacy-style / project: {legacy / wall:.2f}x"
            print(line, flush=True)
    return 0


@contextmanager
def _stand_in(backend: str) -> Iterator[str | None]:
    if backend == "dynalite":
        with dynalite() as endpoint:
            yield endpoint
    else:
        yield None


if __name__ == "__main__":
    raise SystemExit(main())
