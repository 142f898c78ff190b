"""`naver-sms rules check` (validate the configuration) and `naver-sms rules test` (the operator's rule
fixtures, `naver_sms.rule_fixtures`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from naver_sms.cli.common import ConfigOpt, JsonOpt, err, fail_config, out, settings_of, write_json
from naver_sms.config.loader import load_config
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.rule_fixtures import load_fixtures, run_fixture
from naver_sms.rules.plan import describe_rules
from naver_sms.wiring import compile_config, fixture_runtimes

app = typer.Typer(no_args_is_help=True, help="Validate and inspect the rules.")


@app.command("check")
def check(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Validate every configuration file; exit 2 with file:line errors when something is wrong."""
    config_dir = config or settings_of(state=False).config_dir
    try:
        cfg, _, rules = compile_config(config_dir)
    except ConfigError as exc:
        if not as_json:
            fail_config(exc)
        errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
        found = [
            {
                "file": e.file,
                "line": e.line,
                "column": e.column,
                "rule": e.rule,
                "field": e.field,
                "message": e.message,
                "suggestion": e.suggestion,
            }
            for e in errors
        ]
        write_json({"ok": False, "errors": found})
        raise typer.Exit(2) from None
    if as_json:
        write_json({"ok": True, "rules": describe_rules(rules), "warnings": list(cfg.warnings)})
        return
    for warning in cfg.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    out.print(
        f"[green]ok[/] {len(cfg.stores)} stores, {len(cfg.sms_templates)} SMS templates, "
        f"{len(rules)} rules ({sum(r.enabled for r in rules)} enabled) in {config_dir}"
    )


@app.command("test")
def test(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Fixture files (default: <config>/tests/*.yaml).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run the operator's rule fixtures (bookings + rows + clock -> expected SMS); exit 1 if one fails."""
    config_dir = config or settings_of(state=False).config_dir
    paths = files or sorted((config_dir / "tests").glob("*.yaml"))
    if not paths:
        err.print(f"no fixtures: give files or put them in {config_dir / 'tests'}")
        raise typer.Exit(2)
    try:
        make = fixture_runtimes(config_dir)
        app_config = load_config(config_dir)  # valid: fixture_runtimes compiled it
        loaded = [
            (path, fixture, line) for path in paths for fixture, line in load_fixtures(path, app_config)
        ]
    except ConfigError as exc:
        fail_config(exc)
    failed = 0
    for path, fixture, line in loaded:
        result = run_fixture(fixture, make_runtime=make, file=str(path), line=line)
        if result.passed:
            out.print(f"[green]pass[/] {path}:{line} {fixture.name}", highlight=False)
        else:
            failed += 1
            out.print(f"[red]FAIL[/] {path}:{line} {fixture.name}", highlight=False)
            for problem in result.problems:
                out.print(f"     {problem}", highlight=False, markup=False)
    out.print(f"{len(loaded) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)
