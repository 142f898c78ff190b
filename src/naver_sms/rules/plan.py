"""Compiled rules (the condition tree, the actions) and the plan of one run: every rule evaluated against every
booking, with the reason each did or did not match."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from naver_sms.domain.booking import Booking
from naver_sms.domain.period import PeriodSpec
from naver_sms.domain.status import ON_DEMAND
from naver_sms.flags.state import FlagState, request_ids
from naver_sms.rules.conditions import ConditionType
from naver_sms.rules.facts import Facts
from naver_sms.rules.quiet import Hold, Quiet
from naver_sms.rules.types import ActionType, Mode

#: what a condition looked at (`plan --explain`): its values, or those of each child of a combinator
Seen = dict[str, Any] | list["Seen"]


class Node:
    """A compiled condition. `first_failure` returns None when it holds, or the node that made it fail."""

    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def seen(self, facts: Facts) -> Seen:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Leaf(Node):
    ctype: ConditionType
    params: BaseModel
    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:
        return None if self.ctype.check(facts, self.params) else self

    def describe(self) -> dict[str, Any]:
        """The condition with every parameter - defaults too (`min_count: 2`): what it was evaluated with."""
        return {"type": self.ctype.name, "params": self.params.model_dump(mode="json")}

    def seen(self, facts: Facts) -> Seen:
        return dict(self.ctype.observe(facts, self.params))


@dataclass(frozen=True, slots=True)
class AllOf(Node):
    children: tuple[Node, ...]
    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:
        for child in self.children:
            failed = child.first_failure(facts)
            if failed is not None:
                return failed
        return None

    def describe(self) -> dict[str, Any]:
        return {"all": [c.describe() for c in self.children]}

    def seen(self, facts: Facts) -> Seen:
        return [c.seen(facts) for c in self.children]


@dataclass(frozen=True, slots=True)
class AnyOf(Node):
    children: tuple[Node, ...]
    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:
        for child in self.children:
            if child.first_failure(facts) is None:
                return None
        return self

    def describe(self) -> dict[str, Any]:
        return {"any": [c.describe() for c in self.children]}

    def seen(self, facts: Facts) -> Seen:
        return [c.seen(facts) for c in self.children]


@dataclass(frozen=True, slots=True)
class NotOf(Node):
    child: Node
    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:
        return self if self.child.first_failure(facts) is None else None

    def describe(self) -> dict[str, Any]:
        return {"not": self.child.describe()}

    def seen(self, facts: Facts) -> Seen:
        return self.child.seen(facts)


@dataclass(frozen=True, slots=True)
class CompiledAction:
    atype: ActionType
    params: Any  # the instance of `atype.params` (its executor's parameter model)
    index: int
    line: int | None

    @property
    def name(self) -> str:
        return self.atype.name


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    description: str
    enabled: bool
    mode: Mode
    condition: AllOf
    actions: tuple[CompiledAction, ...]
    line: int | None
    #: a digest's period (`once_per`): its actions run at most once per period (rules.periodic)
    once_per: PeriodSpec | None = None
    #: a digest's text for a period in which it matched nobody; None: nothing is posted (`skip`)
    when_empty: str | None = None
    #: checked before `condition`: whether the rule sees a booking of a status fetched on demand (RC02, RC04)
    gate: Node | None = None
    #: when the rule waits instead of acting (its `quiet_hours`; 21:00-08:00 when it sends advertising)
    quiet: Quiet | None = None

    def first_failure(self, facts: Facts) -> Node | None:
        # the gate only ever fails a booking fetched on demand: every other booking skips it (the hot path)
        if self.gate is not None and facts.booking.status in ON_DEMAND:
            failed = self.gate.first_failure(facts)
            if failed is not None:
                return failed
        return self.condition.first_failure(facts)

    def held(self, booking_num: str | None, now: datetime) -> Hold | None:
        """The hold of a match at `now` (the rule is quiet), or None when it acts."""
        return self.quiet.held(self.name, booking_num, now) if self.quiet is not None else None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One rule against one booking: matched, or the first condition that failed."""

    rule: CompiledRule
    facts: Facts
    failed: Node | None

    @property
    def matched(self) -> bool:
        return self.failed is None

    def held(self) -> Hold | None:
        """A match that waits for the end of the rule's quiet hours (None: it acts, or did not match)."""
        if self.failed is not None:
            return None
        return self.rule.held(self.facts.booking.booking_num, self.facts.now)

    def explain(self) -> dict[str, Any]:
        """The reason, with the values the failing condition saw (computed on demand)."""
        if self.failed is None:
            hold = self.held()
            return {"rule": self.rule.name, "matched": True, **({"held": hold.to_json()} if hold else {})}
        return {
            "rule": self.rule.name,
            "matched": False,
            "failed": self.failed.path,
            "condition": self.failed.describe(),
            "seen": self.failed.seen(self.facts),
        }


