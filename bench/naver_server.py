"""The Naver stand-in (tests/standins/naver.py) as a process of its own, for bench/scale.py:
`python -m bench.naver_server PORT LATENCY_SECONDS`.

Its work (filtering and paging every store's bookings, 50 ms of latency per request) is then not done under the
measured process's GIL and its memory is not in that process's peak RSS. Besides Naver's own routes:
`POST /_load` (JSON `{"stores": [...], "bookings": N, "now": ISO}`: replace every store's bookings with the
bench's synthetic ones, `scale_bookings`), `GET /_session` (valid session cookies), `GET /_counts` (API requests
served, and the CPU seconds this process spent serving them) and `POST /_reset` (forget them).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from tests.standins.naver import NaverStandIn, make_booking
from waitress import serve
from werkzeug.wrappers import Request

FIRST_ID = 800_000_000
STORE_IN_PATH = re.compile(r"/businesses/(\d+)/")


class BenchStandIn(NaverStandIn):
    """The stand-in with each store's filtered and sorted list kept per query (store, statuses, date range):
    the bench's bookings change only on `/_load` (which forgets them). Without it the stand-in re-filters a
    store's whole list for every page and count - at 100,000 bookings about as much CPU as the run it serves,
    on the same two cores, so the fetch measured the stand-in."""

    def __init__(self) -> None:
        super().__init__()
        self.filtered: dict[tuple[str, ...], list[Any]] = {}

    def _filter(self, items: list[Any], request: Request) -> list[Any]:  # type: ignore[override]
        store = STORE_IN_PATH.search(request.path)
        args = request.args
        key = (
            store.group(1) if store else request.path,
            *(args.get(name, "") for name in ("bookingStatusCodes", "startDateTime", "endDateTime")),
        )
        kept = self.filtered.get(key)
        if kept is None:
            kept = self.filtered[key] = NaverStandIn._filter(items, request)
        return kept


def scale_bookings(stores: list[str], bookings: int, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """`bookings` bookings dealt over `stores` in turn (booking i to store i mod len(stores)), all new to a first
    run at `now` (10:00): 5 in 10 tomorrow or later (the confirmation), 1 in 10 within two hours (the
    confirmation and the guide), 4 in 10 completed yesterday (nothing outside the 20 o'clock hour) - about
    7 SMS per 10 bookings, each booking about 1 KB of JSON as Naver sends it."""
    per_store: dict[str, list[dict[str, Any]]] = {store: [] for store in stores}
    for i in range(bookings):
        store = stores[i % len(stores)]
        kind = i % 10
        if kind < 5:
            start, status = now + timedelta(days=1 + i % 20, minutes=10 * (i % 50)), "RC03"
        elif kind == 5:
            start, status = now + timedelta(minutes=30 + 10 * (i % 9)), "RC03"
        else:
            start, status = now - timedelta(days=1, hours=i % 8), "RC08"
        per_store[store].append(
            make_booking(FIRST_ID + i, int(store), start, status=status, name="홍길동", phone=f"0107{i:07d}")
        )
    return per_store


def main(port: int, latency: float) -> None:
    standin = BenchStandIn()
    standin.latency = latency
    standin.base_url = f"http://127.0.0.1:{port}"
    lock = threading.Lock()
    served = [0]
    cpu_since = [time.process_time()]  # this process's CPU time at the last /_reset

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_"):
            body: Any = {}
            if path == "/_load":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                asked = json.loads(environ["wsgi.input"].read(size))
                data = scale_bookings(
                    asked["stores"], asked["bookings"], datetime.fromisoformat(asked["now"])
                )
                with lock:
                    standin.bookings = data
                    standin.filtered.clear()
            elif path == "/_session":
                body = standin.issue_session()
            elif path == "/_reset":
                with lock:
                    served[0], cpu_since[0] = 0, time.process_time()
            body = body or {"requests": served[0], "cpu": time.process_time() - cpu_since[0]}
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        if "/businesses/" in path:
            with lock:
                served[0] += 1
        answer = standin(environ, start_response)
        standin.calls.clear()  # a long benchmark keeps no record of each call
        return answer

    # waitress, not werkzeug's development server: that one closes every connection after its answer, so each
    # request paid a TCP connect and close on both sides (Naver and SENS keep connections alive)
    serve(app, host="127.0.0.1", port=port, threads=48, connection_limit=256, _quiet=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
