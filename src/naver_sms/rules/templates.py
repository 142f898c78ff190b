"""Rendering untrusted templates: Jinja2's sandbox, strict undefined, and a check of every variable at load.

Rule and template files are treated as untrusted input: the sandbox refuses unsafe attribute access
(`{{ booking.__class__ }}`), and a name the context does not provide is an error - at load time when it can
be seen statically (`{{ booking.nmae }}`, with a suggestion), at render time otherwise. Texts without
variables render to themselves byte for byte (legacy SMS texts, legacy-behaviour.md §5): trailing newlines
are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from naver_sms.domain.booking import Booking, Store
from naver_sms.errors import did_you_mean

__all__ = ["TEMPLATE_VARIABLES", "TemplateProblem", "check_template", "render"]

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
}


class TemplateProblem(ValueError):
    """A template that cannot work: bad syntax, an unknown variable or attribute. `suggestion` may help."""

    def __init__(self, message: str, *, line: int | None = None, suggestion: str | None = None) -> None:
        self.line = line
        self.suggestion = suggestion
        super().__init__(message)


@lru_cache(maxsize=512)
def _compile(text: str) -> Template:
    return _ENV.from_string(text)


def check_template(text: str, *, allowed: Iterable[str]) -> None:
    """Raise `TemplateProblem` when `text` has a syntax error, uses a variable outside `allowed`, or an
    attribute the booking or store does not have."""
    allowed_set = set(allowed)
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}", line=exc.lineno) from None
    loop_vars: dict[str, str] = {}
    for loop in tree.find_all(nodes.For):
        if (
            isinstance(loop.iter, nodes.Name)
            and loop.iter.name == "bookings"
            and isinstance(loop.target, nodes.Name)
        ):
            loop_vars[loop.target.name] = "booking"
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
    for attr in tree.find_all(nodes.Getattr):
        if not isinstance(attr.node, nodes.Name):
            continue
        owner = loop_vars.get(attr.node.name, attr.node.name)
        known = TEMPLATE_VARIABLES.get(owner)
        if known is not None and attr.attr not in known:
            raise TemplateProblem(
                f"{owner} has no attribute {attr.attr!r}",
                line=attr.lineno,
                suggestion=did_you_mean(attr.attr, known),
            )


def render(text: str, context: Mapping[str, Any]) -> str:
    """Render in the sandbox. Undefined names and unsafe access raise `TemplateProblem`."""
    if "{" not in text:  # no Jinja syntax at all: the text is sent as written (and fast)
        return text
    try:
        return str(_compile(text).render(**context))
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        raise TemplateProblem(f"cannot render template: {exc}") from exc
