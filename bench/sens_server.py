"""The SENS stand-in as a process of its own (bench/counters.SensProcess): `python -m bench.sens_server PORT`.

Besides SENS's own routes it answers `GET /_counts` (requests served, by kind: send, list, result) and
`POST /_reset` (forget them), for the benchmarks to count SENS calls per SMS, and `GET /_cpu` (the CPU seconds
this process spent since the last reset: it shares the machine's cores with the measured run).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from tests.standins.sens import SensStandIn
from waitress import serve


def main(port: int) -> None:
    standin = SensStandIn()
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    cpu_since = [time.process_time()]  # this process's CPU time at the last /_reset

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_cpu":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"cpu": time.process_time() - cpu_since[0]}).encode()]
        if path in ("/_counts", "/_reset"):
            with lock:
                if path == "/_reset":
                    counts.clear()
                    standin.requests.clear()
                    standin.messages.clear()
                    cpu_since[0] = time.process_time()
                body = json.dumps(dict(counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        kind = "send" if environ.get("REQUEST_METHOD") == "POST" else "lookup"
        with lock:
            counts[kind] += 1
        answer = standin(environ, start_response)
        standin.requests.clear()  # a long benchmark keeps only the messages (the look-ups need them)
        return answer

    # waitress, not werkzeug's development server: that one closes every connection after its answer, so each
    # request paid a TCP connect and close on both sides (Naver and SENS keep connections alive)
    serve(app, host="127.0.0.1", port=port, threads=48, connection_limit=256, _quiet=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
