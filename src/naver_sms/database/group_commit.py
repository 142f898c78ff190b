"""Group commit: concurrent writers of one SQLite connection share transactions, and so their fsyncs.

A write transaction in WAL mode at `synchronous=FULL` costs one fsync (about 3 ms on this project's machines,
58-73 % of a run's act step: issue 12). When the act step sends SMS in parallel, several threads want to write
at once - claims before their sends, commits after them. `GroupCommit` lets them: a writer queues its work;
the first writer to find no transaction running becomes the leader, takes every queued work and runs them in
one transaction (each in a savepoint of its own, so one work's error undoes only that work), commits once, and
hands each writer its own result or error. Writes queued while a transaction commits form the next group.

A writer returns only after the transaction holding its work committed: a claim is durable before its send,
whatever group it went in (docs/database.md, "Writing").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Work(Generic[T]):
    """One writer's work: run by the leader of its group inside the group's transaction."""

    run: Callable[[], T]
    durable: bool
    result: T | None = None
    error: BaseException | None = None
    done: bool = False


class GroupCommit:
    """Runs queued works in shared transactions: `run_group(works)` is given every work queued since the
    last group started (the backend opens the transaction, runs each, commits, and sets each work's result
    or error)."""

    def __init__(self, run_group: Callable[[list[Work[Any]]], None]) -> None:
        self._run_group = run_group
        self._cond = threading.Condition()
        self._queue: list[Work[Any]] = []
        self._leading = False
        self.groups = 0  # transactions run (the benchmarks count them)

    def submit(self, run: Callable[[], T], *, durable: bool = True) -> T:
        """Run `run` in the next group's transaction and return its result (or raise its error) once that
        transaction committed."""
        work: Work[T] = Work(run, durable)
        with self._cond:
            self._queue.append(work)
            # not done and nobody leading: our work is still queued (a leader takes the whole queue)
            while not work.done and self._leading:
                self._cond.wait()
            if not work.done:
                self._leading = True
                group, self._queue = self._queue, []
        if not work.done:
            try:
                self._run_group(group)
            except BaseException as exc:  # the group as a whole failed: every work in it did
                for other in group:
                    if other.error is None and not other.done:
                        other.error = exc
                if not isinstance(exc, Exception):
                    raise
            finally:
                with self._cond:
                    self.groups += 1
                    self._leading = False
                    for other in group:
                        other.done = True
                    self._cond.notify_all()
        if work.error is not None:
            raise work.error
        return work.result  # type: ignore[return-value]
