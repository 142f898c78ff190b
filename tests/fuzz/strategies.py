"""Hypothesis strategies for the bad-input fuzz suite (issue 9, deliverable b): JSON values of every shape,
texts holding what no encoding carries, every way of writing a Korean number, booking objects (valid ones
and mutated ones), bookings files, and configuration files corrupted at the byte, YAML and template level.

Every generated number is synthetic (`010-xxxx-xxxx` built from random digits, never a real customer's).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from naver_sms.domain.booking import Booking, BookingError
from naver_sms.domain.text import printable
from tests.world import raw_booking as naver_booking

#: The stores of config/stores.yaml: bookings of other stores are ignored by the sources.
STORE_IDS = tuple(range(1000001, 1000009))


def fuzz_settings(max_examples: int) -> settings:
    """Reproducible in CI: derandomized (the examples come from the test's own name), no example database,
    no deadline (CLI runs on a shared 2-core machine vary in time; the suite is bounded by the counts)."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# --- text and JSON -------------------------------------------------------------------------------------------------

#: Texts that broke or could break something: markup, templates, ids in other digits, control characters,
#: lone surrogates, numbers that are not numbers.
NASTY_TEXTS = (
    "",
    " ",
    "\ud800",
    "\udcff",
    "a\udc80b",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "[/]",
    "[bold]x",
    "[link=x]",
    "{{ booking.__class__ }}",
    "{%",
    "%s%n",
    "²³",
    "١٢٣",
    "０１０",
    "1e400",
    "NaN",
    "-0",
    "9" * 30,
    "010-1234-5678",
    "+82 10-1234-5678",
    "홍길동",
    "😀",
)

ANY_CHARACTER = st.characters(codec=None, exclude_categories=())  # lone surrogates and controls included
texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=ANY_CHARACTER, max_size=8),
    st.sampled_from(NASTY_TEXTS),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.sampled_from([10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


#: Any JSON value that can be encoded (no lone surrogate): what a valid booking's unmapped fields may hold.
encodable = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


# --- Korean numbers ------------------------------------------------------------------------------------------------

#: (prefix, digits after it) of every kind of Korean number the project sends to (naver.md, "Malformed bookings")
NUMBER_KINDS = (
    ("010", 8),
    ("010", 7),
    ("011", 7),
    ("011", 8),
    ("016", 7),
    ("017", 8),
    ("018", 7),
    ("019", 8),
    ("02", 7),
    ("02", 8),
    ("031", 7),
    ("033", 8),
    ("042", 7),
    ("051", 8),
    ("055", 7),
    ("064", 8),
    ("070", 8),
    ("0504", 8),
    ("0505", 7),
)


@st.composite
def korean_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(national digits, the same number as someone might write it: `+82 (0)10-1234-5678`, `02.123.4567`)."""
    prefix, count = draw(st.sampled_from(NUMBER_KINDS))
    rest = draw(st.text(alphabet="0123456789", min_size=count, max_size=count))
    national = prefix + rest
    middle, last = rest[:-4], rest[-4:]
    sep = draw(st.sampled_from(["", "-", " ", ".", " - ", "  "]))
    style = draw(st.sampled_from(["national", "paren", "+82", "+82 (0)", "+82 0", "82", "0082"]))
    area = prefix[1:]  # without the national prefix 0
    if style == "national":
        head = prefix
    elif style == "paren":
        head = f"({prefix})"
    elif style == "+82 (0)":
        head = f"+82{draw(st.sampled_from(['', ' ']))}(0){area}"
    elif style == "+82 0":
        head = f"+82 {prefix}"
    else:
        head = f"{style}{draw(st.sampled_from(['', ' ', '-']))}{area}"
    padding = draw(st.sampled_from(["", " ", "\t", " \n"]))
    return national, f"{padding}{head}{sep}{middle}{sep}{last}{padding}"


#: Phones that are not Korean numbers, or not text: each makes its booking malformed.
not_korean_numbers = st.one_of(
    st.integers(min_value=0, max_value=10**12),  # a phone as a JSON number: its leading 0 is lost
    st.floats(),
    st.sampled_from(
        [
            "+1 212 555 0100",
            "+44 20 7946 0958",
            "1588-1234",
            "112",
            "1012345678",  # a mobile without its leading 0
            "0101234567890",
            "020-1234-5678",
            "0391234567",
            "010-1234-567x",
            "٠١٠١٢٣٤٥٦٧٨",
            "０１０１２３４５６７８",
            "010+1234+5678",
            "-",
        ]
    ),
    st.lists(st.text(max_size=3), max_size=2),
)


# --- booking objects -----------------------------------------------------------------------------------------------


@st.composite
def valid_bookings(draw: st.DrawFn, booking_id: int) -> tuple[dict[str, Any], str]:
    """A booking object every source must accept, with its phone written in any Korean way, and unmapped
    fields of any encodable JSON shape; with the national number it must be sent to."""
    national, written = draw(korean_numbers())
    raw = naver_booking(
        booking_id,
        store_id=draw(st.sampled_from(STORE_IDS)),
        status="RC03",
        start="2026-11-27 15:00",  # tomorrow at the fuzz clock: a new booking gets its confirmation
        phone=written,
        name=draw(st.sampled_from(["홍길동", "김철수", "A", "[/]", "{{ x }}", "\x1b[1m"])),
    )
    raw["bookingId"] = draw(st.sampled_from([booking_id, str(booking_id)]))
    extra = draw(
        st.dictionaries(st.sampled_from(["memo", "x", "requestMessage", "[/]"]), encodable, max_size=2)
    )
    raw.update(extra)
    return raw, national


MAPPED_PATHS = (
    ("bookingId",),
    ("businessId",),
    ("phone",),
    ("name",),
    ("bookingStatusCode",),
    ("snapshotJson",),
    ("snapshotJson", "startDateTime"),
    ("snapshotJson", "bookingOptionJson"),
    ("snapshotJson", "couponJson"),
    ("bookingOptionJson",),
    ("bizItemName",),
)


@dataclass(frozen=True)
class Mutation:
    path: tuple[str | int, ...]
    value: Any
    delete: bool = False

    def apply(self, raw: dict[str, Any]) -> None:
        node: Any = raw
        for part in self.path[:-1]:
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and part < len(node)
            ):
                node = node[part]
            else:
                return
        key = self.path[-1]
        if isinstance(node, dict):
            if self.delete:
                node.pop(key, None)
            else:
                node[key] = self.value
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node[key] = self.value


mutations = st.builds(
    Mutation,
    path=st.one_of(
        st.sampled_from(MAPPED_PATHS),
        st.tuples(
            st.just("snapshotJson"),
            st.just("bookingOptionJson"),
            st.just(0),
            st.sampled_from(["name", "bookingCount", "price"]),
        ),
        st.tuples(st.just("bookingOptionJson"), st.just(0), texts),
        st.tuples(st.just("snapshotJson"), texts),
        st.tuples(texts),
    ),
    value=st.one_of(json_values, not_korean_numbers, st.sampled_from(NASTY_TEXTS)),
    delete=st.booleans(),
)


@st.composite
def booking_objects(draw: st.DrawFn, booking_id: int) -> Any:
    """Anything a booking list may hold: a valid booking mutated at its mapped fields, or any JSON value."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    raw, _ = draw(valid_bookings(booking_id))
    raw = copy.deepcopy(raw)
    for mutation in draw(st.lists(mutations, min_size=1, max_size=3)):
        mutation.apply(raw)
    return raw


# --- bookings files ------------------------------------------------------------------------------------------------


def _deep(depth: int, opener: str, closer: str) -> str:
    return opener * depth + closer * depth


#: Whole files no source can read: each must be named, and cost no other file's bookings.
UNREADABLE_FILES: tuple[Callable[[], bytes], ...] = (
    lambda: _deep(100_000, "[", "]").encode(),
    lambda: (_deep(3000, '{"a":', "}").replace("}", "1}", 1)).encode(),
    lambda: b"[]\xbf\xb9",
    lambda: "[]".encode("utf-16"),
    lambda: b'[{"bookingId": 1',
    lambda: b"[" + b"9" * 5000 + b"]",
    lambda: b"",
    lambda: b"\x00",
)


class BookingsFile:
    """One generated file. A plain class: Hypothesis prints a dataclass field by field, and a falsifying
    example of 100,000 brackets must stay readable."""

    __slots__ = ("content", "name", "objects")

    def __init__(self, name: str, content: bytes, objects: tuple[Any, ...] | None) -> None:
        self.name = name
        self.content = content
        self.objects = objects  # the booking objects, when the file is a readable JSON array

    def __repr__(self) -> str:  # falsifying examples stay readable: 100,000 brackets are not
        head = self.content[:60] + (b"..." if len(self.content) > 60 else b"")
        return f"BookingsFile({self.name!r}, {len(self.content)} bytes: {head!r}, objects={self.objects!r})"


@st.composite
def bookings_files(draw: st.DrawFn, first_id: int, *, allow_unreadable: bool = True) -> BookingsFile:
    kind = draw(st.integers(0, 9)) if allow_unreadable else 9
    name = draw(st.sampled_from(["a", "b", "c", "[red]", "[", "예약", "x\udcff"])) + f"-{first_id}.json"
    if kind == 0:
        return BookingsFile(name, draw(st.sampled_from(UNREADABLE_FILES))(), None)
    if kind == 1:
        return BookingsFile(name, draw(st.binary(max_size=40)), None)
    if kind == 2:
        value = draw(json_values.filter(lambda v: not isinstance(v, list)))
        return BookingsFile(name, json.dumps(value).encode(), None)
    objects: list[Any] = []
    for i in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            objects.append(draw(valid_bookings(first_id + i))[0])
        else:
            objects.append(draw(booking_objects(first_id + i)))
    text = json.dumps(objects, ensure_ascii=draw(st.booleans()))
    # a lone surrogate written raw (not as its \u escape) makes bytes that are not UTF-8: a bad file
    readable = not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    return BookingsFile(name, text.encode("utf-8", "surrogatepass"), tuple(objects) if readable else None)


def unique_names(files: tuple[BookingsFile, ...] | list[BookingsFile]) -> list[BookingsFile]:
    """The generated files, one per name (the first one), as a directory holds them."""
    by_name: dict[str, BookingsFile] = {}
    for f in files:
        by_name.setdefault(f.name, f)
    return list(by_name.values())


def expected_from(files: list[BookingsFile]) -> tuple[dict[str, Booking], int, set[str]]:
    """What any source of these files must give, from `Booking.from_naver` (fuzzed on its own): every
    booking to handle (files in name order, the first of a booking_num wins, configured stores only), how
    many entries are skipped, and the names (as printed) of the files reported as a whole."""
    handled: dict[str, Booking] = {}
    skipped = 0
    unreadable: set[str] = set()
    for f in sorted(files, key=lambda f: Path(f.name)):
        objects: Any = f.objects
        if objects is None:
            try:
                objects = json.loads(f.content.decode("utf-8"))
            except (ValueError, RecursionError):
                objects = None
            if not isinstance(objects, list):
                unreadable.add(printable(f.name))
                skipped += 1
                continue
        for obj in objects:
            try:
                b = Booking.from_naver(obj)
            except BookingError:
                skipped += 1
                continue
            if int(b.store_id) in STORE_IDS and b.booking_num not in handled:
                handled[b.booking_num] = b
    return handled, skipped, unreadable
