"""A run at scale (issue 12, item 5): first and steady runs of 1k / 10k / 100k bookings over 20 and 200 stores,
on SQLite and dynalite, fetched from the Naver stand-in at 50 ms per request, against the legacy-style loop.

    .venv/bin/python bench/scale.py --quick                  # 1,000 bookings, 20 stores, both backends (~1 min)
    .venv/bin/python bench/scale.py --bookings 10000 --stores 200 --backend dynalite
    .venv/bin/python bench/scale.py --bookings 100000 --stores 200 --backend sqlite --no-legacy
    .venv/bin/python bench/scale.py                          # the whole matrix (long: the 100k cases)
    .venv/bin/python bench/scale.py --bookings 100000 --stores 200 --backend sqlite --no-legacy --steady-only \
        --fetch-concurrency 32                               # a steady run, 32 stores fetched at once
    .venv/bin/python bench/scale.py --bookings 100000 --stores 200 --backend sqlite --no-legacy --steady-only \
        --steady-runs 5                                      # five steady runs on one state, and their median

A phase's process can be run under another command, e.g. a profiler: `SCALE_WRAP_STEADY="py-spy record --gil -r 250
-f raw -o steady.raw --"` (likewise `SCALE_WRAP_FIRST`, `SCALE_WRAP_LEGACY`); its own output is ignored.

Every case runs on fresh state, each phase in a process of its own (so peak RSS is that phase's):
- first:  `run_once` of a live run (`build_runtime`, the default rules, valid cached Naver cookies) - every
          booking new: about 7 SMS per 10 bookings (bench/naver_server.scale_bookings);
- steady: the same run again on the state the first left: nothing is due, nothing is sent;
- legacy: the legacy job's loop on the same stand-ins (legacy-behaviour.md §1, §3): the stores fetched one after
          the other (the same client, one store at a time; its 1 s sleep after every page is not
          included), then per booking one read of its row, and per new RC03 booking a put of the row with its
          flags and the sends, one after the other - first on an empty state, then again (steady).
Printed per phase: wall and CPU seconds, peak RSS, fetch seconds (from the `fetch` to the `decide` mark: the
decisions of the stores already fetched overlap it) against the fetch floor, the Naver stand-in's CPU seconds (it
shares the machine's cores with the run), SMS, SENS calls per SMS and the SENS stand-in's CPU seconds, durable
writes per SMS (DynamoDB PutItem/UpdateItem, SQLite write transactions), API calls per SMS and the size
of the Telegram summary (one message holds 4,096), and what became of any SMS not sent (`not sent {kind: n}`,
the error count, the first reason); then the ratio
legacy / project. The fetch floor is what the requests cost at the chosen concurrency if nothing but the latency
counted: max(requests x latency / workers, the slowest store's requests x latency).
The SENS and Naver stand-ins run in processes of their own; dynalite is a Node process; all on 127.0.0.1. Nothing
is asserted: the targets are read off the output (VALIDATION.md, "Scale (issue 12 items 3-5)").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for entry in (str(ROOT), str(ROOT / "src")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from bench.counters import (  # noqa: E402
    DynamoCalls,
    SensProcess,
    ServerProcess,
    SqliteWrites,
    Timed,
    peak_rss_mib,
    quiet_logs,
    write_stores_config,
)
from tests.world import kst  # noqa: E402

NOW = kst("2026-11-26 10:00")
LATENCY = 0.05
FIRST_STORE = 2000001


class NaverProcess(ServerProcess):
    """bench/naver_server.py in a process of its own, answering after `latency` seconds."""

    module = "bench.naver_server"

    def call(self, path: str, payload: Any = None) -> Any:
        import httpx

        if payload is None and path != "/_reset":
            return httpx.get(self.url + path, timeout=600).json()
        return httpx.post(self.url + path, json=payload or {}, timeout=600).json()


def write_config(root: Path, stores: int) -> Path:
    return write_stores_config(root, stores, FIRST_STORE)


# --- one phase, in a child process ----------------------------------------------------------------------------


def child(args: argparse.Namespace) -> dict[str, Any]:
    sens_url, sens_creds = args.sens, json.loads(args.sens_credentials)
    counts = _Counts(args.naver, sens_url)
    if args.phase == "legacy":
        return legacy(args, counts, sens_creds)
    from naver_sms.config.settings import Settings
    from naver_sms.domain.clock import FixedClock
    from naver_sms.runner import run_once
    from naver_sms.wiring import build_runtime

    settings = Settings(
        config_dir=Path(args.config),
        db=args.db,
        live=True,
        naver_api_base=args.naver,
        naver_id="owner-id",  # type: ignore[arg-type]
        naver_password="owner-password",  # type: ignore[arg-type]
        sens_base=sens_url,
        telegram_enabled=False,
        fetch_concurrency=args.fetch_concurrency,
        **sens_creds,
    )
    runtime, state = build_runtime(settings, clock=FixedClock(NOW), run_id=f"bench-{args.phase}")
    if args.phase == "first":
        state.sessions.save_cookies(counts.naver("/_session"))
        if args.setup_only and state.sqlite is not None:  # --steady-only: reach the steady state quickly
            state.sqlite.conn.execute("PRAGMA synchronous=OFF")
    calls, writes = _attach(runtime, state)
    marks: dict[str, float] = {}
    runtime.progress = lambda stage, detail: marks.setdefault(stage, time.perf_counter())
    counts.reset()
    if args.switch_interval is not None:  # an experiment: how often a thread holding the GIL lets another run
        sys.setswitchinterval(args.switch_interval)
    with quiet_logs(), Timed() as timed:
        report = run_once(runtime, run_id=f"bench-{args.phase}")
    assert report.ok, (report.failed, report.errors[:3])
    figures: dict[str, Any] = {
        "wall": timed.wall,
        "cpu": timed.cpu,
        "rss": peak_rss_mib(),
        "fetch": marks["decide"] - marks["fetch"],
        "bookings": report.bookings_fetched,
        "sms": report.counts()["sms_sent"],
        "errors": len(report.errors),
        "not_sent": _not_sent(report),
        "first_error": _one_line(
            next((s.error for s in report.sms if s.error), None)
            or next((e.message for e in report.errors), None)
        ),
        "workers": _workers(runtime.source, args.stores),
        "summary_chars": len(report.summary),
        **counts.read(),
    }
    if calls is not None:
        figures["writes"], figures["api_calls"] = calls.writes, calls.total
        figures["by_operation"] = dict(calls.by_operation)
    if writes is not None:
        figures["writes"] = writes.commits
    runtime.close()
    return figures


def legacy(args: argparse.Namespace, counts: _Counts, sens_creds: dict[str, str]) -> dict[str, Any]:
    from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteSessionRepository
    from naver_sms.domain.clock import SystemClock
    from naver_sms.naver.api import NaverApi
    from naver_sms.naver.live import NaverBookingSource
    from naver_sms.naver.session import SessionManager
    from naver_sms.notifications.sms_service import SensClient
    from naver_sms.ports import SmsMessage
    from naver_sms.wiring import compile_config

    config, _, _ = compile_config(Path(args.config))
    sessions = SqliteSessionRepository(SqliteDatabase(":memory:"))
    sessions.save_cookies(counts.naver("/_session"))
    api = NaverApi(args.naver)
    source = NaverBookingSource(api, SessionManager(sessions, _NoLogin(), api.check_session), concurrency=1)
    sens = SensClient(
        base_url=args.sens,
        service_id=sens_creds["sens_service_id"],
        access_key=sens_creds["sens_access_key"],
        secret_key=sens_creds["sens_secret_key"],
        clock=SystemClock(),
    )
    get, put, writes, close = _legacy_table(args.db)
    counts.reset()
    sent = 0
    with quiet_logs(), Timed() as timed:
        started = time.perf_counter()
        fetched = source.fetch(list(config.stores.values()), NOW)
        fetch_wall = time.perf_counter() - started
        for b in fetched.bookings:
            if b.status != "RC03":
                continue  # RC08: only in the 20 o'clock hour
            if get(b):
                continue  # legacy-behaviour.md §3: present, outside the two hours - nothing
            guide = 0 <= (b.reserve_at - NOW).total_seconds() < 7200  # W: within the two hours before
            put(b, guide)
            store = config.store(b.store_id)
            templates = ["confirmation"] + (
                [store.templates["guide"] if store else "guide_gangnam"] if guide else []
            )
            for template in templates:
                text = config.sms_templates[template]
                sender = config.sender_for(store, template != "confirmation")
                sens.send(SmsMessage(b.phone_digits, sender, "LMS", config.subject, text.text))
                sent += 1
    sens.close()
    api.close()
    close()
    figures = {
        "wall": timed.wall,
        "cpu": timed.cpu,
        "rss": peak_rss_mib(),
        "fetch": fetch_wall,
        "bookings": len(fetched.bookings),
        "sms": sent,
        "workers": 1,
        **counts.read(),
    }
    figures["writes"] = writes["writes"]
    if args.db.startswith("dynamodb://"):
        figures["api_calls"] = writes["reads"] + writes["writes"]
        figures["by_operation"] = {"GetItem": writes["reads"], "PutItem": writes["writes"]}
    return figures


class _NoLogin:
    def login(self) -> list[dict[str, object]]:
        raise AssertionError("the bench's cached session must be valid: no login expected")


def _legacy_table(db: str) -> tuple[Any, Any, Any, Any]:
    """The legacy job's row operations: get one row, put one row (its flags set before the sends); and the
    number of (reads, writes) they made."""
    made = {"reads": 0, "writes": 0}
    if db.startswith("dynamodb://"):
        from naver_sms.database.dynamo_target import DynamoTarget, make_client

        target = DynamoTarget.parse(db)
        dynamo = make_client(target)

        def key(b: Any) -> dict[str, Any]:
            return {"booking_num": {"S": b.booking_num}, "phone": {"S": b.phone}}

        def get(b: Any) -> bool:
            made["reads"] += 1
            return "Item" in dynamo.get_item(TableName=target.sms_table, Key=key(b))

        def put(b: Any, guide: bool) -> None:
            item = key(b) | {
                "name": {"S": b.name},
                "booking_time": {"S": b.booking_time},
                "confirm_sms": {"BOOL": True},
                "remind_sms": {"BOOL": guide},
                "option_sms": {"BOOL": False},
                "option_time": {"S": ""},
            }
            dynamo.put_item(TableName=target.sms_table, Item=item)
            made["writes"] += 1

        return get, put, made, dynamo.close
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS legacy_sms (booking_num TEXT, phone TEXT, item TEXT, PRIMARY KEY (booking_num, phone))"
    )

    def get_row(b: Any) -> bool:
        return (
            conn.execute(
                "SELECT 1 FROM legacy_sms WHERE booking_num = ? AND phone = ?", (b.booking_num, b.phone)
            ).fetchone()
            is not None
        )

    def put_row(b: Any, guide: bool) -> None:
        item = {"confirm_sms": True, "remind_sms": guide, "option_sms": False, "option_time": ""}
        conn.execute(
            "INSERT OR REPLACE INTO legacy_sms VALUES (?, ?, ?)", (b.booking_num, b.phone, json.dumps(item))
        )
        made["writes"] += 1

    return get_row, put_row, made, conn.close


def _workers(source: Any, stores: int) -> int:
    if hasattr(source, "workers"):
        return int(source.workers(stores))
    return min(int(getattr(source, "concurrency", 1) or 1), stores)  # a source from before issue 12


def _attach(runtime: Any, state: Any) -> tuple[Any, Any]:
    repo = runtime.repo
    client = getattr(repo, "client", None) or getattr(getattr(repo, "store", None), "client", None)
    calls = DynamoCalls.attach(client, repo) if client is not None else None
    writes = SqliteWrites.attach(state.sqlite.conn) if getattr(state, "sqlite", None) is not None else None
    return calls, writes


class _Counts:
    """The stand-ins' request counts of one phase."""

    def __init__(self, naver: str, sens: str) -> None:
        self._naver, self._sens = naver, sens

    def naver(self, path: str) -> Any:
        import httpx

        return httpx.get(self._naver + path, timeout=60).json()

    def reset(self) -> None:
        import httpx

        httpx.post(self._naver + "/_reset", timeout=60)
        httpx.post(self._sens + "/_reset", timeout=60)

    def read(self) -> dict[str, int]:
        import httpx

        sens = httpx.get(self._sens + "/_counts", timeout=60).json()
        naver = self.naver("/_counts")
        return {
            "naver_requests": int(naver["requests"]),
            "naver_cpu": float(naver.get("cpu", 0.0)),
            "sens_cpu": float(httpx.get(self._sens + "/_cpu", timeout=60).json()["cpu"]),
            "sens_sends": int(sens.get("send", 0)),
        }


