"""YAML that remembers where things were (every mapping knows the line of each key), so errors name the file
and the line. Files are untrusted (docs/rules/rules-config.md, "Validation"): whatever bytes a file holds,
loading gives the data or one `ConfigError` with file, line and column - never a traceback. Bounded on
purpose: nesting (PyYAML composes recursively), values with aliases expanded (the "billion laughs"), digits
of an integer, and the characters YAML refuses in a file are refused in an escaped value too (`"\\x07"`).
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

from naver_sms.errors import ConfigError

#: The deepest nesting of mappings and lists a configuration file may have (the default rules.yaml uses 11).
MAX_DEPTH = 64
#: The most values (mappings, lists, scalars) a file may hold with its aliases expanded.
MAX_VALUES = 100_000
#: The most digits of an integer (ids and numbers are far shorter; Python stops converting at 4,300).
MAX_INT_DIGITS = 100


class LineDict(dict[str, Any]):
    """A mapping with `line` (its own first line) and `key_lines` (the line of each key), 1-based; and for
    each text value, `text_lines`: the line its text starts on and whether it is a literal `|` block (whose
    lines are then the file's lines from there on: an error on line 3 of a template is that many lines down)."""

    line: int = 0
    key_lines: dict[str, int]
    text_lines: dict[str, tuple[int, bool]]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def text_line(self, key: str, line_in_text: int | None = None) -> int | None:
        """The file's line of line `line_in_text` (1-based) of the text under `key`: exact for a `|` block,
        the text's first line otherwise (a quoted text's line breaks are escapes, not lines of the file)."""
        text_lines: dict[str, tuple[int, bool]] = getattr(self, "text_lines", {})
        start, block = text_lines.get(key, (self.key_lines.get(key, 0), False))
        if not start:
            return None
        return start + (line_in_text - 1) if block and line_in_text else start


class LineList(list[Any]):
    """A sequence with `line` and `item_lines` (the line of each item), 1-based."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """The safe loader, bounded in depth, and refusing in values what YAML refuses in the file."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self._depth >= MAX_DEPTH and not self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ConfigError(
                f"nested deeper than {MAX_DEPTH} levels: flatten this part of the file",
                line=mark.line + 1,
                column=mark.column + 1,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node | None:
        node: yaml.Node | None = super().compose_document()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_scalar(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]
        value = super().construct_scalar(node)
        if isinstance(value, str):
            bad = yaml.reader.Reader.NON_PRINTABLE.search(value)
            if bad:
                raise ConfigError(
                    f"{_describe(bad.group())} in a value: remove it (YAML does not allow it in text, and it "
                    "could not be stored, sent or printed)",
                    line=node.start_mark.line + 1,
                    column=node.start_mark.column + 1,
                )
        return value


def _describe(char: str) -> str:
    code = ord(char)
    kind = "a control character" if code < 0x20 or 0x7F <= code < 0xA0 else "not allowed in YAML"
    return f"the character U+{code:04X} ({kind})"


def _check_expansion(root: yaml.Node) -> None:
    """Measure the document with every alias expanded: values and depth. Each node is measured once (an
    anchor comes before its aliases, so the walk's own recursion stays within the written depth); a node
    that contains an alias of itself is refused."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth), expanded
    in_progress: set[int] = set()

    def fail(node: yaml.Node, message: str) -> ConfigError:
        mark = node.start_mark
        return ConfigError(message, line=mark.line + 1, column=mark.column + 1)

    def measure(node: yaml.Node) -> tuple[int, int]:
        key = id(node)
        if key in measured:
            return measured[key]
        if key in in_progress:
            raise fail(
                node,
                "an alias refers to itself: the mapping or list it names contains it (that would be infinite)",
            )
        in_progress.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        values, depth = 1, 0
        for child in children:
            child_values, child_depth = measure(child)
            values += child_values
            depth = max(depth, child_depth)
        depth += 1
        in_progress.discard(key)
        if values > MAX_VALUES:
            raise fail(
                node,
                f"with its aliases expanded this holds more than {MAX_VALUES:,} values: use fewer or smaller aliases",
            )
        if depth > MAX_DEPTH:
            raise fail(
                node, f"with its aliases expanded this is nested deeper than {MAX_DEPTH} levels: flatten it"
            )
        measured[key] = (values, depth)
        return values, depth

    measure(root)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.text_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise ConfigError("a mapping key must be a plain value", line=key_node.start_mark.line + 1)
        skey = str(key)
        if skey in result:
            raise ConfigError(f"duplicate key {skey!r}", line=key_node.start_mark.line + 1, field=skey)
        result[skey] = loader.construct_object(value_node, deep=True)
        result.key_lines[skey] = key_node.start_mark.line + 1
        if isinstance(value_node, yaml.ScalarNode):
            block = value_node.style in ("|", ">")  # the text starts on the line after the indicator
            result.text_lines[skey] = (value_node.start_mark.line + 1 + block, value_node.style == "|")
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    """An int of at most `MAX_INT_DIGITS` digits: no configuration needs more, and Python refuses to
    convert ints of more than 4,300 digits to text (a `ValueError` deep inside validation)."""
    try:
        value = int(yaml.SafeLoader.construct_yaml_int(loader, node))
    except ValueError:
        value = None
    if value is None or abs(value) >= 10**MAX_INT_DIGITS:
        raise ConfigError(
            f"a number of more than {MAX_INT_DIGITS} digits: write a number of a sane size",
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
        )
    return value


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay strings: `2026-11-26` in a rule is a value for a typed parameter, not a YAML timestamp.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, regexp) for tag, regexp in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def nested_key_line(value: Any, key: str) -> int | None:
    """The line of `key` somewhere deeper inside `value` (a mapping's children, a list's items): where a
    field that is missing at its level was written, indented one level too deep."""
    queue = (
        list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, list) else []
    )
    while queue:
        node = queue.pop(0)
        if isinstance(node, LineDict) and key in node:
            return node.line_of(key)
        if isinstance(node, dict):
            queue.extend(node.values())
        elif isinstance(node, list):
            queue.extend(node)
    return None


def line_of(value: Any, key: str | int | None = None) -> int | None:
    """The line of `value` (a loaded mapping or list), or of its key/item `key`."""
    if isinstance(value, LineDict):
        return value.line_of(str(key)) if key is not None else value.line
    if isinstance(value, LineList):
        if isinstance(key, int) and 0 <= key < len(value.item_lines):
            return value.item_lines[key]
        return value.line
    return None


def _decode(path: Path, data: bytes) -> str:
    """The file's text; bytes that are not UTF-8 are a `ConfigError` at their line and column."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError("the file is UTF-16: save it as UTF-8", file=str(path), line=1, column=1) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise ConfigError(
            f"not UTF-8: the byte 0x{data[exc.start]:02x} cannot be read ({exc.reason}); "
            "save the file as UTF-8",
            file=str(path),
            line=data.count(b"\n", 0, exc.start) + 1,
            column=column,
        ) from None


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of the character at `index` of `text`."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def load_yaml(path: Path) -> Any:
    """Load one YAML file; whatever it holds, the only error is a `ConfigError` with the file and line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", file=str(path)) from None
    text = _decode(path, data)
    try:
        return yaml.load(text, Loader=_Loader)
    except ConfigError as exc:
        raise ConfigError(
            exc.message, file=str(path), line=exc.line, field=exc.field, column=exc.column
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML refuses, anywhere in the file
        line, column = _position(text, exc.position)
        raise ConfigError(
            f"{_describe(chr(exc.character))}: remove it", file=str(path), line=line, column=column
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        tab = "'\\t'" in str(exc.problem)  # YAML indents with spaces only: say so, not just "'\t'"
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc}"
            + ("; indent with spaces - YAML does not allow tabs for indentation" if tab else ""),
            file=str(path),
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # a constructor's own error: still no traceback
        raise ConfigError(f"invalid YAML: {exc}", file=str(path)) from None