@dataclass
class Plan:
    """Every enabled rule evaluated against every booking, in the decision order (`rules.order`). A run's plan
    holds only the bookings some rule matches (naver_sms.planning), with what it needs of the others:
    `request_ids` and `failed`."""

    rules: tuple[CompiledRule, ...]
    evaluations: list[list[Evaluation]] = field(default_factory=list)  # per booking, per rule
    facts: list[Facts] = field(default_factory=list)  # per booking, in order
    #: per phone number, the SMS request ids on every row read (None: those of `facts`' rows)
    request_ids: Mapping[str, Collection[str]] | None = None
    #: the flags failed for good on the rows read, with their bookings (reported on every run)
    failed: list[tuple[Booking, FlagState]] = field(default_factory=list)
    #: every booking of the run has its facts here (False: a run's plan, only those some rule matched)
    complete: bool = True

    def matches(self) -> Iterable[Evaluation]:
        for per_booking in self.evaluations:
            for evaluation in per_booking:
                if evaluation.matched:
                    yield evaluation

    def digest_groups(self) -> dict[str, list[Facts]]:
        groups: dict[str, list[Facts]] = {r.name: [] for r in self.rules if r.mode == "digest"}
        for evaluation in self.matches():
            if evaluation.rule.mode == "digest":
                groups[evaluation.rule.name].append(evaluation.facts)
        return groups

    def known_request_ids(self) -> Mapping[str, frozenset[str]]:
        """Per phone number, the SMS request ids on the loaded rows (a look-up never takes another booking's)."""
        if self.request_ids is not None:
            return _Frozen(self.request_ids)
        sent_to: dict[str, set[str]] = {}
        for f in self.facts:
            if f.record is not None:
                sent_to.setdefault(f.booking.phone_digits, set()).update(request_ids(f.record))
        return {phone: frozenset(ids) for phone, ids in sent_to.items()}


class _Frozen(Mapping[str, frozenset[str]]):
    """A read-only view giving each phone's ids as a frozenset, made when asked (a run asks for a few)."""

    def __init__(self, ids: Mapping[str, Collection[str]]) -> None:
        self._ids = ids

    def __getitem__(self, phone: str) -> frozenset[str]:
        return frozenset(self._ids[phone])

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def describe_rules(rules: Sequence[CompiledRule]) -> list[Mapping[str, Any]]:
    """A JSON-able view of compiled rules (for `rules check --json`)."""
    return [
        {
            "name": r.name,
            "enabled": r.enabled,
            "mode": r.mode,
            "line": r.line,
            "conditions": r.condition.describe()["all"],
            **({"quiet_hours": [w.describe() for w, _ in r.quiet.windows]} if r.quiet else {}),
            "actions": [
                {"type": a.name, "params": a.params.model_dump(mode="json", exclude_none=True)}
                for a in r.actions
            ],
            **({"once_per": r.once_per.text} if r.once_per is not None else {}),
            **({"when_empty": r.when_empty} if r.when_empty is not None else {}),
        }
        for r in rules
    ]


def statuses_asked(node: Node) -> frozenset[str]:
    """The booking statuses the conditions under `node` ask about (`ConditionType.asks`)."""
    if isinstance(node, Leaf):
        return frozenset(node.ctype.asks(node.params)) if node.ctype.asks is not None else frozenset()
    if isinstance(node, AllOf | AnyOf):
        return frozenset().union(*(statuses_asked(c) for c in node.children))
    if isinstance(node, NotOf):
        return statuses_asked(node.child)
    return frozenset()


def flags_named(rules: Sequence[CompiledRule]) -> set[str]:
    """Every flag the rules name, in their conditions and their actions (for `db reset`'s suggestions)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "flag" and isinstance(inner, str):
                    found.add(inner)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(describe_rules(rules))
    return found
