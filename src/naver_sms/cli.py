"""The `naver-sms` command: a thin layer over the runner (same core as the Lambda handler).

Exit codes: 0 done; 1 the run itself failed (see the report's `failed`); 2 invalid configuration or usage.
With `--json`, stdout carries exactly one JSON object and nothing else; people get tables on stderr/stdout.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from naver_sms.config.settings import Settings
from naver_sms.domain.booking import mask_phone
from naver_sms.domain.clock import KST, FixedClock, SystemClock, parse_kst
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.rules.report import RunReport

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0] if __doc__ else "")
rules_app = typer.Typer(no_args_is_help=True, help="Validate and inspect the rules.")
db_app = typer.Typer(no_args_is_help=True, help="State backend tools.")
app.add_typer(rules_app, name="rules")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)

BookingsOpt = Annotated[
    Path | None, typer.Option("--bookings", help="Naver-format JSON file or directory (sandbox source).")
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="SQLite path, or dynamodb://REGION?endpoint=URL&sms_table=..&session_table=.."),
]
NowOpt = Annotated[
    str | None, typer.Option("--now", help='Clock in Korean time, "YYYY-MM-DD HH:MM" (default: now).')
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Configuration directory (default: config/).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]


def _settings(
    *,
    config: Path | None = None,
    db: str | None = None,
    bookings: Path | None = None,
    live: bool | None = None,
) -> Settings:
    from naver_sms.config.secrets import load_settings

    return load_settings(config_dir=config, db=db, bookings_path=bookings, live=live or None)


def _clock(now: str | None) -> Any:
    if now is None:
        return SystemClock()
    try:
        return FixedClock(parse_kst(now))
    except ValueError:
        raise typer.BadParameter(
            f'expected "YYYY-MM-DD HH:MM" in Korean time, got {now!r}', param_hint="--now"
        ) from None


def _fail_config(exc: ConfigError) -> None:
    err.print(f"[bold red]configuration error[/]\n{exc.render()}", highlight=False)
    raise typer.Exit(2)


def _runtime(
    settings: Settings, now: str | None, *, quiet: bool, dry_run: bool = False, state: Any = None
) -> Any:
    from naver_sms.runner import new_run_id
    from naver_sms.wiring import build_runtime

    run_id = new_run_id()

    def progress(stage: str, detail: str) -> None:
        if not quiet:
            err.print(f"[dim]{stage:>6}[/] {detail}", highlight=False)

    runtime, state = build_runtime(
        settings, clock=_clock(now), run_id=run_id, progress=progress, dry_run=dry_run, state=state
    )
    return runtime, state, run_id


@app.command()
def run(
    bookings: BookingsOpt = None,
    db: DbOpt = None,
    now: NowOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide, but send and write nothing.")] = False,
    live: Annotated[bool, typer.Option("--live", help="Send for real (SENS, Telegram, Slack).")] = False,
) -> None:
    """One run: fetch bookings, decide with the rules, act, report."""
    try:
        settings = _settings(config=config, db=db, bookings=bookings, live=live)
        runtime, state, run_id = _runtime(settings, now, quiet=as_json, dry_run=dry_run)
    except ConfigError as exc:
        _fail_config(exc)
        return
    except NaverSmsError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if not as_json:
        err.print(
            f"[bold]naver-sms[/] {runtime.mode}{' (dry run)' if dry_run else ''} · state: {state.description}"
            f" · source: {runtime.source.description} · now {runtime.clock():%Y-%m-%d %H:%M} KST",
            highlight=False,
        )
    from naver_sms.runner import run_once

    try:
        report = run_once(runtime, dry_run=dry_run, run_id=run_id)
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: RunReport) -> None:
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if report.sms:
        table = Table(title=f"SMS ({'planned' if report.dry_run else report.mode})", show_lines=False)
        for col in ("rule", "to", "from", "template", "type", "status"):
            table.add_column(col)
        for s in report.sms:
            style = {"failed": "red", "unknown": "red", "planned": "cyan"}.get(s.status, "green")
            table.add_row(
                s.rule, mask_phone(s.phone), s.sender, s.template, s.type, f"[{style}]{s.status}[/]"
            )
        out.print(table)
    if report.mode == "sandbox" and not report.dry_run:
        for s in report.sms:
            if s.status == "outbox":
                out.rule(
                    f"[dim]outbox · SMS to {mask_phone(s.phone)} from {s.sender} · {s.type} · {s.subject}[/]"
                )
                out.print(s.content, highlight=False, markup=False)
        for note in report.notifications:
            if note.status == "outbox":
                out.rule(f"[dim]outbox · {note.channel} · {note.rule}[/]")
                out.print(note.text, highlight=False, markup=False)
    counts = report.counts()
    summary = Table(title="run summary", show_header=False)
    summary.add_column("", style="bold")
    summary.add_column("")
    summary.add_row("run id", report.run_id)
    summary.add_row("bookings", f"{counts['bookings']} ({counts['bookings_skipped']} skipped as malformed)")
    for name, n in sorted(report.rules_matched.items()):
        summary.add_row(f"rule {name}", f"{n} matched")
    summary.add_row(
        "sms",
        f"{counts['sms_sent']} {'sent' if report.mode == 'live' else 'to the outbox'}, {counts['sms_failed']} failed, "
        f"{counts['sms_reconciled']} reconciled, {counts['sms_planned']} planned",
    )
    summary.add_row("flags changed", str(counts["flags_changed"]))
    summary.add_row("errors", str(counts["errors"]))
    summary.add_row("duration", f"{report.duration_seconds:.3f} s")
    out.print(summary)
    for e in report.errors:
        if e.kind == "booking":
            err.print(f"[red]skipped[/] {e.message}", highlight=False)
            continue
        where = " ".join(
            x for x in (e.rule, e.action, e.booking_num, e.store_id and f"store {e.store_id}") if x
        )
        err.print(f"[red]{e.kind}[/] {where}: {e.message}", highlight=False)
    if report.failed:
        err.print(f"[bold red]run failed:[/] {report.failed}", highlight=False)


@app.command()
def plan(
    bookings: BookingsOpt = None,
    db: DbOpt = None,
    now: NowOpt = None,
    config: ConfigOpt = None,
    booking: Annotated[
        str | None, typer.Option("--booking", help="Only this booking (booking_num or bookingId).")
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show why each rule did not match.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """What would be sent now and why (or why not), with the rendered texts. Changes nothing."""
    from naver_sms.rules.engine import Evaluation
    from naver_sms.runner import decide

    try:
        settings = _settings(config=config, db=db, bookings=bookings)
        runtime, _, run_id = _runtime(settings, now, quiet=True, dry_run=True)
    except ConfigError as exc:
        _fail_config(exc)
        return
    except NaverSmsError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    clock_now = runtime.clock().astimezone(KST)
    report = RunReport(
        run_id=run_id,
        now=clock_now,
        started_at=datetime.now(KST),
        mode=runtime.mode,
        source=runtime.source.description,
        dry_run=True,
    )
    try:
        the_plan = decide(runtime, report, only_booking=booking)
    except NaverSmsError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    if booking is not None and not the_plan.facts:
        err.print(f"no booking {booking!r} in {runtime.source.description}")
        raise typer.Exit(2)
    from naver_sms.rules.context import RunOptions
    from naver_sms.runner import context_factory

    make_context = context_factory(runtime, clock_now, RunOptions(run_id=run_id, dry_run=True), the_plan)
    runtime.engine.preview(the_plan, make_context, report)
    evaluations: list[list[Evaluation]] = the_plan.evaluations
    if as_json:
        payload = {
            "now": clock_now.strftime("%Y-%m-%d %H:%M"),
            "bookings": [
                {
                    "booking_num": ev[0].facts.booking.booking_num,
                    "status": ev[0].facts.booking.status,
                    "reserve_at": ev[0].facts.booking.reserve_at.strftime("%Y-%m-%d %H:%M"),
                    "in_db": ev[0].facts.record is not None,
                    "rules": [
                        e.explain() if explain or e.matched else {"rule": e.rule.name, "matched": False}
                        for e in ev
                    ],
                }
                for ev in evaluations
                if ev
            ],
            "sms": [s.to_json() for s in report.sms],
            "flags": [f.to_json() for f in report.flags],
            "notifications": [n.to_json() for n in report.notifications],
            "errors": [e.to_json() for e in report.errors],
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"plan at {clock_now:%Y-%m-%d %H:%M} KST · {runtime.source.description}")
    for col in ("booking", "status", "starts", "in db", "rule", "decision"):
        table.add_column(col)
    for ev in evaluations:
        for e in ev:
            b = e.facts.booking
            if e.matched:
                decision = "[green]matched[/]"
            elif explain:
                why = e.explain()
                decision = (
                    f"[dim]{why['failed']}: {json.dumps(why['condition'], ensure_ascii=False)} "
                    f"saw {json.dumps(why['seen'], ensure_ascii=False)}[/]"
                )
            else:
                decision = "[dim]no[/]"
            if e.matched or explain:
                table.add_row(
                    b.booking_num,
                    b.status,
                    f"{b.reserve_at:%m-%d %H:%M}",
                    "yes" if e.facts.record else "no",
                    e.rule.name,
                    decision,
                )
    out.print(table)
    for s in report.sms:
        out.rule(f"SMS · {s.rule} · to {mask_phone(s.phone)} from {s.sender} · {s.template} · {s.type}")
        out.print(s.content, highlight=False, markup=False)
    for n in report.notifications:
        out.rule(f"{n.channel} · {n.rule}")
        out.print(n.text, highlight=False, markup=False)
    if not report.sms and not report.notifications:
        out.print("nothing would be sent now")
    for problem in report.errors:
        err.print(f"[red]{problem.kind}[/] {problem.booking_num or ''}: {problem.message}", highlight=False)


@rules_app.command("check")
def rules_check(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Validate every configuration file; exit 2 with file:line errors when something is wrong."""
    from naver_sms.errors import ConfigErrors
    from naver_sms.rules.engine import describe_rules
    from naver_sms.wiring import compile_config

    config_dir = config or _settings().config_dir
    try:
        cfg, _, rules = compile_config(config_dir)
    except ConfigError as exc:
        errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
        if as_json:
            sys.stdout.write(
                json.dumps(
                    {
                        "ok": False,
                        "errors": [
                            {
                                "file": e.file,
                                "line": e.line,
                                "rule": e.rule,
                                "field": e.field,
                                "message": e.message,
                                "suggestion": e.suggestion,
                            }
                            for e in errors
                        ],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            raise typer.Exit(2) from None
        _fail_config(exc)
        return
    if as_json:
        sys.stdout.write(
            json.dumps(
                {"ok": True, "rules": describe_rules(rules), "warnings": list(cfg.warnings)},
                ensure_ascii=False,
            )
            + "\n"
        )
        return
    for warning in cfg.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    out.print(
        f"[green]ok[/] {len(cfg.stores)} stores, {len(cfg.sms_templates)} SMS templates, "
        f"{len(rules)} rules ({sum(r.enabled for r in rules)} enabled) in {config_dir}"
    )


@rules_app.command("test")
def rules_test(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Fixture files (default: <config>/tests/*.yaml).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run the operator's rule fixtures (bookings + rows + clock -> expected SMS); exit 1 if one fails."""
    from naver_sms.rule_fixtures import load_fixtures, run_fixture
    from naver_sms.wiring import fixture_runtimes

    config_dir = config or _settings().config_dir
    paths = files or sorted((config_dir / "tests").glob("*.yaml"))
    if not paths:
        err.print(f"no fixtures: give files or put them in {config_dir / 'tests'}")
        raise typer.Exit(2)
    try:
        make = fixture_runtimes(config_dir)
        loaded = [(path, fixture, line) for path in paths for fixture, line in load_fixtures(path)]
    except ConfigError as exc:
        _fail_config(exc)
        return
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


@app.command()
def history(
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Most recent entries to show.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """What was sent (or written to the outbox), what failed and is waiting for a retry."""
    from naver_sms.wiring import open_state

    settings = _settings(db=db)
    state = open_state(settings)
    outbox = state.outbox.entries(limit=limit)
    sent: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for record in state.repo.records():
        item = record.to_item()
        for flag in sorted({k[: -len("_sent_at")] for k in item if k.endswith("_sent_at")}):
            sent.append(
                {
                    "booking_num": record.booking_num,
                    "phone": mask_phone(record.phone),
                    "flag": flag,
                    "sent_at": item.get(f"{flag}_sent_at"),
                    "request_id": item.get(f"{flag}_request_id"),
                }
            )
        for key in item:
            if key.endswith("_attempts") and not item.get(key[: -len("_attempts")]):
                flag = key[: -len("_attempts")]
                entry = {
                    "booking_num": record.booking_num,
                    "phone": mask_phone(record.phone),
                    "flag": flag,
                    "attempts": item[key],
                    "last_error": item.get(f"{flag}_last_error"),
                }
                (failed if item.get(f"{flag}_failed") else pending).append(entry)
    sent.sort(key=lambda e: str(e["sent_at"]), reverse=True)
    if as_json:
        sys.stdout.write(
            json.dumps(
                {"outbox": outbox, "sent": sent[:limit], "retrying": pending, "failed": failed},
                ensure_ascii=False,
            )
            + "\n"
        )
        return
    table = Table(title=f"sent ({state.description})")
    for col in ("sent at", "booking", "phone", "flag", "request id"):
        table.add_column(col)
    for e in sent[:limit]:
        table.add_row(
            str(e["sent_at"])[:19], e["booking_num"], e["phone"], e["flag"], str(e["request_id"] or "")
        )
    out.print(table)
    if pending or failed:
        problems = Table(title="failed sends")
        for col in ("booking", "phone", "flag", "attempts", "state", "last error"):
            problems.add_column(col)
        for e in pending:
            problems.add_row(
                e["booking_num"], e["phone"], e["flag"], str(e["attempts"]), "retrying", str(e["last_error"])
            )
        for e in failed:
            problems.add_row(
                e["booking_num"],
                e["phone"],
                e["flag"],
                str(e["attempts"]),
                "[red]failed for good[/]",
                str(e["last_error"]),
            )
        out.print(problems)
    if outbox:
        box = Table(title="outbox (sandbox)")
        for col in ("at", "channel", "to", "text"):
            box.add_column(col)
        for row in outbox:
            payload = row["payload"]
            to = ",".join(mask_phone(m["to"]) for m in payload.get("messages", []))
            text = str(payload.get("content") or payload.get("text") or "")
            box.add_row(row["created_at"][:19], row["channel"], to, text.splitlines()[0][:60] if text else "")
        out.print(box)


@db_app.command("init")
def db_init(
    endpoint: Annotated[str, typer.Option("--endpoint", help="A DynamoDB-compatible endpoint URL.")],
    region: Annotated[str, typer.Option("--region")] = "ap-northeast-2",
    sms_table: Annotated[str, typer.Option("--sms-table")] = "sms",
    session_table: Annotated[str, typer.Option("--session-table")] = "session",
) -> None:
    """Create the `sms` and `session` tables (production key schema) on a DynamoDB-compatible endpoint."""
    from naver_sms.database.dynamodb_client import DynamoTarget, create_tables

    target = DynamoTarget(region=region, endpoint=endpoint, sms_table=sms_table, session_table=session_table)
    try:
        created = create_tables(target)
    except NaverSmsError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    out.print(
        f"tables ready at {endpoint}: {', '.join(created) or 'already there'}"
        f" (use --db 'dynamodb://{region}?endpoint={endpoint}')"
    )


@db_app.command("reset")
def db_reset(
    booking_num: Annotated[str, typer.Argument(help="The booking's key, e.g. 1000001_900000001.")],
    flag: Annotated[str, typer.Argument(help="The flag that failed for good, e.g. confirm_sms.")],
    db: DbOpt = None,
) -> None:
    """Open a flag that failed for good again, so the next run retries it (the operator's explicit reset)."""
    from naver_sms.wiring import open_state

    state = open_state(_settings(db=db))
    rows = [r for r in state.repo.records() if r.booking_num == booking_num]
    if not rows:
        err.print(f"no record {booking_num!r} in {state.description}")
        raise typer.Exit(2)
    changed = [r for r in rows if state.repo.reset(r.key, flag)]
    if not changed:
        err.print(f"{booking_num} {flag} has not failed for good: nothing to reset")
        raise typer.Exit(1)
    out.print(f"{booking_num} {flag}: open again; the next run retries it")


@app.command()
def login(
    db: DbOpt = None,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", help="Open a visible browser and wait for a person (captcha, 2FA)."),
    ] = False,
) -> None:
    """Log in to Naver with the browser now and cache the session cookies for the runs."""
    from naver_sms.errors import LoginError
    from naver_sms.naver.live import log_in_now
    from naver_sms.wiring import open_state

    settings = _settings(db=db)
    if settings.naver_id is None or settings.naver_password is None:
        err.print(
            "Naver credentials are missing: set NAVER_SMS_NAVER_ID and NAVER_SMS_NAVER_PASSWORD "
            "(or a secret in NAVER_SMS_SECRET_NAMES)"
        )
        raise typer.Exit(2)
    state = open_state(settings)
    try:
        count = log_in_now(settings, state.sessions, interactive=interactive)
    except LoginError as exc:
        err.print(f"[bold red]login failed:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"logged in: {count} cookies cached in {state.description}")


@app.command()
def serve(
    bookings: BookingsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    live: Annotated[bool, typer.Option("--live", help="Send for real (SENS, Telegram, Slack).")] = False,
    every: Annotated[int, typer.Option("--every", help="Minutes between runs, aligned to the hour.")] = 20,
) -> None:
    """Run every 20 minutes (at :00, :20, :40 Korean time) on one machine, until interrupted."""
    from naver_sms.runner import run_once

    try:
        settings = _settings(config=config, db=db, bookings=bookings, live=live)
    except ConfigError as exc:
        _fail_config(exc)
        return
    state = None  # opened once, reused by every run of this process
    while True:
        try:
            runtime, state, run_id = _runtime(settings, None, quiet=False, state=state)
            try:
                report = run_once(runtime, run_id=run_id)
            finally:
                runtime.close()
            _print_report(report)
        except ConfigError as exc:  # an edited file: say so, keep serving, pick up the fix next time
            err.print(f"[bold red]configuration error[/] {exc.render()}", highlight=False)
        except NaverSmsError as exc:  # e.g. the state store unavailable: this run fails, the next one tries
            err.print(f"[bold red]run failed:[/] {exc}", highlight=False)
        now = datetime.now(KST)
        wait = every - now.minute % every
        next_at = (now + timedelta(minutes=wait)).replace(second=0, microsecond=0)
        err.print(f"[dim]next run at {next_at:%H:%M}[/]")
        time.sleep(max(1.0, (next_at - datetime.now(KST)).total_seconds()))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    app()


if __name__ == "__main__":
    main()
