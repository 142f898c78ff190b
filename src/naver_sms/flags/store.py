"""The storage port of the flags (style.md §1): a batched read, create-if-absent and one atomic conditional
update whose conditions are plain values (`Expect`), evaluated by the backend (DynamoDB's ConditionExpression)
or in Python inside a transaction (`matches`, SQLite).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from naver_sms.domain.booking import BookingRecord

RecordKey = tuple[str, str]  # (booking_num, phone)

T = TypeVar("T")

#: how a store's read error starts when the row itself is damaged (the store answered): a problem of that
#: booking, never of the store as a whole
UNREADABLE_ROW = "unreadable row"


# --- conditions of a conditional update -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Absent:
    """The attribute does not exist."""


@dataclass(frozen=True, slots=True)
class Eq:
    """The attribute exists and equals `value`."""

    value: Any


@dataclass(frozen=True, slots=True)
class NotTrue:
    """The attribute is absent or anything but boolean true (DynamoDB: `attribute_not_exists OR <> true`)."""


@dataclass(frozen=True, slots=True)
class Lt:
    """The attribute exists and is a number below `value`."""

    value: int


@dataclass(frozen=True, slots=True)
class AbsentOrLt:
    """The attribute is absent, or a number below `value` (DynamoDB: `attribute_not_exists OR <`)."""

    value: int


Expect = Absent | Eq | NotTrue | Lt | AbsentOrLt


def matches(item: Mapping[str, Any], expect: Mapping[str, Expect]) -> bool:
    """Evaluate conditions against an item in Python (for stores that check inside a transaction)."""
    for name, cond in expect.items():
        present = name in item
        value = item.get(name)
        if isinstance(cond, Absent):
            ok = not present
        elif isinstance(cond, Eq):
            ok = present and value == cond.value and type(value) is type(cond.value)
        elif isinstance(cond, NotTrue):
            ok = value is not True
        else:
            below = isinstance(value, int | float) and not isinstance(value, bool) and value < cond.value
            ok = (present and below) or (isinstance(cond, AbsentOrLt) and not present)
        if not ok:
            return False
    return True


# --- what a backend implements ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Records of one batched read. A key in `errors` could not be read: skip that booking."""

    records: Mapping[RecordKey, BookingRecord]
    errors: Mapping[RecordKey, str] = field(default_factory=dict)
    read_calls: int = 0


@runtime_checkable
class RecordStore(Protocol):
    """The storage primitives of the `sms` table. Third-party errors are translated to `RepositoryError`."""

    def get_items(
        self, keys: Sequence[RecordKey]
    ) -> tuple[dict[RecordKey, dict[str, Any]], dict[RecordKey, str], int]:
        """Batched, strongly consistent read: (items found, read errors by key, number of read calls)."""
        ...

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        """Insert the item unless a row with its key exists. True when inserted."""
        ...

    def update_if(
        self,
        key: RecordKey,
        *,
        expect: Mapping[str, Expect],
        set_: Mapping[str, Any],
        remove: Sequence[str] = (),
        create: Mapping[str, Any] | None = None,
        durable: bool = True,
        returning: bool = True,
    ) -> dict[str, Any] | None:
        """One atomic conditional update of a row: when the row exists and every condition holds, set and
        remove the attributes and return the new item; otherwise change nothing and return None.

        Without `create`, a row that does not exist raises `RecordMissing`. With `create`, a missing row is
        an empty item to the conditions (`Absent` and `NotTrue` hold, `Eq` does not) and, when they hold, it
        is created from `create` with `set_` applied - in the same atomic write (a new booking's row and the
        claim of its first flag: one write). On an existing row `create` adds only the attributes it lacks.

        `durable=False` allows a backend to make the write durable lazily (SQLite: no fsync at its commit;
        the next durable write or checkpoint syncs it): only for writes whose loss on power failure the
        state machine resolves itself (a commit after a send: the claim before it is durable, and a stale
        claim is resolved through the provider's look-up). `returning=False`: nothing is asked back (an
        empty dict stands for "done"), which saves DynamoDB the response's item."""
        ...

    def atomic(self, work: Callable[[], T]) -> T:
        """Run `work` so that its writes through this store (and the outbox of the same database) are one
        transaction where the backend can (SQLite); elsewhere simply call it. For local, instant work only
        (the sandbox's outbox write and the commit of that SMS): never around a network call."""
        ...

    def scan_items(self, limit: int | None = None) -> Iterable[dict[str, Any]]:
        """Every row (for `history` and operator tools - never on the run's hot path)."""
        ...
