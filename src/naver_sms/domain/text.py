"""Lone surrogates (`"\\ud800"`: valid in JSON, and how the file system hands over names that are not UTF-8) fail
the first time they are encoded - by SQLite, SENS, the console - so a booking holding one is malformed input
(issue 9, item 4), and a message that must name one shows its escape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with every lone surrogate written as its escape (`\\ud800`); anything else is kept."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def find_unencodable(value: Any) -> str | None:
    """The path (`name`, `snapshotJson.bookingOptionJson[0].name`) of the first text in a JSON-like value
    that cannot be encoded as UTF-8, keys included; None when there is none. Walks without recursion, so
    any depth the JSON decoder accepted is fine."""
    try:  # the common case, at C speed: orjson refuses to write any text that holds a lone surrogate
        orjson.dumps(value)
        return None
    except (orjson.JSONEncodeError, TypeError):
        pass  # a lone surrogate - or only something orjson cannot write (a deep nest, a huge int): walk
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return path
        elif isinstance(item, Mapping):
            children = []
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _SURROGATE.search(key):
                    return printable(name)
                children.append((name, child))
            stack.extend(reversed(children))  # first field first
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(f"{path}[{i}]", child) for i, child in enumerate(item)]))
    return None
