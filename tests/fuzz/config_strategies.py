"""Hypothesis strategies for configuration directories: the default configuration with one of its files
changed - bytes inserted, a parameter's value replaced by any YAML value, keys added anywhere, a template
built from Jinja fragments, or the whole file replaced."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import strategies as st

from tests.conftest import CONFIG_DIR
from tests.fuzz.strategies import NASTY_TEXTS, json_values, texts

FILES = ("rules.yaml", "templates.yaml", "stores.yaml")
DEFAULTS = {name: (CONFIG_DIR / name).read_bytes() for name in FILES}

#: YAML values worth trying where a parameter is: unbounded numbers, escapes YAML refuses in text, aliases.
YAML_VALUES = (
    "1e400",
    "1.0e400",
    "-1.0e400",
    ".inf",
    "-.inf",
    ".nan",
    "1e10",
    "8760",
    "8761",
    "0",
    "-1",
    "0.0001",
    "99999999999999999999999",
    "9" * 5000,  # more digits than Python converts to an int
    "-" + "9" * 5000,
    "0x" + "f" * 5000,
    "1" * 5000 + ".5",
    "true",
    "null",
    "~",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "'x'",
    '"\\x07"',
    '"\\0"',
    '"\\ud800"',
    '"\\e[31m"',
    "&a [*a]",
    "*nope",
    "!!python/object:os.system ls",
    "2026-13-45",
    "RC99",
    "confirm_sms_claim_run",
    '"[/]"',
)

#: Jinja templates are built from a small grammar, so that most are well-formed and reach the check's
#: semantics (and the sandbox's) instead of stopping at a syntax error.
JINJA_ATOMS = (
    "booking", "now", "store", "rule", "bookings", "count", "stores", "''", "'{0.__class__}'",
    "'{0[__class__]}'", "'{:>5}'", "range(3)", "range(1000000)", "x", "loop", "booking.extra",
)  # fmt: skip
JINJA_TRAILERS = (
    ".name", ".masked_name", ".phone_last4", ".alias", ".__class__", "._x", ".mro", ".append(1)",
    ".pop()", ".update(x=1)", ".sort()", ".format(booking)", ".format_map(stores)", ".strftime('%H:%M')",
    ".replace(hour=1)", "['__class__']", "['x']", "[0]", "|upper", "|attr('__class__')", "|attr('name')",
    "|nosuch", "|length", "|join(',')", " ~ 'x'", " + 1",
)  # fmt: skip
JINJA_TEXTS = ("", "안녕하세요 ", "{ not jinja }", "\n", "[/]", "%s")


@st.composite
def jinja_expressions(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(JINJA_ATOMS)) + "".join(
        draw(st.lists(st.sampled_from(JINJA_TRAILERS), max_size=3))
    )


@st.composite
def jinja_templates(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        expr = draw(jinja_expressions())
        parts.append(
            draw(
                st.sampled_from(
                    [
                        draw(st.sampled_from(JINJA_TEXTS)),
                        f"{{{{ {expr} }}}}",
                        f"{{% for i in {expr} %}}{{{{ i }}}}{{% endfor %}}",
                        f"{{% if {expr} %}}y{{% endif %}}",
                        f"{{% if {expr} is nosuch %}}y{{% endif %}}",
                        f"{{% set v = {expr} %}}{{{{ v }}}}",
                        "{% include 'x' %}",
                        "{% import 'x' as m %}",
                        f"{{{{ {expr}",  # unclosed
                    ]
                )
            )
        )
    return "".join(parts)


PARAMS = re.compile(rb"params: \{[^}\n]*\}")


def _quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar (JSON's escapes are YAML's: `\\ud800` stays an escape)."""
    return json.dumps(text)


class ConfigFiles(dict[str, bytes]):
    """The three files of a configuration directory; shown as what was changed (a falsifying example of the
    whole default configuration would hide the one byte that matters)."""

    change = ""

    def __repr__(self) -> str:
        return f"ConfigFiles({self.change})"


KINDS = ("bytes", "param", "key", "template", "message", "whole", "nesting")


