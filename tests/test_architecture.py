"""The house stays as it is built: dependencies point one way, the core owns its ports, no module grows past its
budget, and a function-local import says why it is there.

    domain, errors, retry, json_codec  <-  config, logs, ports  <-  flags  <-  rules, delivery  <-  planning,
                                                                                   summary  <-  runner  <-  wiring
                                                     <-  cli, handler, rule_fixtures
    adapters (database, notifications, naver) implement the ports: they import the core's leaves, never
    the engine, the runner or each other (naver never imports database)

Read from the source (`ast`), so a test of the graph never runs the package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "naver_sms"

#: no module over this many lines (docs/style: small modules, one concept each)
LINE_BUDGET = 400

ADAPTERS = ("database", "notifications", "naver")
#: what every package may import, besides its own modules (a prefix matches a package and its modules)
ALLOWED: dict[str, tuple[str, ...]] = {
    "domain": (),
    "errors": (),
    "retry": (),
    "pacing": ("retry",),
    "json_codec": (),
    "proxies": (),
    "http_direct": ("proxies",),
    "http_urllib3": ("config",),
    "config": ("domain", "errors"),
    "logs": ("domain",),
    "ports": ("domain", "errors"),
    "flags": ("domain", "errors"),
    "database": (
        "domain",
        "errors",
        "config",
        "retry",
        "json_codec",
        "logs",
        "ports",
        "proxies",
        "flags.store",
        "flags.machine",
        "flags.state",
    ),
    "notifications": (
        "domain",
        "errors",
        "config",
        "retry",
        "pacing",
        "logs",
        "ports",
        "http_direct",
        "http_urllib3",
    ),
    "naver": (
        "domain",
        "errors",
        "config",
        "retry",
        "pacing",
        "json_codec",
        "logs",
        "ports",
        "http_direct",
        "http_urllib3",
    ),
    "rules": ("domain", "errors", "config", "logs", "ports", "flags", "delivery"),
    "delivery": ("domain", "errors", "ports", "flags"),
    "planning": ("domain", "errors", "config", "ports", "flags", "rules"),
    "summary": ("rules",),
    "gc_policy": (),
    "runner": (
        "domain",
        "errors",
        "config",
        "logs",
        "ports",
        "flags",
        "rules",
        "planning",
        "summary",
        "gc_policy",
    ),
    "owner": ("domain", "errors", "config", "logs", "ports", "flags", "rules", "runner"),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, without the `naver_sms.` prefix
    target: str  # the imported module, without the prefix
    line: int
    local: bool  # inside a function (or an `if TYPE_CHECKING:` block)
    type_only: bool


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def _is_module(package: str, name: str) -> bool:
    base = SRC.joinpath(*package.split(".")[1:], name)
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(inner) for inner in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("naver_sms"):
            # `from naver_sms.cli import db` imports the module `cli.db`; `from naver_sms.x import name`, `x`
            names = [
                node.module + "." + a.name if _is_module(node.module, a.name) else node.module
                for a in node.names
            ]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("naver_sms")]
        else:
            continue
        for name in names:
            target = name.removeprefix("naver_sms").removeprefix(".") or "__init__"
            yield Import(_name(path), target, node.lineno, node.col_offset > 0, id(node) in type_only)


def all_imports() -> list[Import]:
    return [i for path in sorted(SRC.rglob("*.py")) for i in _imports(path)]


def _top(module: str) -> str:
    return module.split(".")[0]


def _allowed(importer: str, target: str) -> bool:
    if _top(importer) == _top(target):
        return True
    allowed = ALLOWED.get(_top(importer))
    if allowed is None:  # the composition root and the entry points: wiring, cli, handler, rule_fixtures
        return True
    return any(target == a or target.startswith(a + ".") for a in allowed)


def test_dependencies_point_one_way() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}" for i in all_imports() if not _allowed(i.module, i.target)
    ]
    assert wrong == []


def test_nothing_imports_an_entry_point() -> None:
    entry = ("cli", "handler", "wiring", "rule_fixtures", "console")
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in all_imports()
        if _top(i.target) in entry and _top(i.module) not in entry and i.module != "__init__"
    ]
    assert wrong == []
    assert not [
        i for i in all_imports() if i.target.startswith(("cli", "handler")) and _top(i.module) != "cli"
    ]


def test_adapters_import_no_engine_and_naver_no_database() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in all_imports()
        if _top(i.module) in ADAPTERS
        and (
            _top(i.target) in ("rules", "runner", "wiring", "delivery") or i.target.startswith("flags.effect")
        )
    ]
    assert wrong == []
    assert not [i for i in all_imports() if _top(i.module) == "naver" and _top(i.target) == "database"]
    assert not [i for i in all_imports() if _top(i.module) == "rules" and _top(i.target) in ADAPTERS]


def test_the_import_graph_has_no_circle() -> None:
    graph: dict[str, set[str]] = {}
    modules = {_name(p) for p in SRC.rglob("*.py")}
    for i in all_imports():
        if not i.type_only and i.target in modules and i.target != i.module:
            graph.setdefault(i.module, set()).add(i.target)
            # importing a.b.c runs the packages a and a.b first: an edge to each (but the importer's own)
            parts = i.target.split(".")
            for package in (".".join(parts[:n]) for n in range(1, len(parts))):
                if package in modules and not (i.module + ".").startswith(package + "."):
                    graph.setdefault(i.module, set()).add(package)
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + ".") or node == "__init__":
                continue  # a package importing its own modules
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if state.get(nxt) is None and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    for module in sorted(graph):
        if state.get(module) is None:
            circle = visit(module, [])
            assert circle is None, " -> ".join(circle)


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_keep_within_their_line_budget(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LINE_BUDGET, (
        f"{path.relative_to(SRC)}: {lines} lines (budget {LINE_BUDGET}): split it by concept"
    )


def test_a_function_local_import_says_why() -> None:
    """Imports inside functions only keep a heavy optional dependency (boto3, selenium, httpx, the DynamoDB
    adapter) off the import path of the commands and handlers that do not need it - and a comment on or just
    above the import (or its block of imports) says so."""
    unexplained = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(text))
        checked = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            local = isinstance(node, ast.Import | ast.ImportFrom) and node.col_offset > 0
            if local and id(node) not in checked and not _explained(text, node.lineno):
                unexplained.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert unexplained == []


def _explained(text: list[str], line: int) -> bool:
    """A comment on the import's line, or above it over the imports of its block."""
    index = line - 1
    if "#" in text[index]:
        return True
    while index > 0:
        index -= 1
        above = text[index].strip()
        if above.startswith("#"):
            return True
        if not (above.startswith(("from ", "import ")) or above.endswith((",", "(")) or above == ")"):
            return False
    return False


def _packages_loaded_by(module: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after `import module`."""
    import subprocess
    import sys

    code = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_lambda_handler_imports_no_http_client_browser_or_retry_library() -> None:
    """Cold start: the handler's import path stays free of what only live channels, Naver and DynamoDB use
    (they are imported when a run needs them; see the function-local imports of naver_sms.wiring)."""
    assert not _packages_loaded_by("naver_sms.handler") & {"httpx", "selenium", "tenacity"}


def test_the_command_line_loads_the_consoles_and_the_pages_libraries_only_for_their_commands() -> None:
    """Every `naver-sms` command starts by importing naver_sms.cli: Flask (with its forms and the editors'
    YAML round-trip) is the console's and pygal the report page's, loaded inside those commands - they were
    about a fifth of the start of every other command, `--help` included (bench/coldstart.py, line (d))."""
    loaded = _packages_loaded_by("naver_sms.cli")
    assert "typer" in loaded  # the command line itself was imported
    assert not loaded & {"flask", "flask_wtf", "wtforms", "werkzeug", "pygal", "waitress", "ruamel"}
