"""The `naver-sms` command: a thin layer over the runner (same core as the Lambda handler).

Exit codes: 0 done; 1 the run itself failed (see the report's `failed`); 2 invalid configuration or usage.
With `--json`, stdout carries exactly one JSON object and nothing else; people get tables on stderr/stdout.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from naver_sms.config.settings import Settings, check_db_target
from naver_sms.domain.booking import mask_phone
from naver_sms.domain.clock import KST, FixedClock, SystemClock, parse_kst
from naver_sms.errors import ConfigError, NaverSmsError, did_you_mean
from naver_sms.logs import mask_text
from naver_sms.rules.report import RunError, RunReport
from naver_sms.safe_output import SafeConsole, write_json

if TYPE_CHECKING:
    from naver_sms.wiring import State

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0] if __doc__ else "")
rules_app = typer.Typer(no_args_is_help=True, help="Validate and inspect the rules.")
db_app = typer.Typer(no_args_is_help=True, help="State backend tools.")
app.add_typer(rules_app, name="rules")
app.add_typer(db_app, name="db")

# a report is never lost to text its stream cannot encode (issue 9 item 4): see safe_output
out = SafeConsole()
err = SafeConsole(stderr=True)

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
    state: bool = True,
) -> Settings:
    """The settings of a command; with `state`, the `--db` value (or NAVER_SMS_DB) is checked first."""
    from naver_sms.config.secrets import load_settings

    settings = load_settings(config_dir=config, db=db, bookings_path=bookings, live=live or None)
    if state:
        check_db_target(settings.db, where="--db" if db is not None else "NAVER_SMS_DB")
    return settings


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
    # soft_wrap: one error per line however narrow the console (CI logs are grepped for file:line)
    err.print(f"[bold red]configuration error[/]\n{escape(exc.render())}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _error(message: str, *, code: int) -> typer.Exit:
    """Print a one-line error (never wrapped) and return the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def _state_errors() -> Iterator[None]:
    """For the commands that open the state: a failure is one line and an exit code, never a traceback.
    Invalid settings exit 2; the state store failing (RepositoryError, botocore) exits 1."""
    try:
        yield
    except ConfigError as exc:
        _fail_config(exc)
    except NaverSmsError as exc:
        raise _error(str(exc), code=1) from None
    except Exception as exc:
        if not type(exc).__module__.startswith("botocore"):
            raise
        raise _error(f"state store: {type(exc).__name__}: {exc}", code=1) from None


def _open_existing_state(settings: Settings) -> State:
    """The state of a command that only reads or repairs it: a SQLite file that is not there is refused
    (a misspelt path would otherwise be created empty and show nothing)."""
    from naver_sms.database.dynamodb_client import is_dynamo_url
    from naver_sms.wiring import open_state

    if not is_dynamo_url(settings.db) and settings.db != ":memory:":
        path = Path(settings.db)
        if path.is_dir():
            raise _error(f"{path} is a directory, not a SQLite database", code=2)
        if not path.exists():
            raise _error(f"no database at {path} (a run creates it)", code=2)
    return open_state(settings)


# a Korean number written as digits only: Seoul's 02 first (there is no 021-029), then the 3-digit prefixes;
# never inside a longer run of letters, digits or `_` (booking numbers `1000001_900000001`, request ids)
_DIGIT_PHONE = re.compile(r"(?<![\w-])(02|0\d{2})(\d{3,4})(\d{4})(?![\w-])")


def _mask(text: str) -> str:
    """Every phone number in `text` masked in one form, `010-****-0008` (digits-only ones too)."""
    return mask_text(_DIGIT_PHONE.sub(r"\1-\2-\3", text))


def _mask_phone(phone: str) -> str:
    """A phone number masked in the same form as `_mask`, whatever its shape."""
    return mask_phone(_DIGIT_PHONE.sub(r"\1-\2-\3", phone.strip()))