@st.composite
def changed_configs(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS) -> ConfigFiles:
    """The three files of a configuration directory, one of them changed in one of the `kinds` of way."""
    files = ConfigFiles(DEFAULTS)
    kind = draw(st.sampled_from(kinds))
    name = draw(st.sampled_from(FILES))
    if kind == "bytes":  # bytes a file should never hold, anywhere
        data = files[name]
        at = draw(st.integers(0, len(data)))
        junk = draw(
            st.one_of(
                st.binary(min_size=1, max_size=6),
                st.sampled_from(
                    [b"\x07", b"\x00", b"\x1b", b"\xff", b"\xbf\xb9", b"\xef\xbf\xbe", b"\xfe\xff"]
                ),
            )
        )
        files[name] = data[:at] + junk + data[at:]
    elif kind == "param":  # any value where a parameter's value is
        data = files["rules.yaml"]
        spots = list(PARAMS.finditer(data))
        spot = spots[draw(st.integers(0, len(spots) - 1))]
        inner = spot.group()[len(b"params: {") : -1].split(b", ")
        key = inner[draw(st.integers(0, len(inner) - 1))].split(b":")[0].decode()
        value = draw(st.one_of(st.sampled_from(YAML_VALUES), json_values.map(json.dumps)))
        replaced = (
            "params: {"
            + ", ".join(p.decode() if not p.startswith(key.encode()) else f"{key}: {value}" for p in inner)
            + "}"
        )
        files["rules.yaml"] = (
            data[: spot.start()] + replaced.encode("utf-8", "surrogatepass") + data[spot.end() :]
        )
    elif kind == "key":  # a key nobody expects: at the top, in a rule, in a store, in a template
        key = _quoted(draw(st.one_of(texts, st.sampled_from(["rulez", "Rules", "rule", "sms_", "store"]))))
        value = draw(st.sampled_from(YAML_VALUES))
        line = f"{key}: {value}\n"
        where = draw(st.sampled_from(["top", "nested"]))
        data = files[name].decode("utf-8")
        if where == "top":
            data += "\n" + line
        else:
            anchor = {
                "rules.yaml": "  - name: ",
                "templates.yaml": "  confirmation:\n",
                "stores.yaml": "  - id: ",
            }[name]
            indent = {"rules.yaml": "    ", "templates.yaml": "    ", "stores.yaml": "    "}[name]
            head, sep, tail = data.partition(anchor)
            first_line, nl, rest = tail.partition("\n")
            data = head + sep + first_line + nl + indent + line + rest
        files[name] = data.encode("utf-8", "surrogatepass")
    elif kind == "template":  # the confirmation SMS replaced by a template built from fragments
        text = draw(jinja_templates())
        data = files["templates.yaml"].decode("utf-8") + f"  fz:\n    text: {_quoted(text)}\n"
        files["templates.yaml"] = data.encode("utf-8", "surrogatepass")
        files["rules.yaml"] = files["rules.yaml"].replace(b"{template: confirmation}", b"{template: fz}", 1)
    elif kind == "message":  # a rule whose log_event message is built from fragments
        text = draw(jinja_templates())
        mode = draw(st.sampled_from(["each", "digest"]))
        rule = (
            f"\n  - name: fuzzed\n    mode: {mode}\n    conditions: [booking_not_in_db]\n"
            f"    actions:\n      - type: log_event\n        params: {{message: {_quoted(text)}}}\n"
        )
        files["rules.yaml"] += rule.encode("utf-8", "surrogatepass")
    elif kind == "whole":  # the file replaced by any JSON value (JSON is YAML), or by random text
        value = draw(
            st.one_of(json_values.map(json.dumps), st.sampled_from(NASTY_TEXTS), st.text(max_size=30))
        )
        files[name] = value.encode("utf-8", "surrogatepass")
    else:  # deep, or aliases that expand without end
        depth = draw(st.sampled_from([10, 63, 64, 65, 1000, 5000]))
        files["rules.yaml"] = draw(
            st.sampled_from(
                [
                    ("rules: " + "[" * depth + "]" * depth + "\n").encode(),
                    ("rules:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, depth))).encode(),
                    b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                    b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nrules: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
                ]
            )
        )
    changed = [n for n in FILES if files[n] != DEFAULTS[n]]
    files.change = f"{kind}: " + "; ".join(_difference(DEFAULTS[n], files[n], n) for n in changed)
    return files


def _difference(before: bytes, after: bytes, name: str) -> str:
    """`name` at the first byte that differs: what it held there before and after (short)."""
    at = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        min(len(before), len(after)),
    )
    return f"{name}@{at}: {before[at : at + 40]!r} -> {after[at : at + 60]!r} ({len(before)} -> {len(after)} bytes)"


def write_config(directory: Path, files: dict[str, bytes]) -> None:
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