# --- the cases, from the parent -------------------------------------------------------------------------------


def _not_sent(report: Any) -> dict[str, int]:
    """What kept a due SMS from being counted sent: its record's status (failed, unknown, reconciled, ...), a
    send_sms action that ended without one (skipped: already done or claimed elsewhere; deferred), a match held
    by quiet hours or left to the next run near the deadline, a booking skipped as malformed - by count, only
    what occurred."""
    found: Counter[str] = Counter(s.status for s in report.sms if s.status not in ("sent", "outbox"))
    for (_, action, status), n in report.actions.items():
        if action == "send_sms" and status in ("skipped", "deferred"):
            found[f"send_sms {status}"] += n
    counts = report.counts()
    for kind, name in (
        ("held", "held"),
        ("deferred", "matches deferred"),
        ("bookings_skipped", "bookings skipped"),
    ):
        found[name] += counts[kind]
    return {kind: n for kind, n in found.items() if n}


def _one_line(text: str | None, limit: int = 160) -> str | None:
    """`text` with phone numbers masked, on one line, at most `limit` characters (a provider's answer can be
    long)."""
    if not text:
        return None
    from naver_sms.domain.privacy import mask_text

    flat = " ".join(mask_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def run_phase(case: dict[str, Any], phase: str, db: str) -> dict[str, Any]:
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--db",
        db,
        "--config",
        case["config"],
        "--naver",
        case["naver"],
        "--sens",
        case["sens"],
        "--sens-credentials",
        json.dumps(case["sens_credentials"]),
        "--stores",
        str(case["stores"]),
        *(["--setup-only"] if phase == "first" and case["steady_only"] else []),
        *(["--fetch-concurrency", str(case["fetch_concurrency"])] if case["fetch_concurrency"] else []),
        *(["--switch-interval", str(case["switch_interval"])] if case["switch_interval"] is not None else []),
    ]
    wrap = os.environ.get("SCALE_WRAP_" + phase.upper())  # e.g. a profiler (see the module's text)
    if wrap:
        argv = [*wrap.split(), *argv]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1])


