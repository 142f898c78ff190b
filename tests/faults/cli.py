"""`naver-sms` with fault points, for the fault suite: `python -m tests.faults.cli run --live ...`.

The real command (`naver_sms.cli.app`) in a real process, with three test-only seams set by environment
variables - never part of the package:

- `FAULT_CLOCK_FILE`: the real clock is the system clock plus the seconds written in that file, read at each
  use - so the test moves time on (past a lease) for every process, and the SENS stand-in, at once, without
  anyone waiting for it to pass;
- `FAULT_READY_FILE` / `FAULT_GO_FILE`: the run builds its runtime, creates the ready file and waits for the
  go file before it fetches and acts - several processes race from the same moment;
- `FAULT_POINT`: where the process kills (SIGKILL) or stops (SIGSTOP) itself, deterministically:

    kill-before-claim:N     before the N-th claim (a new booking's row and its claim are that one write:
                            dying here leaves no row - "between the record and the claim" of issue 9)
    kill-after-claim:N      after the N-th claim that this run won (durable, nothing sent)
    kill-after-send:N       after the N-th SMS SENS accepted, before its commit
    kill-after-commit:N     after the N-th commit (the other sends in flight answered, not committed)
    kill-in-group-commit    SQLite: the first transaction holding a commit (after a send) - alone or grouped
                            with other threads' writes, as the race makes it - just before its COMMIT
    stop-before-send:N      SIGSTOP before the N-th send, after its claim (a paused laptop, a stopped VM);
                            the test runs that process with one act thread (NAVER_SMS_SEND_CONCURRENCY=1),
                            so no other send of it is stopped mid-request: a pause inside a request is the
                            residual window docs/database.md names, which no client-side check can close
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from naver_sms.cli import Seams, app
from naver_sms.cli import run as run_command
from naver_sms.database.sqlite_repository import SqliteDatabase
from naver_sms.flags.machine import FlagRepository
from naver_sms.notifications.sms_service import SensClient

_lock = threading.Lock()
_counts: dict[str, int] = {}
_databases: list[SqliteDatabase] = []


class OffsetClock:
    """The system clock plus the offset (seconds) in `path`, re-read whenever the file changed."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._seen: tuple[int, float] = (-1, 0.0)

    def offset(self) -> float:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0.0
        if stamp != self._seen[0]:
            text = self.path.read_text(encoding="utf-8").strip()
            self._seen = (stamp, float(text or 0))
        return self._seen[1]

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset())


def _reached(point: str) -> bool:
    """True exactly once: when `point` (e.g. "kill-after-send") is hit for the N-th time of FAULT_POINT."""
    wanted, _, nth = os.environ.get("FAULT_POINT", "").partition(":")
    if wanted != point:
        return False
    with _lock:
        _counts[point] = _counts.get(point, 0) + 1
        return _counts[point] == int(nth or 1)


def _stop_outside_transactions() -> None:
    """SIGSTOP this process while none of its threads is inside a SQLite transaction: a process stopped
    inside one holds the database's write lock, and every other process's writes wait for it (up to the
    busy timeout, then fail - docs/database.md). This suite stops a run between its claim and its send."""
    held = [db._lock for db in _databases]
    for lock in held:
        lock.acquire()
    try:
        os.kill(os.getpid(), signal.SIGSTOP)
    finally:
        for lock in held:
            lock.release()


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _install() -> None:
    claim, commit, send = FlagRepository.claim, FlagRepository.commit, SensClient.send_guarded

    def faulty_claim(self: FlagRepository, *args: Any, **kwargs: Any) -> Any:
        if _reached("kill-before-claim"):
            _die()
        held = claim(self, *args, **kwargs)
        if _reached("kill-after-claim"):
            _die()
        return held

    def faulty_send(self: SensClient, message: Any, before_request: Any) -> Any:
        if _reached("stop-before-send"):
            _stop_outside_transactions()  # the test moves the clock on, then SIGCONTs
        receipt = send(self, message, before_request)
        if _reached("kill-after-send"):
            _die()
        return receipt

    def faulty_commit(self: FlagRepository, *args: Any, **kwargs: Any) -> None:
        commit(self, *args, **kwargs)
        if _reached("kill-after-commit"):
            _die()

    def before_commit(self: SqliteDatabase, works: list[Any]) -> None:
        # a transaction holding a lazy write (a commit after a send), alone or grouped: the process dies inside
        # it (whether other threads' writes share it is the race's; requiring a group made the point fire or
        # not by chance)
        if any(not w.durable for w in works) and _reached("kill-in-group-commit"):
            _die()

    opened = SqliteDatabase.__init__

    def registered(self: SqliteDatabase, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        _databases.append(self)

    SqliteDatabase.__init__ = registered  # type: ignore[method-assign]
    FlagRepository.claim = faulty_claim  # type: ignore[method-assign]
    FlagRepository.commit = faulty_commit  # type: ignore[method-assign]
    SensClient.send_guarded = faulty_send  # type: ignore[method-assign]
    SqliteDatabase._before_commit = before_commit  # type: ignore[method-assign]

    real_run_once: Callable[..., Any] = run_command.run_once

    def gated_run_once(*args: Any, **kwargs: Any) -> Any:
        ready, go = os.environ.get("FAULT_READY_FILE"), os.environ.get("FAULT_GO_FILE")
        if ready and go:
            Path(ready).touch()
            while not Path(go).exists():  # a readiness check: the test creates it when all are ready
                time.sleep(0.01)
        return real_run_once(*args, **kwargs)

    run_command.run_once = gated_run_once  # type: ignore[assignment]


def main() -> None:
    _install()
    clock_file = os.environ.get("FAULT_CLOCK_FILE")
    seams = Seams(clock=OffsetClock(clock_file)) if clock_file else Seams()
    app(args=sys.argv[1:], obj=seams, prog_name="naver-sms")


if __name__ == "__main__":
    main()
