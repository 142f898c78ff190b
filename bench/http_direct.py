"""One SENS send and one Naver page, through `httpx.Client` and straight to its transport (http_direct.py).

    .venv/bin/python bench/http_direct.py               # 2,000 sends and 500 pages of each kind
    .venv/bin/python bench/http_direct.py --sends 500 --pages 200

The clients are the run's own (`SensClient`, `NaverApi`), once given an `httpx.Client` (every request through
its layers) and once as a run makes them (the request handed to the transport). The stand-ins (SENS, Naver with
no added latency: 50 bookings a page, about 1 KB each) run in processes of their own on 127.0.0.1. Per request,
one thread, one after the other: the client process's CPU time and the wall time. Nothing is asserted;
VALIDATION.md quotes the output.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from bench.counters import SensProcess
from bench.scale import FIRST_STORE, NOW, NaverProcess

from naver_sms.naver.api import CONFIRMED, NaverApi, Window
from naver_sms.notifications.sms_service import SensClient
from naver_sms.ports import SmsMessage


def measure(label: str, n: int, call: Callable[[int], object]) -> None:
    call(-1)  # the connection opened, the code paths warm
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        call(i)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"  {label:<34} cpu {cpu / n * 1000:6.3f} ms  wall {wall / n * 1000:6.3f} ms  ({n:,} requests)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=500)
    args = parser.parse_args()
    store = str(FIRST_STORE)
    with SensProcess() as sens, NaverProcess(0.0) as naver:
        naver.call("/_load", {"stores": [store], "bookings": 500, "now": NOW.isoformat()})
        cookies = naver.call("/_session")
        creds = sens.credentials
        print("bench/http_direct.py: SENS and Naver stand-ins on 127.0.0.1, one request at a time")
        for label, given in (("httpx.Client", True), ("straight to the transport", False)):
            http = httpx.Client(timeout=10.0) if given else None
            client = SensClient(
                base_url=sens.url,
                service_id=creds["sens_service_id"],
                access_key=creds["sens_access_key"],
                secret_key=creds["sens_secret_key"],
                http=http,
            )
            message = SmsMessage(
                to="01000000000", sender="0200000000", type="SMS", subject="", content="예약이 확정되었습니다"
            )
            measure(f"SENS send, {label}", args.sends, lambda i, c=client, m=message: c.send(m))
            client.close()
            api = NaverApi(naver.url, client=httpx.Client(timeout=20.0) if given else None)
            api.set_cookies(cookies)
            window = Window(CONFIRMED)
            measure(
                f"Naver page, {label}",
                args.pages,
                lambda i, a=api, w=window: a.page(store, w, max(i, 0) % 10),
            )
            api.close()
            if http is not None:
                http.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
