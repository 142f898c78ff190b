"""What one page of 50 Naver bookings costs the client, in instructions (callgrind): steady where CPU seconds are not.

    .venv/bin/python bench/page_instructions.py [--pages 300] [--src PATH]

A steady run over 100,000 bookings asks 2,401 requests; this machine's CPU seconds for the same work move by a
third from hour to hour, so a change to the request path is measured here in instructions instead: a fresh
process fetches `--pages` pages with `NaverApi.page` (the run's own client, its urllib3 transport) from the
Naver stand-in (bench/naver_server.py, no added latency, 500 bookings of about 1.2 KB each), under
`valgrind --tool=callgrind`, and once with no page after the first; the difference over `--pages` is one page's
instructions: the request, the answer and orjson's parse of it; and what the run does with a page - the
page read for mapping (`NaverApi.checked_page`: into `WireBooking`s, naver/wire.py) and its 50 bookings
mapped. The same in the same process for a bare
`urllib3` GET of the same URL with the same headers, with and without the parse, for the floor under it.

`--src PATH` measures another checkout's package (its `src/`): e.g. `git worktree add /tmp/before <commit>`, then
`--src /tmp/before/src`. Needs `valgrind` (Debian: `apt-get install valgrind`). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys
sys.path.insert(0, {src!r})
from naver_sms.naver.api import CONFIRMED, NaverApi, Window
url, store, pages, mode = {url!r}, {store!r}, {pages}, {mode!r}
api = NaverApi(url)
api.set_cookies(json.loads({cookies!r}))
window = Window(CONFIRMED)
if mode == "client":
    for i in range(pages + 1):
        api.page(store, window, i % 6)
elif mode == "mapped":  # the run's path: the page for mapping, and its bookings mapped
    try:
        from naver_sms.naver.wire import map_object
    except ImportError:  # a checkout from before naver/wire.py
        from naver_sms.domain.booking import Booking
        map_object = lambda item, encodable: Booking.from_naver(item, encodable=encodable)
    for i in range(pages + 1):
        items, encodable = api.checked_page(store, window, i % 6)
        for item in items:
            map_object(item, encodable=encodable)
else:  # a bare urllib3 GET of the same URL and headers (and orjson's parse, for "parse")
    import httpx, orjson, urllib3
    query = dict(api._params(window, 0))
    full = str(httpx.Request("GET", api._list_url(store), params=query).url)
    head = full.partition("&page=")[0]
    merged = httpx.Headers(api._http.client.headers)
    merged.update(api._headers(store, api._cookies))
    headers = urllib3.HTTPHeaderDict()
    for name, value in merged.multi_items():
        headers.add(name, value)
    pool = urllib3.PoolManager(maxsize=4)
    for i in range(pages + 1):
        answer = pool.urlopen("GET", f"{{head}}&page={{i % 6}}&size=50&noCache=1", headers=headers,
                              redirect=False, retries=False, preload_content=True, decode_content=False)
        if mode == "parse":
            orjson.loads(answer.data)
"""


def instructions(code: str) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    found = re.search(r"Collected : (\d+)", out)
    assert found, out[-2000:]
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument(
        "--src", default=str(ROOT / "src"), help="the package to measure (default: this checkout)"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    from bench.scale import FIRST_STORE, NOW, NaverProcess

    with NaverProcess(0.0) as naver:
        store = str(FIRST_STORE)
        naver.call("/_load", {"stores": [store], "bookings": 500, "now": NOW.isoformat()})
        cookies = json.dumps(naver.call("/_session"))
        print(f"one page of 50 bookings, {args.pages} pages, the package at {args.src}:")
        for mode, label in (
            ("client", "NaverApi.page"),
            ("mapped", "page + 50 Bookings"),
            ("bare", "urllib3 GET"),
            ("parse", "urllib3 GET + orjson"),
        ):
            counts = [
                instructions(
                    CHILD.format(
                        src=args.src, url=naver.url, store=store, pages=n, mode=mode, cookies=cookies
                    )
                )
                for n in (0, args.pages)
            ]
            print(f"  {label:22s} {(counts[1] - counts[0]) // args.pages:>12,} instructions a page")


if __name__ == "__main__":
    main()
