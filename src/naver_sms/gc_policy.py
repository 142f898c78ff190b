"""The garbage collector set for the shape of a run (issue 12): what exists before the run (modules, the
compiled configuration, the runtime) lives as long as the process and is frozen out of every collection, and
the young generation is collected every 50,000 new container objects instead of every 700 - a run makes
tens of objects per booking (its JSON, its row, its facts), nearly all freed by reference counting as soon as
their batch is decided, so frequent collections only scan the same live objects again. Since a run streams
per store (naver_sms.planning) the collector's share is small either way: this takes the run's collections
from dozens to one or two."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: new container objects (less those freed) between two collections of the youngest generation
YOUNG_THRESHOLD = 50_000


@contextmanager
def run_gc() -> Iterator[None]:
    """Within: the objects alive on entry are frozen (never scanned) and the young generation is collected
    less often. On exit the previous thresholds are back and the frozen objects are collectable again, so a
    long-lived process (`serve`, a warm Lambda) frees what a finished run left in cycles."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(YOUNG_THRESHOLD, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
