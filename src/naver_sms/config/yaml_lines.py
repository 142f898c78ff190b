"""YAML that remembers where things were: every mapping knows the line of each of its keys.

Errors in configuration name the file and the line (product.md, "Rules"); PyYAML's safe loader gives the
marks, this keeps them on the loaded data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from naver_sms.errors import ConfigError

__all__ = ["LineDict", "LineList", "line_of", "load_yaml"]


class LineDict(dict[str, Any]):
    """A mapping with `line` (its own first line) and `key_lines` (the line of each key), 1-based."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence with `line` and `item_lines` (the line of each item), 1-based."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise ConfigError("a mapping key must be a plain value", line=key_node.start_mark.line + 1)
        skey = str(key)
        if skey in result:
            raise ConfigError(f"duplicate key {skey!r}", line=key_node.start_mark.line + 1, field=skey)
        result[skey] = loader.construct_object(value_node, deep=True)
        result.key_lines[skey] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay strings: `2026-11-26` in a rule is a value for a typed parameter, not a YAML timestamp.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, regexp) for tag, regexp in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def line_of(value: Any, key: str | int | None = None) -> int | None:
    """The line of `value` (a loaded mapping or list), or of its key/item `key`."""
    if isinstance(value, LineDict):
        return value.line_of(str(key)) if key is not None else value.line
    if isinstance(value, LineList):
        if isinstance(key, int) and 0 <= key < len(value.item_lines):
            return value.item_lines[key]
        return value.line
    return None


def load_yaml(path: Path) -> Any:
    """Load one YAML file; a syntax error becomes a `ConfigError` with the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8: {exc}", file=str(path)) from None
    try:
        return yaml.load(text, Loader=_Loader)
    except ConfigError as exc:
        exc.file = str(path)
        raise ConfigError(exc.message, file=str(path), line=exc.line, field=exc.field) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc}", file=str(path), line=mark.line + 1 if mark else None
        ) from None
