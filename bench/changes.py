"""What the rules of issue 13 cost: the requests of a fetch, and the time to decide.

    .venv/bin/python bench/changes.py [--stores 8] [--bookings 200] [--decide 10000] [--repeat 5]

Prints figures; asserts nothing about time.

(a) requests of one fetch (the Naver stand-in of tests/standins/naver.py on 127.0.0.1, no latency): the
    stores of config/stores.yaml (`--stores` of them), each with `--bookings` confirmed bookings over 40
    days, a tenth as many requested (RC02) and as many cancelled (RC04) ones in the next month, and a few
    completed ones - fetched once with the statuses the default rules ask for, and once with a rule about
    cancellations and one about unconfirmed requests added (the statuses come from the compiled rules, as in
    `naver_sms.wiring`). Requests counted by the stand-in, by status queried.
(b) deciding: the default rules over `--decide` bookings (bench/engine.py's synthetic set), evaluated with
    the status gate every compiled rule now has (a booking fetched on demand is seen only by the rules that
    ask) and with the gate taken out - best and median of `--repeat`, interleaved.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.naver.test_changes_fetch import OPT_IN  # noqa: E402  (the tests' two opt-in rules)
from tests.standins.naver import naver_standin, synthetic_bookings  # noqa: E402

from engine import synthetic_bookings as decide_set  # noqa: E402
from engine import synthetic_record  # noqa: E402
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteSessionRepository  # noqa: E402
from naver_sms.domain.booking import Booking  # noqa: E402
from naver_sms.domain.clock import KST, parse_kst  # noqa: E402
from naver_sms.naver.api import NaverApi  # noqa: E402
from naver_sms.naver.live import NaverBookingSource  # noqa: E402
from naver_sms.naver.session import SessionManager  # noqa: E402
from naver_sms.rules.facts import Facts  # noqa: E402
from naver_sms.wiring import compile_config, statuses_fetched_on_demand  # noqa: E402

NOW = datetime(2026, 11, 26, 18, 40, tzinfo=KST)


class _NoLogin:
    def login(self) -> list[dict[str, object]]:
        raise AssertionError("the bench's cached session must be valid: no login expected")


def bench_requests(stores_n: int, per_store: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        opt_in = Path(tmp) / "config"
        shutil.copytree(ROOT / "config", opt_in)
        with (opt_in / "rules.yaml").open("a", encoding="utf-8") as f:
            f.write(OPT_IN)
        configs = {"default rules": ROOT / "config", "with the two opt-in rules": opt_in}
        with naver_standin() as naver:
            config, _, _ = compile_config(ROOT / "config")
            stores = list(config.stores.values())[:stores_n]
            for store in stores:
                sid = int(store.id)
                naver.add(store.id, synthetic_bookings(sid, per_store, first_day=NOW, days=40))
                naver.add(
                    store.id,
                    synthetic_bookings(sid, 5, first_day=NOW - timedelta(days=3), days=3, status="RC08"),
                )
                for status in ("RC02", "RC04"):
                    naver.add(
                        store.id,
                        synthetic_bookings(sid, per_store // 10, first_day=NOW, days=30, status=status),
                    )
            print(
                f"(a) requests of one fetch - {len(stores)} stores x {per_store} confirmed bookings "
                f"(+{per_store // 10} RC02, +{per_store // 10} RC04, +5 RC08 each), now {NOW:%Y-%m-%d %H:%M}"
            )
            for label, directory in configs.items():
                _, _, rules = compile_config(directory)
                changes = statuses_fetched_on_demand(rules)
                sessions = SqliteSessionRepository(SqliteDatabase(":memory:"))
                sessions.save_cookies(naver.issue_session())
                api = NaverApi(naver.base_url, rng=random.Random(7))
                source = NaverBookingSource(
                    api, SessionManager(sessions, _NoLogin(), api.check_session), changes=changes
                )
                naver.calls.clear()
                result = source.fetch(stores, NOW)
                api.close()
                calls = naver.api_calls()
                by_status = Counter(c.args["bookingStatusCodes"] for c in calls)
                statuses = Counter(b.status for b in result.bookings)
                print(f"    {label:28s} asks for on demand: {', '.join(changes) or 'nothing'}")
                print(
                    f"      requests {result.requests:4d}   by status queried: "
                    + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
                )
                print(
                    f"      bookings {len(result.bookings):4d}   by status: "
                    + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
                )


def bench_decide(n: int, repeat: int, seed: int) -> None:
    config, engine, rules = compile_config(ROOT / "config")
    now = parse_kst("2026-11-26 20:10")
    rng = random.Random(seed)
    bookings = [Booking.from_naver(raw) for raw in decide_set(n, seed, now)]
    facts = [
        Facts(
            b,
            synthetic_record(b, rng) if rng.random() < 0.5 else None,
            now,
            config.store(b.store_id),
            config.option_keywords,
        )
        for b in bookings
    ]
    ungated = tuple(dataclasses.replace(r, gate=None) for r in rules)
    times: dict[str, list[float]] = {"with the status gate": [], "without it": []}
    matches: dict[str, int] = {}
    variants = [("with the status gate", rules), ("without it", ungated)]
    for i in range(repeat * 2):  # interleaved, each first in turn (the first of a pair pays for warm-up)
        for label, compiled in variants if i % 2 else variants[::-1]:
            start = time.perf_counter()
            plan = engine.evaluate(compiled, facts)
            times[label].append(time.perf_counter() - start)
            matches[label] = sum(1 for _ in plan.matches())
    print(
        f"(b) deciding - {n} bookings (half with a row) x {len(rules)} default rules, best / median of {repeat * 2}"
    )
    for label, values in times.items():
        print(
            f"    {label:22s} {min(values):.3f} s / {statistics.median(values):.3f} s   "
            f"matches {matches[label]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--decide", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"naver-sms bench/changes.py - Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    bench_requests(args.stores, args.bookings)
    bench_decide(args.decide, args.repeat, args.seed)


if __name__ == "__main__":
    main()
