"""The order of decisions: the legacy job's, whatever order the source gives the bookings in.

The legacy job fetched every store's confirmed (RC03) bookings, decided them all, and only then its
completed (RC08) ones (docs/rules/rules-config.md, "The legacy job"): its Telegram summary lists every
confirmation and guide line, of all stores, before any review ("event") line. The live source yields
bookings store by store, confirmed then completed per store; the file source in file order. So the plan
decides in phases - every confirmed booking first, then every completed one, then any other status - and
within a phase in the order the source gave them (for the live source: store by store). The SMS, the
flags and the summary lines of a run come in that order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from naver_sms.rules.facts import Facts

#: booking statuses in the order their decisions are made; any other status comes after them
DECISION_PHASES = ("RC03", "RC08")

F = TypeVar("F", bound=Facts)


def decision_phase(status: str) -> int:
    """0 for confirmed, 1 for completed, 2 for any other status."""
    return DECISION_PHASES.index(status) if status in DECISION_PHASES else len(DECISION_PHASES)


def in_decision_order(facts: Iterable[F]) -> list[F]:
    """`facts` by phase; within a phase in the order given (a stable sort)."""
    return sorted(facts, key=lambda f: decision_phase(f.booking.status))
