"""What each name of a template is, so that `rules check` can refuse a misspelt attribute wherever it is used.

The objects a template sees have known shapes - a booking, a store, an option of a booking, a datetime - and
so do the lists and the mapping of them (`bookings`, `booking.options`, `stores`, `by_store`). The check follows them
through what a template does with them - loops (`{% for b in bookings|sort(attribute='reserve_at') %}`), the
list filters (`sort`, `reverse`, `selectattr`, `first`...), indexing (`stores[b.store_id]`), `set` - and
refuses an attribute the object does not have (`{{ b.nmae }}`: "booking has no attribute 'nmae'", with a
suggestion), also when it is named as a filter's `attribute` (`sort(attribute='reserv_at')`). A name whose
shape is not known (an item of `booking.extra`, a macro's parameter) is left to the render.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TypeAlias

from jinja2 import nodes

from naver_sms.domain.booking import Booking, BookingOption, Store
from naver_sms.errors import did_you_mean

#: a shape: a record ("booking", "store", "option", "datetime"), a scalar ("str", "int"), or a list or
#: mapping of shapes (("list", "booking"), ("map", "store"))
Shape: TypeAlias = str | tuple[str, "Shape"]


def _public(cls: type) -> frozenset[str]:
    if dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls)} | {
            n for n, v in vars(cls).items() if isinstance(v, property)
        }
    else:
        names = set(dir(cls))
    return frozenset(n for n in names if not n.startswith("_"))


def _fields(cls: type, shapes: Mapping[str, Shape | None]) -> dict[str, Shape | None]:
    return {name: shapes.get(name, "str") for name in _public(cls)}


#: the attributes of each record, with their shapes (None: not known - e.g. `booking.extra`)
RECORDS: Mapping[str, Mapping[str, Shape | None]] = {
    "booking": _fields(
        Booking,
        {
            "reserve_at": "datetime",
            "end_at": "datetime",
            "registered_at": "datetime",
            "options": ("list", "option"),
            "coupons": ("list", "str"),
            "extra": None,
            "option_keyword_count": None,
            "has_option_keyword": None,
        },
    ),
    "store": _fields(Store, {"templates": ("map", "str")}),
    "option": _fields(BookingOption, {"count": "int", "price": "int"}),
    "datetime": {name: None for name in _public(datetime)},
    #: an item of `by_store` (rules.context.StoreGroup)
    "store_group": {"store": "store", "bookings": ("list", "booking")},
}

#: the variables of a template (the mode's `allowed` decides which may be used)
VARIABLES: Mapping[str, Shape] = {
    "booking": "booking",
    "store": "store",
    "now": "datetime",
    "rule": "str",
    "bookings": ("list", "booking"),
    "count": "int",
    "stores": ("map", "store"),
    "by_store": ("list", "store_group"),
}

_SAME_LIST = {"sort", "reverse", "list", "unique", "selectattr", "rejectattr"}
_ONE_ITEM = {"first", "last", "random", "min", "max"}
#: filters whose `attribute` (or first argument) names an attribute of the list's items
_ATTRIBUTE_FILTERS = {"sort", "map", "sum", "min", "max", "unique", "groupby", "selectattr", "rejectattr"}


def _item(shape: Shape | None) -> Shape | None:
    return shape[1] if isinstance(shape, tuple) and shape[0] == "list" else None


def shape_of(node: nodes.Node, env: Mapping[str, Shape | None]) -> Shape | None:
    """The shape of an expression, where it can be known."""
    if isinstance(node, nodes.Name):
        return env.get(node.name)
    if isinstance(node, nodes.Getattr):
        owner = shape_of(node.node, env)
        if isinstance(owner, str):
            return RECORDS.get(owner, {}).get(node.attr)
        return None
    if isinstance(node, nodes.Getitem):
        owner = shape_of(node.node, env)
        if isinstance(owner, tuple):
            if owner[0] == "map":
                return owner[1]
            return owner if isinstance(node.arg, nodes.Slice) else owner[1]
        return None
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        owner = shape_of(node.node.node, env)
        if isinstance(owner, tuple) and owner[0] == "map":
            method = node.node.attr
            if method == "values":
                return ("list", owner[1])
            if method == "get":
                return owner[1]
        return None
    if isinstance(node, nodes.Filter) and node.node is not None:
        inner = shape_of(node.node, env)
        if node.name in _SAME_LIST:
            return inner if _item(inner) is not None else None
        if node.name in _ONE_ITEM:
            return _item(inner)
        if node.name == "map":
            attribute = _attribute_argument(node)
            item = _item(inner)
            if attribute and isinstance(item, str):
                found = RECORDS.get(item, {}).get(attribute.split(".")[0])
                return ("list", found) if found is not None else None
    return None


def _attribute_argument(node: nodes.Filter) -> str | None:
    """The attribute a list filter names: `attribute='x'`, or the first argument of those that take it so."""
    for kw in node.kwargs:
        if kw.key == "attribute" and isinstance(kw.value, nodes.Const) and isinstance(kw.value.value, str):
            return kw.value.value
    if node.name in ("selectattr", "rejectattr", "groupby") and node.args:
        first = node.args[0]
        if isinstance(first, nodes.Const) and isinstance(first.value, str):
            return first.value
    return None


def _bind(target: nodes.Node, shape: Shape | None) -> dict[str, Shape | None]:
    if isinstance(target, nodes.Name):
        return {target.name: shape}
    if isinstance(target, nodes.Tuple):  # `for key, store in stores.items()`: shapes not followed
        return {n.name: None for n in target.find_all(nodes.Name)}
    return {}


def _problem(owner: str, attr: str, line: int) -> tuple[str, int, str | None]:
    return f"{owner} has no attribute {attr!r}", line, did_you_mean(attr, RECORDS[owner])


def _check_path(shape: Shape | None, path: str, line: int) -> Iterator[tuple[str, int, str | None]]:
    """A dotted attribute path (`reserve_at.day`) on a record: every step must exist."""
    for attr in path.split("."):
        if not isinstance(shape, str) or shape not in RECORDS:
            return
        if attr not in RECORDS[shape]:
            yield _problem(shape, attr, line)
            return
        shape = RECORDS[shape][attr]


def misspelt_attributes(
    tree: nodes.Template, env: Mapping[str, Shape | None]
) -> Iterator[tuple[str, int, str | None]]:
    """(message, line, suggestion) for every attribute the template names that its object does not have."""
    yield from _visit(tree, dict(env))


def _visit(node: nodes.Node, env: dict[str, Shape | None]) -> Iterator[tuple[str, int, str | None]]:
    if isinstance(node, nodes.For):
        yield from _visit(node.iter, env)
        inner = {**env, **_bind(node.target, _item(shape_of(node.iter, env)))}
        for child in [*(node.body or []), *([node.test] if node.test is not None else [])]:
            yield from _visit(child, inner)
        for child in node.else_ or []:
            yield from _visit(child, env)
        return
    if isinstance(node, nodes.Assign):
        yield from _visit(node.node, env)
        env.update(_bind(node.target, shape_of(node.node, env)))
        return
    if isinstance(node, nodes.Macro | nodes.CallBlock):  # parameters of unknown shape
        env = {**env, **{a.name: None for a in node.find_all(nodes.Name) if a.ctx == "param"}}
    if isinstance(node, nodes.Getattr):
        owner = shape_of(node.node, env)
        if isinstance(owner, str) and owner in RECORDS and node.attr not in RECORDS[owner]:
            yield _problem(owner, node.attr, node.lineno)
    if isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS and node.node is not None:
        attribute = _attribute_argument(node)
        if attribute:
            yield from _check_path(_item(shape_of(node.node, env)), attribute, node.lineno)
    for child in node.iter_child_nodes():
        yield from _visit(child, env)
