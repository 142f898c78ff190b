"""One SENS send and one Naver page, through `httpx.Client` and straight to its transport (http_direct.py).

    .venv/bin/python bench/http_direct.py               # 5 rounds of 2,000 sends and 1,600 pages of each kind
    .venv/bin/python bench/http_direct.py --sends 500 --pages 400 --rounds 3

The clients are the run's own (`SensClient`, `NaverApi`), once given an `httpx.Client` (every request through
its layers and httpcore's pool) and once as a run makes them (urllib3's transport, http_urllib3.py, without
httpx's request and answer objects); the SMS also straight to httpx's own transport (`DirectHttp`), as a run
sent them before 2026-12-04. The stand-ins (SENS, Naver with
no added latency: 50 bookings a page, about 1 KB each) run in processes of their own on 127.0.0.1. Per request,
one thread after the other, then as many at once as a run has in flight (4 sends, 16 stores): the client
process's CPU time and the wall time, medians of the rounds (this machine's spread is wide). Nothing is asserted;
VALIDATION.md quotes the output.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from bench.counters import SensProcess
from bench.scale import FIRST_STORE, NOW, NaverProcess

from naver_sms.naver.api import CONFIRMED, NaverApi, Window
from naver_sms.notifications.sms_service import SensClient
from naver_sms.ports import SmsMessage


def measure(n: int, call: Callable[[int], object], threads: int) -> tuple[float, float]:
    """`n` calls, `threads` at once (each thread its share, one after the other): CPU and wall ms per call."""
    call(-1)  # a connection opened, the code paths warm
    share = n // threads
    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda t: [call(t * share + i) for i in range(share)], range(threads)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = share * threads
    return cpu / done * 1000, wall / done * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=1600)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    store = str(FIRST_STORE)
    message = SmsMessage(
        to="01000000000", sender="0200000000", type="SMS", subject="", content="예약이 확정되었습니다"
    )
    window = Window(CONFIRMED)
    figures: dict[str, list[tuple[float, float]]] = {}
    with SensProcess() as sens, NaverProcess(0.0) as naver:
        naver.call("/_load", {"stores": [store], "bookings": 500, "now": NOW.isoformat()})
        cookies = naver.call("/_session")
        creds = sens.credentials
        print(f"bench/http_direct.py: SENS and Naver stand-ins on 127.0.0.1, medians of {args.rounds} rounds")
        for _ in range(args.rounds):  # the two paths in turn, so a slow spell of the machine hits both
            for given in (True, False):
                http = httpx.Client(timeout=10.0) if given else None
                # the SMS path three ways: through the client, straight to httpx's transport (a run's path
                # before 2026-12-04), and as a run sends now: to urllib3, without httpx's objects
                ways: list[tuple[str, httpx.BaseTransport | None]] = (
                    [("through httpx.Client", None)]
                    if given
                    else [
                        ("straight to httpx's transport", httpx.HTTPTransport()),
                        ("to urllib3, no httpx objects", None),
                    ]
                )
                for path, transport in ways:
                    sms = SensClient(
                        base_url=sens.url,
                        service_id=creds["sens_service_id"],
                        access_key=creds["sens_access_key"],
                        secret_key=creds["sens_secret_key"],
                        http=http,
                        transport=transport,
                    )
                    for threads in (1, 4):  # 4: the default send concurrency
                        figures.setdefault(f"SENS send, {path}|{args.sends}|{threads}", []).append(
                            measure(args.sends, lambda i, c=sms: c.send(message), threads)
                        )
                    sms.close()
                api = NaverApi(naver.url, client=httpx.Client(timeout=20.0) if given else None)
                api.set_cookies(cookies)
                path = "through httpx.Client" if given else "to urllib3, no httpx objects"
                for threads in (1, 16):  # 16: 200 stores fetched at once
                    figures.setdefault(f"Naver page, {path}|{args.pages}|{threads}", []).append(
                        measure(args.pages, lambda i, a=api: a.page(store, window, max(i, 0) % 10), threads)
                    )
                api.close()
                if http is not None:
                    http.close()
    for key, runs in figures.items():
        label, n, threads = key.split("|")
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(
            f"  {label:<44} cpu {cpu:6.3f} ms  wall {wall:6.3f} ms  ({int(n):,} requests, {threads} at once;"
            f" cpu per round {' '.join(f'{c:.3f}' for c, _ in runs)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
