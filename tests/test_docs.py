"""Docs that cannot drift (style.md item 9).

- every condition and action type has a `## <type>` section with a ```yaml example;
- every rule shown in docs/rules/*.md compiles with the engine against the default configuration (plus the
  SMS templates a ```yaml block starting with `# templates.yaml` adds): a rule, or a list of rules, is
  appended to the default rules; a `rules:` mapping is a whole rules.yaml and replaces them. A block starting
  with `# invalid: <text>` must be refused with an error containing <text>;
- the how-tos of adding an action and a condition work as written (their code is run, their rule too);
- every CLI command and option is documented in docs/cli.md, and so is every key of the run report; the rule
  fixture shown there passes `rules test`;
- the digest example of rules-config.md sends ONE Slack message listing exactly the matching bookings, once.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from naver_sms.cli import app
from naver_sms.config.loader import load_config
from naver_sms.config.settings import Settings
from naver_sms.domain.booking import Booking
from naver_sms.domain.clock import FixedClock, parse_kst
from naver_sms.errors import ConfigError
from naver_sms.rules.actions import ACTIONS
from naver_sms.rules.conditions import CONDITIONS, ConditionType
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.facts import Facts
from naver_sms.rules.types import ActionType
from naver_sms.runner import run_once
from naver_sms.wiring import build_runtime, compile_config
from tests.world import naver_booking

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RULE_DOCS = sorted((DOCS / "rules").glob("*.md"))
CLI_DOC = DOCS / "cli.md"

_FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence
    lang: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.lstrip().splitlines()[0].strip() if self.text.strip() else ""

    def __str__(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path, lang: str | None = None, *, section: str | None = None) -> list[Block]:
    """The fenced blocks of `doc` (of one `## section`, if given)."""
    text = doc.read_text(encoding="utf-8")
    if section is not None:
        body = sections(doc)[section]
        offset = text.count("\n", 0, text.index(body))
        text = "\n" * offset + body
    found = [
        Block(doc, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2)) for m in _FENCE.finditer(text)
    ]
    return [b for b in found if lang is None or b.lang == lang]


def sections(doc: Path, level: str = "## ") -> dict[str, str]:
    """`## heading` -> the text up to the next heading of the same level (fences respected)."""
    out: dict[str, str] = {}
    current: str | None = None
    in_fence = False
    for line in doc.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith(level):
            current = line[len(level) :].strip()
            out[current] = ""
        elif current is not None:
            out[current] += line
    return out


def rules_of(data: Any) -> list[dict[str, Any]] | None:
    """The rules a YAML block shows: one rule mapping, a `rules:` list, or a list of rules; else None."""

    def is_rule(x: Any) -> bool:
        return isinstance(x, dict) and {"name", "conditions", "actions"} <= set(x)

    if is_rule(data):
        return [data]
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        return list(data["rules"])
    if isinstance(data, list) and data and all(is_rule(x) for x in data):
        return list(data)
    return None


def is_templates_block(block: Block) -> bool:
    return block.first_line.startswith("# templates.yaml")


def uses_new_type(block: Block) -> bool:
    """A rule of a how-to, using the type the how-to adds: compiled by the how-to's own test."""
    return block.first_line.startswith("# uses:")


