"""How long an SMS template can render, measured before anything is sent (`rules check`).

A template with variables is measured as it renders, not as written: with every variable of a known length
at its longest - each store the template can be sent for (its `name`, `alias`, ids), a booking's phone in its
written form (13 characters), a Naver booking id of 10 digits, the run's clock and `reserve_at` on their
widest day (a Wednesday in September: the longest day and month names `strftime` writes). What has no known
length - the customer's name, the product's name, the options, the coupons, `booking.extra` - is measured
empty, and named: the check then says how many bytes are left for it (a warning), since only the booking
knows. Counted in EUC-KR as SENS counts (`domain.sms_text.euc_kr_length`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from jinja2 import nodes

from naver_sms.domain.booking import Booking, Store
from naver_sms.domain.clock import KST
from naver_sms.domain.sms_text import euc_kr_length
from naver_sms.rules.templates import TemplateProblem, parse, render

#: `now` and `reserve_at` at their widest: a Wednesday in September, two-digit day, hour and minute
WIDEST_TIME = datetime(2027, 9, 29, 23, 59, 59, tzinfo=KST)
#: the booking attributes no configuration knows the length of: measured empty, and named
UNBOUNDED = ("name", "masked_name", "item_name", "options", "coupons", "extra")


@dataclass(frozen=True, slots=True)
class Measure:
    """The most bytes a template renders to with every variable of known length at its longest, and the
    variables of no known length it uses (measured empty: the booking adds them)."""

    size: int
    unbounded: tuple[str, ...]
    store: str | None  # the store whose values gave the longest text


def _probe(store: Store) -> Booking:
    return Booking(
        booking_num=f"{store.id}_{'9' * 10}",
        booking_id="9" * 10,
        store_id=store.id,
        name="",
        phone="010-0000-0000",
        phone_digits="01000000000",
        reserve_at=WIDEST_TIME,
        status="RC03",
        extra=MappingProxyType({}),
    )


def unbounded_in(text: str) -> tuple[str, ...]:
    """The booking attributes of no known length the template uses (`booking.name`, ...)."""
    tree = parse(text)
    used = {
        f"booking.{node.attr}"
        for node in tree.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == "booking" and node.attr in UNBOUNDED
    }
    return tuple(sorted(used))


def measure(text: str, stores: Iterable[Store], rule: str) -> Measure | None:
    """The longest rendering of `text` for any of `stores`; None when it cannot be rendered without a real
    booking's data (e.g. an item of `booking.extra`): then only the send can measure it."""
    if "{" not in text:
        return Measure(euc_kr_length(text), (), None)
    best: Measure | None = None
    unbounded = unbounded_in(text)
    for store in stores:
        context = {"booking": _probe(store), "store": store, "now": WIDEST_TIME, "rule": rule}
        try:
            size = euc_kr_length(render(text, context))
        except (TemplateProblem, TypeError, ValueError, LookupError, AttributeError, ArithmeticError):
            return None
        if best is None or size > best.size:
            best = Measure(size, unbounded, store.id)
    return best
