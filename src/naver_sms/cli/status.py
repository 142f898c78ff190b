"""`naver-sms status`: the one screen when something seems wrong (`naver_sms.owner.status`)."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from naver_sms.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    NowOpt,
    clock_of,
    kst_short,
    open_existing_state,
    out,
    seams,
    settings_of,
    state_errors,
    write_json,
)
from naver_sms.cli.history import _config
from naver_sms.config_source import local_version
from naver_sms.owner.status import Status, status


def status_command(
    ctx: typer.Context,
    db: DbOpt = None,
    config: ConfigOpt = None,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The last run, the next run, failures waiting for a retry or a reset, the Naver login, the configuration."""
    world = seams(ctx)
    with state_errors():
        settings = settings_of(db=db, config=config)
        cfg, rules = _config(settings.config_dir)
        state = open_existing_state(settings, world)
        version = local_version(settings.config_dir)
        shown = status(
            state, cfg, rules, clock_of(now, world.clock)(), config_dir=settings.config_dir, version=version
        )
    if as_json:
        write_json(shown.to_json())
        return
    _print(shown)


def _last_run(summary: dict[str, Any]) -> str:
    counts = summary.get("counts", {})
    ok = "[green]ok[/]" if summary.get("ok") else f"[red]failed[/]: {escape(str(summary.get('failed')))}"
    return (
        f"{kst_short(summary.get('started_at'))} ({summary.get('mode')}, decided at {summary.get('now')}) {ok} · "
        f"{counts.get('sms_sent', 0)} SMS sent, {counts.get('sms_failed', 0)} failed, "
        f"{counts.get('errors', 0)} errors"
    )


def _print(s: Status) -> None:
    table = Table(title=f"naver-sms status · {s.now:%Y-%m-%d %H:%M} KST · {s.state}", show_header=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("", overflow="fold")
    table.add_row(
        "last run", _last_run(dict(s.last_run.summary)) if s.last_run else "[yellow]none recorded[/]"
    )
    table.add_row("next run", f"{s.next_run:%Y-%m-%d %H:%M} (every 20 minutes)")
    table.add_row("waiting for a retry", str(len(s.waiting)))
    table.add_row("failed for good", f"[red]{len(s.failed)}[/]" if s.failed else "0")
    login = s.login
    age = f"{login['cookies_age_hours']} h old" if login["cookies_age_hours"] is not None else "age unknown"
    cookies = f"{login['cookies']} cookies cached, {age}" if login["cookies"] else "no cookies cached"
    if login["paused"]:
        cookies += (
            f" · [red]logins paused until {login['paused_until']}[/]: {escape(str(login['pause_reason']))}"
        )
    table.add_row("naver login", cookies)
    cfg = s.config
    changed = " (changed since the last run)" if cfg["changed_since_last_run"] else ""
    valid = "" if cfg["valid"] else " [red]invalid: naver-sms rules check[/]"
    table.add_row("configuration", f"{escape(cfg['location'])} · {cfg['version']}{changed}{valid}")
    if s.daily_report:
        d = s.daily_report
        channels = ", ".join(f"{name} {c['status']}" for name, c in d.get("channels", {}).items())
        table.add_row(
            "daily report", f"at {d['at']} · {d['period']}: {d['status']} ({channels or 'no channel'})"
        )
    out.print(table)
    if s.failed or s.waiting:
        problems = Table(title="sends that need attention")
        for col in ("booking", "phone", "rule", "flag", "attempts", "state", "last error / what to do"):
            problems.add_column(col, overflow="fold")
        for e in [*s.waiting, *s.failed]:
            todo = (
                f"naver-sms db reset {e.booking_num} {e.flag}"
                if e.status == "failed"
                else (e.last_error or "")
            )
            problems.add_row(
                e.booking_num, e.phone, e.rule or "?", e.flag, str(e.attempts or 0), e.status, escape(todo)
            )
        out.print(problems)
    for problem in s.problems:
        out.print(f"[yellow]![/] {escape(problem)}", highlight=False)
