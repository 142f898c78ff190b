"""Untrusted templates in Jinja2's sandbox with strict undefined. What would fail at render time - an unknown
name (`{{ booking.nmae }}`, with a suggestion), anything the sandbox refuses (asked of the same environment
for every attribute, item, filter, test and call of the syntax tree) - is refused at load, so a template that
passes `rules check` never fails every SMS built from it. Texts without variables render to themselves byte
for byte, trailing newlines kept (legacy SMS texts, legacy-behaviour.md §5).
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

from naver_sms.domain.booking import Booking, Store
from naver_sms.errors import did_you_mean
from naver_sms.rules.template_types import VARIABLES, misspelt_attributes

_ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False, trim_blocks=False
)


def _public_names(cls: type) -> frozenset[str]:
    names = {f.name for f in dataclasses.fields(cls)}
    names |= {n for n, v in vars(cls).items() if isinstance(v, property)}
    return frozenset(n for n in names if not n.startswith("_"))


#: Names a template may use, and the attributes of the objects behind them.
TEMPLATE_VARIABLES: Mapping[str, frozenset[str] | None] = {
    "booking": _public_names(Booking),
    "store": _public_names(Store),
    "now": None,  # a datetime: any of its public attributes and methods
    "rule": None,  # the rule's name
    "bookings": None,  # digest rules: the matched bookings, in order
    "count": None,  # digest rules: len(bookings)
    "stores": None,  # digest rules: store id -> store, e.g. {{ stores[b.store_id].alias }}
    "by_store": None,  # digest rules: [{store, bookings}] in the order of stores.yaml
}


class TemplateProblem(ValueError):
    """A template that cannot work: bad syntax, an unknown variable or attribute. `suggestion` may help.

    Permanent: the same template with the same data fails the same way on the next run (its flag fails for
    good at once: naver_sms.flags.effect); `fix` says what to change, where the caller knows."""

    permanent = True
    fix: str | None = None

    def __init__(self, message: str, *, line: int | None = None, suggestion: str | None = None) -> None:
        self.line = line
        self.suggestion = suggestion
        super().__init__(message)


@lru_cache(maxsize=512)
def _compile(text: str) -> Template:
    return _ENV.from_string(text)


#: Objects of the kinds a template can reach, to ask the sandbox whether an attribute is safe on any of them
#: (a mutating method of a list or dict, `mro` of a type, a generator's frame, a name starting with `_`).
_SAMPLES: tuple[Any, ...] = ([], {}, set(), deque(), str, iter(()), (n for n in range(0)), lambda: None, "")


def _refused_name(name: str) -> str | None:
    """Why the sandbox would refuse the attribute or item `name` on some object a template can reach."""
    if name.startswith("_"):
        return f"the sandbox refuses {name!r} (names starting with '_' reach into Python)"
    if any(not _ENV.is_safe_attribute(sample, name, None) for sample in _SAMPLES):
        return f"the sandbox refuses {name!r} (it changes data or reaches into Python)"
    return None


def _format_fields(fmt: str) -> Iterator[str]:
    """The attribute and item names of a `str.format` string: `{0.__class__}`, `{0[__class__]}` ->
    `__class__` (the sandbox's formatter looks each up as an attribute or item)."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(fmt) if name]
    except ValueError:  # not a valid format string: str.format fails on it, not the sandbox
        return
    for name in fields:
        for attr, item in re.findall(r"\.([^.\[]*)|\[([^\]]*)\]", name):
            yield attr or item


def _sandbox_refusals(tree: nodes.Template) -> Iterator[tuple[str, int, str | None]]:
    """(message, line, suggestion) for everything in `tree` the sandbox would refuse when rendering."""
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        yield (
            f"a template cannot {type(node).__name__.lower().replace('fromimport', 'import')} other "
            "templates (there are none to load)",
            node.lineno,
            None,
        )
    for attr in tree.find_all(nodes.Getattr):
        if why := _refused_name(attr.attr):
            yield why, attr.lineno, None
    for item in tree.find_all(nodes.Getitem):
        key = item.arg.value if isinstance(item.arg, nodes.Const) else None
        if isinstance(key, str) and (why := _refused_name(key)):
            yield why, item.lineno, None
    for flt in tree.find_all(nodes.Filter):
        if flt.name not in _ENV.filters:
            yield f"unknown filter {flt.name!r}", flt.lineno, did_you_mean(flt.name, _ENV.filters)
        elif (
            flt.name == "attr"
            and flt.args
            and isinstance(flt.args[0], nodes.Const)
            and (why := _refused_name(str(flt.args[0].value)))
        ):
            yield why, flt.lineno, None
    for test in tree.find_all(nodes.Test):
        if test.name not in _ENV.tests:
            yield f"unknown test {test.name!r}", test.lineno, did_you_mean(test.name, _ENV.tests)
    for call in tree.find_all(nodes.Call):
        target = call.node
        if (
            isinstance(target, nodes.Getattr)
            and target.attr in ("format", "format_map")
            and isinstance(target.node, nodes.Const)
            and isinstance(target.node.value, str)
        ):
            for name in _format_fields(target.node.value):
                if why := _refused_name(name):
                    yield why, call.lineno, None
        if isinstance(target, nodes.Name) and target.name == "range" and not (call.kwargs or call.dyn_args):
            bounds = [a.value for a in call.args if isinstance(a, nodes.Const)]
            if len(bounds) == len(call.args) and all(type(b) is int for b in bounds):
                try:
                    size = len(range(*bounds))
                except (TypeError, ValueError):
                    continue
                if size > MAX_RANGE:
                    yield f"range of {size:,} items: the sandbox allows {MAX_RANGE:,}", call.lineno, None


def check_template(text: str, *, allowed: Iterable[str]) -> None:
    """Raise `TemplateProblem` when `text` has a syntax error, uses a variable outside `allowed`, an
    attribute the booking or store does not have, or anything the sandbox would refuse when rendering."""
    allowed_set = set(allowed)
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}", line=exc.lineno) from None
    refused = next(_sandbox_refusals(tree), None)
    if refused is not None:
        message, line, suggestion = refused
        raise TemplateProblem(message, line=line, suggestion=suggestion)
    try:
        _compile(text)  # whatever else only compiling finds
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error: {exc.message}", line=exc.lineno) from None
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for name_node in tree.find_all(nodes.Name):
        if name_node.ctx != "load" or name_node.name in assigned or name_node.name in ("loop", "range"):
            continue
        if name_node.name not in allowed_set:
            raise TemplateProblem(
                f"unknown template variable {name_node.name!r} (available: {', '.join(sorted(allowed_set))})",
                line=name_node.lineno,
                suggestion=did_you_mean(name_node.name, allowed_set),
            )
    # every attribute of a known object, also through loops, list filters and indexing (template_types)
    env = {name: VARIABLES[name] for name in allowed_set if name in VARIABLES}
    misspelt = next(misspelt_attributes(tree, env), None)
    if misspelt is not None:
        message, line, suggestion = misspelt
        raise TemplateProblem(message, line=line, suggestion=suggestion)


def parse(text: str) -> nodes.Template:
    """The syntax tree of a template (raises `TemplateProblem` on a syntax error)."""
    try:
        return _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}", line=exc.lineno) from None


def render(text: str, context: Mapping[str, Any]) -> str:
    """Render in the sandbox. Undefined names and unsafe access raise `TemplateProblem`."""
    if "{" not in text:  # no Jinja syntax at all: the text is sent as written (and fast)
        return text
    try:
        return str(_compile(text).render(**context))
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        raise TemplateProblem(f"cannot render template: {exc}") from exc
