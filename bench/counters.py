"""Counters for the benchmarks (bench/act.py; bench/scale.py reuses them): what a run costs, counted where it
happens, not estimated.

    calls = DynamoCalls.attach(client, repo)  # every DynamoDB API call of the client and the repo's wire
    writes = SqliteWrites.attach(conn)      # write transactions (and how many were fsync'd) of a connection
    with SensProcess() as sens:             # the SENS stand-in in a process of its own: its requests, counted
        ...                                 # sens.url, sens.counts() -> {"send": n, "list": n, ...}
    with Timed() as t: ...                  # t.wall, t.cpu (seconds)
    peak_rss_mib()                          # this process's peak resident memory

Everything runs on 127.0.0.1; the stand-ins are the test suite's (tests/standins/).
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
for entry in (str(REPO_ROOT), str(REPO_ROOT / "src")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from tests.standins.server import free_port, wait_for_port  # noqa: E402

__all__ = ["DynamoCalls", "SensProcess", "SqliteWrites", "Timed", "peak_rss_mib"]


@dataclass
class DynamoCalls:
    """Every DynamoDB API call of a run, per operation - the boto3 client's (botocore's `before-send` event) and
    the rows' wire's (database/dynamo_wire.py counts its requests) - retries included, as each is a request
    DynamoDB serves and bills."""

    client_calls: Counter[str] = field(default_factory=Counter)
    wire: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def attach(cls, client: Any, repo: Any = None) -> DynamoCalls:
        """Count `client`'s calls and those of `repo`'s wire (a DynamoRepository), if it has one."""
        calls = cls(wire=getattr(getattr(repo, "store", None), "wire", None))
        client.meta.events.register("before-send.dynamodb", calls._count)
        calls.reset()
        return calls

    def _count(self, request: Any, **_: Any) -> None:
        operation = str(request.headers.get("X-Amz-Target", b"").decode().rsplit(".", 1)[-1])
        with self._lock:
            self.client_calls[operation] += 1

    @property
    def by_operation(self) -> Counter[str]:
        return self.client_calls + (self.wire.calls if self.wire is not None else Counter())

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.by_operation.items() if op in ("PutItem", "UpdateItem", "DeleteItem"))

    def reset(self) -> None:
        with self._lock:
            self.client_calls.clear()
            if self.wire is not None:
                self.wire.calls.clear()


@dataclass
class SqliteWrites:
    """The write transactions one sqlite3 connection commits (its statement trace), and of them how many
    committed at `synchronous=FULL` (an fsync each, in WAL mode) rather than NORMAL."""

    commits: int = 0
    durable: int = 0
    _full: bool = True
    _writing: bool = False

    @classmethod
    def attach(cls, conn: sqlite3.Connection) -> SqliteWrites:
        writes = cls()
        conn.set_trace_callback(writes._trace)
        return writes

    def _trace(self, statement: str) -> None:
        text = statement.strip().upper()
        if text.startswith("PRAGMA SYNCHRONOUS="):
            self._full = text.endswith("FULL")
        elif text.startswith("BEGIN IMMEDIATE"):
            self._writing = True
        elif text == "COMMIT" and self._writing:
            self._writing = False
            self.commits += 1
            self.durable += self._full
        elif text == "ROLLBACK":
            self._writing = False

    def reset(self) -> None:
        self.commits = self.durable = 0


class ServerProcess:
    """A bench stand-in (`python -m <module> <port> <args...>`) served by a process of its own, so that its
    work is not done under the measured process's GIL."""

    module = ""

    def __init__(self, *args: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._args = [str(a) for a in args]
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")])}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.module, str(self.port), *self._args],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self._proc)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)


class SensProcess(ServerProcess):
    """The SENS stand-in (tests/standins/sens.py) in a process of its own; `counts()` asks it how many
    requests of each kind it served."""

    module = "bench.sens_server"

    def counts(self) -> dict[str, int]:
        import httpx

        answer = httpx.get(self.url + "/_counts", timeout=10).json()
        return {str(k): int(v) for k, v in answer.items()}

    def reset(self) -> None:
        import httpx

        httpx.post(self.url + "/_reset", timeout=10)

    @property
    def credentials(self) -> dict[str, str]:
        from tests.standins.sens import SensStandIn

        standin = SensStandIn()
        return {
            "sens_access_key": standin.access_key,
            "sens_secret_key": standin.secret_key,
            "sens_service_id": standin.service_id,
        }


@dataclass
class Timed:
    """Wall and CPU (this process) seconds of a `with` block."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Timed:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def quiet_logs() -> Iterator[None]:
    """INFO events of a 10,000-booking run are not what a benchmark measures."""
    import logging

    previous = logging.root.level
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        logging.root.setLevel(previous)


def dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def write_stores_config(root: Path, stores: int, first_store: int = 2000001) -> Path:
    """`root/config`: the default rules and templates, and `stores` stores numbered from `first_store`."""
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    for name in ("rules.yaml", "templates.yaml"):
        (config / name).write_text((CONFIG_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    lines = [
        'default_sender: "0200000000"',
        'subject: "예시스튜디오 안내"',
        'option_keywords: ["네이버"]',
        "stores:",
    ]
    for s in range(stores):
        lines += [
            f'  - id: "{first_store + s}"',
            f"    name: Bench Studio {s}",
            f"    alias: 지점{s}",
            "    templates: {guide: guide_gangnam}",
        ]
    (config / "stores.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config