def extra_templates(doc: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in blocks(doc, "yaml"):
        if is_templates_block(block):
            data = yaml.safe_load(block.text)
            assert isinstance(data, dict) and isinstance(data.get("sms"), dict), (
                f"{block}: a `# templates.yaml` block must hold `sms:` templates"
            )
            merged.update(data["sms"])
    return merged


def config_with(
    tmp: Path, rules: list[dict[str, Any]], templates: dict[str, Any], *, replace: bool = False
) -> Path:
    """A copy of the default config/ with `templates` added to templates.yaml and `rules` appended to the
    default rules (or, with `replace`, instead of them: a block showing a whole `rules:` file)."""
    target = tmp / "config"
    shutil.copytree(ROOT / "config", target)
    if templates:
        path = target / "templates.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["sms"].update(templates)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    path = target / "rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"] = rules if replace else [*data["rules"], *rules]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def rule_blocks() -> list[Block]:
    found = []
    for doc in RULE_DOCS:
        for block in blocks(doc, "yaml"):
            if is_templates_block(block) or uses_new_type(block):
                continue
            if rules_of(yaml.safe_load(block.text)) is not None:
                found.append(block)
    return found


# --- (a) every condition and action type is documented with an example ------------------------------------


@pytest.mark.parametrize(
    ("doc", "name"),
    [("conditions.md", c.name) for c in CONDITIONS] + [("actions.md", a.name) for a in ACTIONS],
)
def test_every_type_has_a_section_with_a_yaml_example(doc: str, name: str) -> None:
    found = sections(DOCS / "rules" / doc)
    assert name in found, f"docs/rules/{doc} has no `## {name}` section"
    assert "```yaml" in found[name], f"docs/rules/{doc}, `## {name}`: no ```yaml example"


def test_the_docs_show_rules_at_all() -> None:
    # GIVEN the rule docs WHEN their examples are collected THEN there are plenty (guards the parser)
    assert len(rule_blocks()) >= len(CONDITIONS) + len(ACTIONS)


# --- (b) every rule in the docs compiles ----------------------------------------------------------------------


@pytest.mark.parametrize("block", rule_blocks(), ids=str)
def test_rule_example_compiles_against_the_default_config(block: Block, tmp_path: Path) -> None:
    # GIVEN the default configuration plus the templates the same page adds, and the example's rules
    data = yaml.safe_load(block.text)
    rules = rules_of(data)
    assert rules is not None
    whole_file = isinstance(data, dict) and "rules" in data
    config_dir = config_with(tmp_path, rules, extra_templates(block.doc), replace=whole_file)
    invalid = re.match(r"#\s*invalid:\s*(.+)", block.first_line)

    if invalid:
        # WHEN it is compiled THEN it is refused with the error the page promises
        with pytest.raises(ConfigError) as refused:
            compile_config(config_dir)
        assert invalid.group(1).strip() in refused.value.render(), refused.value.render()
        return

    # WHEN it is compiled THEN the engine accepts it, with every rule of the example
    try:
        _, _, compiled = compile_config(config_dir)
    except ConfigError as exc:
        pytest.fail(f"{block}: the example does not compile:\n{exc.render()}")
    names = {r.name for r in compiled}
    assert {r["name"] for r in rules} <= names


# --- the how-tos work as written ---------------------------------------------------------------------------


def run_howto(doc: Path, section: str, module: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Execute the how-to's Python blocks in the namespace of the module they extend; return that namespace
    and the rule of its `# uses:` block."""
    namespace = dict(vars(module))
    code = blocks(doc, "python", section=section)
    assert code, f"{doc.name}, {section}: no Python"
    for block in code:
        exec(compile(block.text, str(block), "exec"), namespace)
    uses = [b for b in blocks(doc, "yaml", section=section) if uses_new_type(b)]
    assert len(uses) == 1, f"{doc.name}, {section}: one ```yaml rule starting with `# uses:` expected"
    rules = rules_of(yaml.safe_load(uses[0].text))
    assert rules is not None and len(rules) == 1
    return namespace, rules[0]


def test_how_to_add_an_action_works_as_written(tmp_path: Path) -> None:
    # GIVEN the how-to's code, run as if added to naver_sms/rules/actions/messages.py
    import naver_sms.rules.actions.messages as actions_module

    namespace, rule = run_howto(DOCS / "rules" / "actions.md", "How to add an action", actions_module)
    added = [a for a in namespace["ACTIONS"] if isinstance(a, ActionType)]
    assert len(added) == 1 and added[0].name not in {a.name for a in ACTIONS}
    engine = RuleEngine()
    for atype in (*ACTIONS, *added):
        engine.register_action(atype)

    # WHEN a configuration using it is compiled and run in the sandbox, with Slack on
    config = load_config(config_with(tmp_path, [rule], {}))
    settings = Settings(
        config_dir=ROOT / "config",
        db=str(tmp_path / "s.sqlite3"),
        bookings_path=ROOT / "examples" / "bookings",
        slack_enabled=True,
    )
    runtime, _ = build_runtime(settings, clock=FixedClock(parse_kst("2026-11-26 18:40")), run_id="howto")
    runtime.config, runtime.engine, runtime.rules = config, engine, engine.compile(config)
    report = run_once(runtime, run_id="howto")

    # THEN every matching booking was posted to both channels, without errors
    matched = report.rules_matched[rule["name"]]
    posted = [n for n in report.notifications if n.rule == rule["name"]]
    assert matched > 0 and not [e for e in report.errors if e.kind != "booking"], report.errors
    assert sorted(n.channel for n in posted) == ["slack"] * matched + ["telegram"] * matched


def test_how_to_add_a_condition_works_as_written(tmp_path: Path) -> None:
    # GIVEN the how-to's code, run as if added to naver_sms/rules/conditions.py
    import naver_sms.rules.conditions as conditions_module

    namespace, rule = run_howto(DOCS / "rules" / "conditions.md", "Adding a condition", conditions_module)
    known = {c.name for c in CONDITIONS}
    added = [c for c in namespace["CONDITIONS"] if isinstance(c, ConditionType) and c.name not in known]
    assert len(added) == 1
    engine = RuleEngine()
    engine.register_condition(added[0])
    for atype in ACTIONS:
        engine.register_action(atype)

    # WHEN its rule is compiled and evaluated on a Saturday and a Monday booking
    config = load_config(config_with(tmp_path, [rule], {}))
    compiled = [r for r in engine.compile(config) if r.name == rule["name"]]
    now = parse_kst("2026-11-26 18:40")
    saturday, monday = (
        Booking.from_naver(naver_booking(start=start, phone=phone))
        for start, phone in (("2026-11-28 14:00", "01000000001"), ("2026-11-30 14:00", "01000000002"))
    )
    assert (saturday.reserve_at.weekday(), monday.reserve_at.weekday()) == (5, 0)
    plan = engine.evaluate(
        compiled, [Facts(b, None, now, config.store(b.store_id), ()) for b in (saturday, monday)]
    )

    # THEN the Saturday matches, and the Monday fails on the new condition with what it saw
    on_saturday, on_monday = (per_booking[0] for per_booking in plan.evaluations)
    assert on_saturday.matched
    assert on_monday.explain()["seen"] == {"weekday": 0}


# --- (c) the CLI reference is complete -------------------------------------------------------------------------


def cli_commands() -> dict[str, list[str]]:
    """'run' -> its options, 'rules check' -> ..., straight from the typer app."""
    root = typer.main.get_command(app)
    out: dict[str, list[str]] = {}

    def walk(cmd: Any, path: str) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, f"{path} {name}".strip())
        else:
            out[path] = [opt for p in cmd.params for opt in p.opts if opt.startswith("--")]

    walk(root, "")
    return out


@pytest.mark.parametrize("command", sorted(cli_commands()))
def test_every_cli_command_and_option_is_documented(command: str) -> None:
    found = sections(CLI_DOC)
    heading = f"`naver-sms {command}`"
    assert heading in found, f"docs/cli.md has no `## {heading}` section"
    body = found[heading]
    missing = [opt for opt in cli_commands()[command] if not re.search(rf"`{re.escape(opt)}[` ]", body)]
    assert not missing, f"docs/cli.md, {heading}: options not documented: {missing}"
    assert "```" in body, f"docs/cli.md, {heading}: no example"


def fixture_blocks() -> list[Block]:
    return [b for b in blocks(CLI_DOC, "yaml") if b.text.lstrip().startswith("tests:")]


@pytest.mark.parametrize("block", fixture_blocks(), ids=str)
def test_rule_fixture_example_passes_against_the_default_rules(block: Block, tmp_path: Path) -> None:
    # GIVEN the fixture file shown in docs/cli.md WHEN `rules test` would run it THEN it passes
    from naver_sms.rule_fixtures import load_fixtures, run_fixture
    from naver_sms.wiring import fixture_runtimes

    path = tmp_path / "fixture.yaml"
    path.write_text(block.text, encoding="utf-8")
    make = fixture_runtimes(ROOT / "config")
    for fixture, line in load_fixtures(path):
        result = run_fixture(fixture, make_runtime=make, file=str(block), line=line)
        assert result.passed, f"{block}: {fixture.name}: {result.problems}"


def test_cli_doc_shows_a_rule_fixture() -> None:
    assert fixture_blocks(), "docs/cli.md, `naver-sms rules test`: no fixture example"


def test_every_key_of_the_run_report_is_documented(tmp_path: Path) -> None:
    # GIVEN the report of a real sandbox run over the example bookings
    settings = Settings(
        config_dir=ROOT / "config",
        db=str(tmp_path / "s.sqlite3"),
        bookings_path=ROOT / "examples" / "bookings",
    )
    runtime, _ = build_runtime(settings, clock=FixedClock(parse_kst("2026-11-26 18:40")), run_id="docs")
    report = run_once(runtime, run_id="docs").to_json()
    documented = sections(CLI_DOC).get("The run report", "")
    assert documented, "docs/cli.md has no `## The run report` section"

    keys: set[str] = set(report) | set(report["counts"])
    for list_key in ("actions", "sms", "flags", "notifications", "errors"):
        assert report[list_key], f"the example run has no {list_key} to check"
        keys |= set(report[list_key][0])
    missing = sorted(k for k in keys if f"`{k}`" not in documented)
    assert not missing, f"docs/cli.md, The run report: keys not documented: {missing}"


# --- (d) the digest example does what it says --------------------------------------------------------------------


def digest_example() -> dict[str, Any]:
    doc = DOCS / "rules" / "rules-config.md"
    found = []
    for block in blocks(doc, "yaml"):
        rules = rules_of(yaml.safe_load(block.text)) if not is_templates_block(block) else None
        found += [r for r in rules or [] if r.get("mode") == "digest"]
    assert len(found) == 1, "rules-config.md should show exactly one digest rule (the owner's 4th example)"
    return found[0]


def _params(rule: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(c["params"] for c in rule["conditions"] if isinstance(c, dict) and c.get("type") == ctype)


def test_digest_example_lists_the_matching_bookings_once_in_one_slack_message(tmp_path: Path) -> None:
    # GIVEN the digest example on top of the default rules, Slack on, and bookings around its parameters
    rule = digest_example()
    window = _params(rule, "date_range")
    options = _params(rule, "has_multiple_options")
    start, end = window["start"], window["end"]
    assert isinstance(start, date) and isinstance(end, date)
    keyword, twice = options["keywords"][0], options.get("min_count", 2)
    inside = f"{start.isoformat()}T10:00:00+09:00"
    outside = f"{date.fromordinal(start.toordinal() - 1).isoformat()}T10:00:00+09:00"

    def made(n: int, *, reg: str = inside, count: int = twice, store: int = 1000001, status: str = "RC03"):
        return naver_booking(
            booking_id=910000000 + n,
            store_id=store,
            status=status,
            start="2026-11-28 14:00",
            name=f"고객{n:02d}",
            phone=f"010555{n:05d}",
            options=(("50분 촬영", 1), (f"{keyword} 파일", count)),
            regDateTime=reg,
        )

    listed = {1: made(1), 2: made(2, store=1000003), 3: made(3, count=twice + 1)}
    # two options each containing the keyword count together
    split = made(4, count=1)
    split["snapshotJson"]["bookingOptionJson"].append({"name": f"{keyword} 추가", "bookingCount": twice - 1})
    split["bookingOptionJson"] = split["snapshotJson"]["bookingOptionJson"]
    listed[4] = split
    not_listed = {5: made(5, count=twice - 1), 6: made(6, reg=outside)}
    bookings_file = tmp_path / "bookings.json"
    bookings_file.write_text(json.dumps([*listed.values(), *not_listed.values()], ensure_ascii=False))
    config_dir = config_with(tmp_path, [rule], extra_templates(DOCS / "rules" / "rules-config.md"))
    settings = Settings(
        config_dir=config_dir,
        db=str(tmp_path / "state.sqlite3"),
        bookings_path=bookings_file,
        slack_enabled=True,
    )

    def run(run_id: str) -> list[str]:
        runtime, _ = build_runtime(settings, clock=FixedClock(parse_kst("2026-11-26 18:40")), run_id=run_id)
        report = run_once(runtime, run_id=run_id)
        assert report.ok and not [e for e in report.errors if e.rule == rule["name"]], report.errors
        return [n.text for n in report.notifications if n.channel == "slack"]

    def ids_in(text: str) -> set[int]:
        return {n for n in range(1, 10) if f"고객{n:02d}" in text}

    # WHEN the job runs THEN one Slack message lists exactly the matching bookings
    first = run("digest-1")
    assert len(first) == 1, first
    assert ids_in(first[0]) == set(listed), first[0]

    # WHEN it runs again THEN nobody is listed again (and with nobody new, nothing is posted)
    assert run("digest-2") == []

    # WHEN a new matching booking arrives THEN the next message lists only that one
    bookings_file.write_text(
        json.dumps([*listed.values(), *not_listed.values(), made(7)], ensure_ascii=False)
    )
    third = run("digest-3")
    assert len(third) == 1 and ids_in(third[0]) == {7}, third


# --- (e) the repository explains itself; what the docs show, a real run accepts (issue 11, item 12) ---------

#: pages written for the project's engineers, not part of the repository: the docs never send a user there
SPEC_PAGES = ("legacy-behaviour.md", "external-apis.md", "shared/spec")
USER_FACING = [
    *sorted(DOCS.rglob("*.md")),
    ROOT / "README.md",
    ROOT / "VALIDATION.md",
    *sorted((ROOT / "config").rglob("*.yaml")),
    *sorted((ROOT / "examples").glob("*.py")),
]


@pytest.mark.parametrize("path", USER_FACING, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_doc_refers_to_a_page_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [page for page in SPEC_PAGES if page in text]
    assert not found, f"{path.relative_to(ROOT)} refers to {found}: say it in docs/ instead"


@pytest.mark.parametrize(
    "block", [b for b in rule_blocks() if not re.match(r"#\s*invalid:", b.first_line)], ids=str
)
def test_a_documented_rule_runs_without_being_refused(block: Block, tmp_path: Path) -> None:
    # GIVEN a rule the docs show (not one shown as invalid), on top of the defaults, Slack and Telegram on
    data = yaml.safe_load(block.text)
    rules = rules_of(data)
    assert rules is not None
    whole_file = isinstance(data, dict) and "rules" in data
    config_dir = config_with(tmp_path, rules, extra_templates(block.doc), replace=whole_file)
    settings = Settings(
        config_dir=config_dir,
        db=str(tmp_path / "s.sqlite3"),
        bookings_path=ROOT / "examples" / "bookings",
        slack_enabled=True,
    )
    names = {r["name"] for r in rules}
    # WHEN the example bookings run through it at the documented clocks (18:40, and 20:10 for the events)
    for now in ("2026-11-26 18:40", "2026-11-26 20:10"):
        runtime, _ = build_runtime(settings, clock=FixedClock(parse_kst(now)), run_id=f"doc-{now[-5:]}")
        report = run_once(runtime, run_id=f"doc-{now[-5:]}")
        # THEN nothing the rule does is refused: no action error, no SMS over its limit
        refused = [e for e in report.errors if e.rule in names]
        assert report.ok and refused == [], f"{block}: {refused}"


def bookings_example() -> list[dict[str, Any]]:
    (block,) = blocks(DOCS / "bookings-file.md", "json")
    data = json.loads(block.text)
    assert isinstance(data, list)
    return data


def test_the_bookings_file_example_is_read_and_gets_its_sms(tmp_path: Path) -> None:
    # GIVEN the example of docs/bookings-file.md, as a file
    path = tmp_path / "bookings.json"
    path.write_text(json.dumps(bookings_example(), ensure_ascii=False), encoding="utf-8")
    settings = Settings(config_dir=ROOT / "config", db=str(tmp_path / "s.sqlite3"), bookings_path=path)
    # WHEN a sandbox run reads it at 18:40, 80 minutes before its start
    runtime, _ = build_runtime(settings, clock=FixedClock(parse_kst("2026-11-26 18:40")), run_id="file")
    report = run_once(runtime, run_id="file")
    # THEN it is read without an error and gets what the page says: its confirmation (and its guide)
    assert report.ok and report.errors == [] and report.bookings_fetched == 1
    assert [s.template for s in report.sms] == ["confirmation", "guide_busan"]


def _without(raw: dict[str, Any], path: str) -> dict[str, Any]:
    import copy

    changed = copy.deepcopy(raw)
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node[part]
    del node[last]
    return changed


def test_the_bookings_file_says_which_fields_are_required(tmp_path: Path) -> None:
    # GIVEN the field table of docs/bookings-file.md and its example
    (raw,) = bookings_example()
    rows = re.findall(
        r"^\| `([\w.]+)` \| (\*\*yes\*\*|no) \|", (DOCS / "bookings-file.md").read_text("utf-8"), re.M
    )
    required = {field for field, req in rows if req == "**yes**"}
    optional = {field for field, req in rows if req == "no"}
    assert required == {"bookingId", "businessId", "bookingStatusCode", "phone", "snapshotJson.startDateTime"}
    # WHEN each is left out THEN a required one makes the booking malformed, an optional one does not
    from naver_sms.domain.booking import BookingError

    for field in required:
        with pytest.raises(BookingError):
            Booking.from_naver(_without(raw, field))
    for field in optional:
        Booking.from_naver(_without(raw, field))


def test_every_rule_fixture_field_is_documented() -> None:
    from pydantic import BaseModel

    import naver_sms.rule_fixture_format as format_module

    documented = sections(CLI_DOC)["`naver-sms rules test`"]
    models = [v for v in vars(format_module).values() if isinstance(v, type) and issubclass(v, BaseModel)]
    fields = {f.alias or name for m in models for name, f in m.model_fields.items()}
    missing = sorted(f for f in fields if f"`{f}`" not in documented)
    assert not missing, f"docs/cli.md, `naver-sms rules test`: fixture fields not documented: {missing}"


def test_every_template_variable_is_documented() -> None:
    from naver_sms.rules.actions.common import DIGEST_VARS, EACH_VARS

    table = sections(DOCS / "rules" / "actions.md")["Templates"]
    missing = [v for v in {*EACH_VARS, *DIGEST_VARS} if f"| `{v}` |" not in table]
    assert not missing, f"docs/rules/actions.md, Templates: variables not in the table: {missing}"


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every `naver-sms ...` command line of a ```text block of the docs, as its arguments."""
    import shlex

    found = []
    for doc in [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]:
        for block in blocks(doc, "text") + blocks(doc, "sh"):
            text = block.text.replace("\\\n", " ")
            for line in text.splitlines():
                words = (
                    shlex.split(line.strip().removeprefix("$ "), comments=True) if "naver-sms" in line else []
                )
                words = words[: words.index("|")] if "|" in words else words
                while words and "=" in words[0] and not words[0].startswith("-"):
                    words = words[1:]  # NAVER_SMS_X=... before the command
                if words and words[0] in ("naver-sms", ".venv/bin/naver-sms") and len(words) > 1:
                    found.append((f"{block}", words[1:]))
    return found


@pytest.mark.parametrize(
    ("where", "args"), documented_commands(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_a_documented_command_line_is_one_the_command_accepts(where: str, args: list[str]) -> None:
    # GIVEN a command line the docs show  WHEN the command parses it  THEN it is valid usage - every option
    # exists, and a `--now` is one a run takes (never a date alone, which it refuses)
    import click

    command = typer.main.get_command(app)
    words = list(args)
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    try:
        command.make_context(command.name or "naver-sms", words, resilient_parsing=False)
    except click.exceptions.Exit:
        pass
    except click.UsageError as exc:
        pytest.fail(f"{where}: naver-sms {' '.join(args)}: {exc.format_message()}")
    if "--now" in args:
        parse_kst(args[args.index("--now") + 1])


def test_the_status_example_is_what_status_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the commands of docs/cli.md's `naver-sms status` example, run with the real clock at their --now
    from typer.testing import CliRunner

    from naver_sms.cli.common import Seams

    section = CLI_DOC.read_text(encoding="utf-8").split("## `naver-sms status`", 1)[1].split("\n## ", 1)[0]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    commands = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    shown = [line for line in block.splitlines() if line and not line.startswith("$ ")]
    assert [c.split()[1] for c in commands] == ["run", "status"] and shown
    # (in a directory of its own holding the example's relative paths: examples/, config/, var/)
    for name in ("examples", "config"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "var").mkdir()
    monkeypatch.chdir(tmp_path)
    printed = ""
    for command in commands:
        args = shlex.split(command)[1:]
        now = parse_kst(args[args.index("--now") + 1])
        result = CliRunner().invoke(app, args, obj=Seams(clock=FixedClock(now)), env={"COLUMNS": "110"})
        assert result.exit_code == 0, result.output
        printed = result.stdout
    # THEN status prints what the docs show (the configuration's digest aside: it changes with the config)

    def normal(lines: list[str]) -> list[str]:
        text = [re.sub(r"sha256:[0-9a-f]+", "sha256:…", " ".join(line.split())) for line in lines]
        return [line for line in text if line]

    assert normal(printed.splitlines()) == normal(shown)