def _masked(value: Any) -> Any:
    """A JSON value with every phone number in its strings masked - except a message's `from` (the
    studio's own sender number)."""
    if isinstance(value, str):
        return _mask(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {
            k: v if k == "from" else _mask_phone(v) if k == "to" and isinstance(v, str) else _masked(v)
            for k, v in value.items()
        }
    return value


def _kst(timestamp: Any) -> datetime | None:
    """A stored ISO timestamp (UTC) in Korean time; None when there is none or it cannot be read."""
    if not timestamp:
        return None
    try:
        value = datetime.fromisoformat(str(timestamp))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(KST)


def _kst_iso(timestamp: Any) -> Any:
    at = _kst(timestamp)
    return at.isoformat() if at is not None else timestamp


def _kst_short(timestamp: Any) -> str:
    at = _kst(timestamp)
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else str(timestamp or "")


def _print_errors(errors: list[RunError]) -> None:
    for e in errors:
        if e.kind == "booking":  # the message names the booking already
            err.print(f"[red]skipped[/] {escape(e.message)}", highlight=False, soft_wrap=True)
            continue
        where = " ".join(
            x for x in (e.rule, e.action, e.booking_num, e.store_id and f"store {e.store_id}") if x
        )
        err.print(f"[red]{e.kind}[/] {escape(where)}: {escape(e.message)}", highlight=False, soft_wrap=True)


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
    with _state_errors():
        settings = _settings(config=config, db=db, bookings=bookings, live=live)
        runtime, state, run_id = _runtime(settings, now, quiet=as_json, dry_run=dry_run)
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
        write_json(report.to_json())
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: RunReport) -> None:
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
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
    _print_errors(report.errors)
    if report.failed:
        err.print(f"[bold red]run failed:[/] {escape(report.failed)}", highlight=False)


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

    with _state_errors():
        settings = _settings(config=config, db=db, bookings=bookings)
        runtime, _, run_id = _runtime(settings, now, quiet=True, dry_run=True)
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
        raise _error(str(exc), code=1) from None
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
        write_json(payload)
        return
    table = Table(title=f"plan at {clock_now:%Y-%m-%d %H:%M} KST · {runtime.source.description}")
    # a booking number is never cut, however narrow the console: the long texts fold instead
    widest = max((len(ev[0].facts.booking.booking_num) for ev in evaluations if ev), default=7)
    table.add_column("booking", no_wrap=True, min_width=widest)
    table.add_column("status", no_wrap=True, min_width=4)
    table.add_column("starts", no_wrap=True, min_width=11)
    table.add_column("in db", no_wrap=True)
    table.add_column("rule", overflow="fold")
    table.add_column("decision", overflow="fold")
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
    _print_errors(report.errors)