@contextmanager
def backend_state(backend: str, root: Path, endpoint: str | None, name: str) -> Iterator[str]:
    if backend == "dynalite":
        from tests.standins.dynamo import new_target

        assert endpoint is not None
        yield new_target(endpoint).url()
    else:
        yield str(root / f"{name}.sqlite3")


def per_sms(value: int | None, sms: int) -> str:
    return "-" if value is None or not sms else f"{value / sms:.2f}"


def show(label: str, r: dict[str, Any], latency: float, stores: int) -> None:
    per_store = r["naver_requests"] / stores if stores else 0
    floor = max(r["naver_requests"] * latency / max(r["workers"], 1), math.ceil(per_store) * latency)
    print(
        f"  {label:<15} wall {r['wall']:7.2f} s  cpu {r['cpu']:7.2f} s  peak RSS {r['rss']:6.0f} MiB"
        f"  fetch {r['fetch']:6.2f} s ({r['naver_requests']} requests, {r['workers']} at once,"
        f" floor {floor:.2f} s: {r['fetch'] / floor if floor else float('nan'):.2f}x;"
        f" stand-in cpu {r.get('naver_cpu', 0.0):.2f} s)"
        f"  bookings {r['bookings']}  SMS {r['sms']}  SENS calls/SMS {per_sms(r['sens_sends'], r['sms'])}"
        f"  writes/SMS {per_sms(r.get('writes'), r['sms'])}"
        + (f"  SENS stand-in cpu {r['sens_cpu']:.2f} s" if r["sms"] else "")
        + (
            f"  API calls/SMS {per_sms(r['api_calls'], r['sms'])} {r['by_operation']}"
            if "api_calls" in r
            else ""
        )
        + (f"  writes {r['writes']}" if not r["sms"] and r.get("writes") is not None else "")
        + (f"  summary {r['summary_chars']:,} characters" if r.get("summary_chars") else "")
        + (f"  not sent {r['not_sent']}" if r.get("not_sent") else "")
        + (f"  errors {r['errors']}" if r.get("errors") else "")
        + (f"  first: {r['first_error']}" if r.get("first_error") else ""),
        flush=True,
    )


def run_case(
    backend: str,
    bookings: int,
    stores: int,
    ctx: dict[str, Any],
    root: Path,
    endpoint: str | None,
    legacy: bool,
) -> None:
    name = f"{backend}-{bookings}-{stores}"
    store_ids = [str(FIRST_STORE + s) for s in range(stores)]
    ctx["naver_proc"].call("/_load", {"stores": store_ids, "bookings": bookings, "now": NOW.isoformat()})
    case = {**ctx, "config": str(write_config(root / name, stores)), "stores": stores}
    print(f"{bookings:,} bookings over {stores} stores, {backend}:", flush=True)
    results: dict[str, dict[str, Any]] = {}
    with backend_state(backend, root, endpoint, name) as db:
        results["first"] = run_phase(case, "first", db)
        show(
            "first run" + (" (setup, no fsync)" if case["steady_only"] else ""),
            results["first"],
            ctx["latency"],
            stores,
        )
        runs = ctx["steady_runs"]
        steady = []
        for n in range(runs):  # a steady run changes nothing but its run record: the same state each time
            steady.append(run_phase(case, "steady", db))
            show("steady run" + (f" {n + 1}/{runs}" if runs > 1 else ""), steady[-1], ctx["latency"], stores)
        results["steady"] = sorted(steady, key=lambda r: r["wall"])[(runs - 1) // 2]
        if runs > 1:
            walls = " ".join(f"{r['wall']:.2f}" for r in steady)
            print(
                f"  steady median  wall {results['steady']['wall']:7.2f} s  cpu {results['steady']['cpu']:7.2f} s"
                f"  (of the runs at {walls} s)",
                flush=True,
            )
    if legacy and not case["steady_only"]:
        with backend_state(backend, root, endpoint, name + "-legacy") as db:
            results["legacy first"] = run_phase(case, "legacy", db)
            show("legacy first", results["legacy first"], ctx["latency"], stores)
            results["legacy steady"] = run_phase(case, "legacy", db)
            show("legacy steady", results["legacy steady"], ctx["latency"], stores)
        for phase in ("first", "steady"):
            ratio = results[f"legacy {phase}"]["wall"] / results[phase]["wall"]
            print(f"  legacy-style / project, {phase} run: {ratio:.2f}x", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bookings", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--stores", type=int, nargs="+", default=[20, 200])
    parser.add_argument(
        "--backend", choices=("sqlite", "dynalite"), nargs="+", default=["sqlite", "dynalite"]
    )
    parser.add_argument("--latency", type=float, default=LATENCY, help="seconds added to every Naver request")
    parser.add_argument("--quick", action="store_true", help="1,000 bookings over 20 stores, both backends")
    parser.add_argument("--no-legacy", action="store_true", help="skip the legacy-style loop")
    parser.add_argument(
        "--steady-only",
        action="store_true",
        help="SQLite: the first run without fsync (only to reach the steady state; its times are not a first "
        "run's), then the steady run",
    )
    parser.add_argument(
        "--steady-runs",
        type=int,
        default=1,
        metavar="N",
        help="the steady run N times on the same state, each shown, and the median (by wall time)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        metavar="S",
        help="sys.setswitchinterval(S) in each phase (Python's default 0.005): an experiment, not a setting",
    )
    parser.add_argument(
        "--fetch-concurrency",
        type=int,
        help="stores fetched at once (NAVER_SMS_FETCH_CONCURRENCY, 1-32); unset: by the chain's size, as a run",
    )
    # a phase in a child process (run_phase)
    parser.add_argument("--phase", choices=("first", "steady", "legacy"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--naver", help=argparse.SUPPRESS)
    parser.add_argument("--sens", help=argparse.SUPPRESS)
    parser.add_argument("--sens-credentials", help=argparse.SUPPRESS)
    parser.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        args.stores = args.stores[0]
        print(json.dumps(child(args), ensure_ascii=False))
        return 0
    if args.quick:
        args.bookings, args.stores = [1_000], [20]
    print(
        f"bench/scale.py: Naver stand-in at {args.latency * 1000:.0f} ms per request, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp, SensProcess() as sens, NaverProcess(args.latency) as naver:
        ctx = {
            "naver": naver.url,
            "naver_proc": naver,
            "sens": sens.url,
            "sens_credentials": sens.credentials,
            "latency": args.latency,
            "steady_only": args.steady_only,
            "fetch_concurrency": args.fetch_concurrency,
            "steady_runs": max(args.steady_runs, 1),
            "switch_interval": args.switch_interval,
        }
        with _dynalite("dynalite" in args.backend) as endpoint:
            for backend in args.backend:
                for stores in args.stores:
                    for bookings in args.bookings:
                        run_case(backend, bookings, stores, ctx, Path(tmp), endpoint, not args.no_legacy)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


@contextmanager
def _dynalite(wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    from tests.standins.dynamo import dynalite

    with dynalite() as endpoint:
        yield endpoint


if __name__ == "__main__":
    raise SystemExit(main())