@rules_app.command("check")
def rules_check(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Validate every configuration file; exit 2 with file:line errors when something is wrong."""
    from naver_sms.errors import ConfigErrors
    from naver_sms.rules.engine import describe_rules
    from naver_sms.wiring import compile_config

    config_dir = config or _settings(state=False).config_dir
    try:
        cfg, _, rules = compile_config(config_dir)
    except ConfigError as exc:
        errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
        if as_json:
            write_json(
                {
                    "ok": False,
                    "errors": [
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
                    ],
                }
            )
            raise typer.Exit(2) from None
        _fail_config(exc)
        return
    if as_json:
        write_json({"ok": True, "rules": describe_rules(rules), "warnings": list(cfg.warnings)})
        return
    for warning in cfg.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
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

    config_dir = config or _settings(state=False).config_dir
    paths = files or sorted((config_dir / "tests").glob("*.yaml"))
    if not paths:
        err.print(f"no fixtures: give files or put them in {config_dir / 'tests'}")
        raise typer.Exit(2)
    from naver_sms.config.loader import load_config

    try:
        make = fixture_runtimes(config_dir)
        app_config = load_config(config_dir)  # valid: fixture_runtimes compiled it
        loaded = [
            (path, fixture, line) for path in paths for fixture, line in load_fixtures(path, app_config)
        ]
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
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent entries to show.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """What was sent (or written to the outbox), what failed and is waiting for a retry."""
    with _state_errors():
        state = _open_existing_state(_settings(db=db))
        outbox = [
            {**row, "created_at": _kst_iso(row["created_at"]), "payload": _masked(row["payload"])}
            for row in state.outbox.entries(limit=limit)
        ]
        records = state.repo.records()
    sent: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for record in records:
        item = record.to_item()
        phone = _mask_phone(record.phone)
        for flag in sorted({k[: -len("_sent_at")] for k in item if k.endswith("_sent_at")}):
            sent.append(
                {
                    "booking_num": record.booking_num,
                    "phone": phone,
                    "flag": flag,
                    "sent_at": _kst_iso(item.get(f"{flag}_sent_at")),
                    "request_id": item.get(f"{flag}_request_id"),
                }
            )
        for key in item:
            if key.endswith("_attempts") and not item.get(key[: -len("_attempts")]):
                flag = key[: -len("_attempts")]
                last_error = item.get(f"{flag}_last_error")
                entry = {
                    "booking_num": record.booking_num,
                    "phone": phone,
                    "flag": flag,
                    "attempts": item[key],
                    "last_error": _mask(last_error) if isinstance(last_error, str) else last_error,
                }
                (failed if item.get(f"{flag}_failed") else pending).append(entry)
    sent.sort(key=lambda e: _kst(e["sent_at"]) or datetime.min.replace(tzinfo=KST), reverse=True)
    if as_json:
        write_json({"outbox": outbox, "sent": sent[:limit], "retrying": pending, "failed": failed})
        return
    table = Table(title=f"sent ({state.description})")
    for col in ("sent at (KST)", "booking", "phone", "flag", "request id"):
        table.add_column(col, no_wrap=col in ("booking", "phone"))
    for e in sent[:limit]:
        table.add_row(
            _kst_short(e["sent_at"]), e["booking_num"], e["phone"], e["flag"], str(e["request_id"] or "")
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
        for col in ("at (KST)", "channel", "to", "text"):
            box.add_column(col)
        for row in outbox:
            payload = row["payload"]
            to = ",".join(str(m.get("to", "")) for m in payload.get("messages", []))
            text = str(payload.get("content") or payload.get("text") or "")
            box.add_row(
                _kst_short(row["created_at"]), row["channel"], to, text.splitlines()[0][:60] if text else ""
            )
        out.print(box)


_DEFAULT_TARGET = {"sms_table": "sms", "session_table": "session"}


@db_app.command("init")
def db_init(
    endpoint: Annotated[str, typer.Option("--endpoint", help="A DynamoDB-compatible endpoint URL.")],
    region: Annotated[str, typer.Option("--region")] = "ap-northeast-2",
    sms_table: Annotated[str, typer.Option("--sms-table")] = _DEFAULT_TARGET["sms_table"],
    session_table: Annotated[str, typer.Option("--session-table")] = _DEFAULT_TARGET["session_table"],
) -> None:
    """Create the `sms` and `session` tables (production key schema) on a DynamoDB-compatible endpoint."""
    from naver_sms.database.dynamodb_client import DynamoTarget, create_tables

    target = DynamoTarget(region=region, endpoint=endpoint, sms_table=sms_table, session_table=session_table)
    try:
        created = create_tables(target)
    except NaverSmsError as exc:
        raise _error(str(exc), code=1) from None
    query = [f"endpoint={endpoint}"] + [
        f"{name}={value}"
        for name, value in (("sms_table", sms_table), ("session_table", session_table))
        if value != _DEFAULT_TARGET[name]
    ]
    out.print(
        f"tables ready at {endpoint}: {', '.join(created) or 'already there'}"
        f" (use --db 'dynamodb://{region}?{'&'.join(query)}')",
        highlight=False,
        soft_wrap=True,
    )


def _flags_of_rules(config_dir: Path) -> set[str]:
    """The flags the rules of `config_dir` name (none when the configuration cannot be loaded)."""
    from naver_sms.rules.engine import describe_rules
    from naver_sms.wiring import compile_config

    try:
        _, _, rules = compile_config(config_dir)
    except NaverSmsError:
        return set()
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "flag" and isinstance(inner, str):
                    found.add(inner)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(describe_rules(rules))
    return found


_FLAG_ATTRS = ("_failed", "_attempts", "_sent_at", "_last_error", "_request_id", "_claim_run", "_reset_at")


def _flags_on(item: dict[str, Any]) -> set[str]:
    """The flags a row holds: boolean attributes, and the flags its bookkeeping attributes belong to."""
    found = {k for k, v in item.items() if isinstance(v, bool)}
    for key in item:
        found |= {key[: -len(suffix)] for suffix in _FLAG_ATTRS if key.endswith(suffix)}
    return found


@db_app.command("reset")
def db_reset(
    booking_num: Annotated[str, typer.Argument(help="The booking's key, e.g. 1000001_900000001.")],
    flag: Annotated[str, typer.Argument(help="The flag that failed for good, e.g. confirm_sms.")],
    db: DbOpt = None,
) -> None:
    """Open a flag that failed for good again, so the next run retries it (the operator's explicit reset)."""
    from naver_sms.domain.booking import FLAG_NAMES

    with _state_errors():
        settings = _settings(db=db)
        state = _open_existing_state(settings)
        rows = [r for r in state.repo.records() if r.booking_num == booking_num]
        if not rows:
            err.print(f"no record {booking_num!r} in {state.description}", highlight=False, soft_wrap=True)
            raise typer.Exit(2)
        on_rows = set().union(*(_flags_on(r.to_item()) for r in rows))
        if flag not in on_rows:
            known = {*FLAG_NAMES, *_flags_of_rules(settings.config_dir)}
            if flag not in known:
                close = did_you_mean(flag, sorted(known | on_rows))
                hint = (
                    f" (did you mean {close!r}?)" if close else f" (known flags: {', '.join(sorted(known))})"
                )
                raise _error(f"{booking_num} has no flag {flag!r}{hint}", code=2)
        changed = [r for r in rows if state.repo.reset(r.key, flag)]
    if not changed:
        err.print(f"{booking_num} {flag} has not failed for good: nothing to reset", highlight=False)
        raise typer.Exit(1)
    out.print(f"{booking_num} {flag}: open again; the next run retries it", highlight=False)


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

    with _state_errors():
        settings = _settings(db=db)
    if settings.naver_id is None or settings.naver_password is None:
        err.print(
            "Naver credentials are missing: set NAVER_SMS_NAVER_ID and NAVER_SMS_NAVER_PASSWORD "
            "(or a secret in NAVER_SMS_SECRET_NAMES)"
        )
        raise typer.Exit(2)
    with _state_errors():
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
    every: Annotated[
        int, typer.Option("--every", min=1, max=1440, help="Minutes between runs, aligned to the hour.")
    ] = 20,
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
            err.print(f"[bold red]configuration error[/] {escape(exc.render())}", highlight=False)
        except NaverSmsError as exc:  # e.g. the state store unavailable: this run fails, the next one tries
            err.print(f"[bold red]run failed:[/] {escape(str(exc))}", highlight=False)
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
