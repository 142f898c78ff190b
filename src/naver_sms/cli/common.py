"""What the commands share: options, seams, settings, the `--now` clock, failures as one line and an exit code
(0 done; 1 the run itself or the state store failed; 2 invalid configuration or usage), and rendering.

What the CLI prints can always be printed, so a report is never lost after a run acted (issue 9, item 4): a
lone surrogate (a file name that is not UTF-8) or a character outside the terminal's encoding is written as
an escape (`write_json`, `SafeConsole`), text that is not valid rich markup is printed plain, and lines that
carry data escape it (`rich.markup.escape`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn, TextIO, cast

import typer
from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from naver_sms.config.settings import Settings, check_db_target, is_dynamo_url
from naver_sms.domain.clock import KST, Clock, DateWithoutTime, FixedClock, SystemClock, parse_kst
from naver_sms.domain.privacy import mask_phone, mask_phone_uniform, mask_uniform
from naver_sms.domain.text import printable
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.rules.report import RunError, RunReport
from naver_sms.runner import Runtime, new_run_id
from naver_sms.wiring import DynamoClientFactory, State, build_runtime, open_state


def json_text(payload: Any) -> str:
    """`payload` as one line of JSON, non-ASCII kept readable, lone surrogates as `\\uXXXX` escapes."""
    # json.dumps writes a surrogate as itself only inside a string: there its escape is the same value
    return printable(json.dumps(payload, ensure_ascii=False))


def write_json(payload: Any, stream: TextIO | None = None) -> None:
    """Print `payload` as one JSON line on `stream` (stdout by default); never fails on its text."""
    out = stream if stream is not None else sys.stdout
    try:
        out.write(json_text(payload) + "\n")  # encoded whole before anything is written
    except UnicodeEncodeError:  # a stream that cannot carry e.g. Korean: ASCII escapes, the same JSON
        out.write(json.dumps(payload, ensure_ascii=True) + "\n")


class _Encodable:
    """A text stream that writes what its encoding cannot carry as backslash escapes instead of raising."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(self._stream, "encoding", None) or "utf-8"
            return self._stream.write(text.encode(encoding, "backslashreplace").decode(encoding))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class SafeConsole(Console):
    """A rich `Console` that never fails on text its stream cannot encode. The stream is looked up at each
    write, as rich does (tests that swap sys.stdout still see the output)."""

    @property
    def file(self) -> IO[str]:
        return cast(IO[str], _Encodable(super().file))

    @file.setter
    def file(self, new_file: IO[str]) -> None:
        self._file = new_file

    def render_str(self, text: str, **options: Any) -> Text:
        try:
            return super().render_str(text, **options)
        except MarkupError:  # data that looks like markup and is not: show the text as it is
            return super().render_str(text, **{**options, "markup": False})


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


@dataclass(frozen=True)
class Seams:
    """What the commands reach the world through; a test passes its own: `invoke(app, args, obj=Seams(...))`."""

    #: the real time (and the decision time when `--now` is not given)
    clock: Clock = field(default_factory=SystemClock)
    #: the wait of `serve` between runs
    sleep: Callable[[float], None] = time.sleep
    #: the DynamoDB client of a target (None: boto3's)
    dynamo_client: DynamoClientFactory | None = None


def seams(ctx: typer.Context) -> Seams:
    return ctx.obj if isinstance(ctx.obj, Seams) else Seams()


def settings_of(
    *,
    config: Path | None = None,
    db: str | None = None,
    bookings: Path | None = None,
    live: bool | None = None,
    state: bool = True,
) -> Settings:
    """The settings of a command; with `state`, the `--db` value (or NAVER_SMS_DB) is checked first."""
    # boto3 (Secrets Manager) only for the commands that read settings
    from naver_sms.config.secrets import load_settings

    settings = load_settings(config_dir=config, db=db, bookings_path=bookings, live=live or None)
    if state:
        check_db_target(settings.db, where="--db" if db is not None else "NAVER_SMS_DB")
    return settings


def clock_of(now: str | None, real: Clock) -> Clock:
    """The decision clock: `--now` frozen, or the real clock."""
    if now is None:
        return real
    try:
        return FixedClock(parse_kst(now))
    except DateWithoutTime:  # never midnight by accident: `--now 2026-11-26` says which time it means
        day = now.strip()
        raise typer.BadParameter(
            f'expected "YYYY-MM-DD HH:MM" in Korean time, got {now!r}, a date without a time '
            f'(for midnight write "{day} 00:00")',
            param_hint="--now",
        ) from None
    except ValueError:
        raise typer.BadParameter(
            f'expected "YYYY-MM-DD HH:MM" in Korean time, got {now!r}', param_hint="--now"
        ) from None


def print_config_error(exc: ConfigError) -> None:
    # soft_wrap: one error per line however narrow the console (CI logs are grepped for file:line)
    err.print(f"[bold red]configuration error[/]\n{escape(exc.render())}", highlight=False, soft_wrap=True)


def fail_config(exc: ConfigError) -> NoReturn:
    print_config_error(exc)
    raise typer.Exit(2)


def error(message: str, *, code: int) -> typer.Exit:
    """Print a one-line error (never wrapped) and return the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def state_errors() -> Iterator[None]:
    """For the commands that open the state: a failure is one line and an exit code, never a traceback.
    Invalid settings exit 2; the state store failing (RepositoryError, botocore) exits 1."""
    try:
        yield
    except ConfigError as exc:
        fail_config(exc)
    except NaverSmsError as exc:
        raise error(str(exc), code=1) from None
    except Exception as exc:
        if not type(exc).__module__.startswith("botocore"):
            raise
        raise error(f"state store: {type(exc).__name__}: {exc}", code=1) from None


def open_existing_state(settings: Settings, world: Seams) -> State:
    """The state of a command that only reads or repairs it: a missing SQLite file is refused (a misspelt path
    would otherwise be created empty and show nothing)."""
    if not is_dynamo_url(settings.db) and settings.db != ":memory:":
        path = Path(settings.db)
        if path.is_dir():
            raise error(f"{path} is a directory, not a SQLite database", code=2)
        if not path.exists():
            raise error(f"no database at {path} (a run creates it)", code=2)
    return open_state(settings, dynamo_client=world.dynamo_client)


def runtime_for(
    settings: Settings,
    now: str | None,
    world: Seams,
    *,
    quiet: bool,
    dry_run: bool = False,
    state: State | None = None,
) -> tuple[Runtime, State, str]:
    """The runtime of one run of a command, with its progress shown on stderr unless `quiet`."""
    run_id = new_run_id()

    def progress(stage: str, detail: str) -> None:
        if not quiet:
            err.print(f"[dim]{stage:>6}[/] {detail}", highlight=False)

    runtime, state = build_runtime(
        settings,
        clock=clock_of(now, world.clock),
        real_clock=world.clock,
        run_id=run_id,
        progress=progress,
        dry_run=dry_run,
        state=state,
        dynamo_client=world.dynamo_client,
    )
    return runtime, state, run_id


def print_errors(errors: list[RunError]) -> None:
    for e in errors:
        if e.kind == "booking":  # the message names the booking already
            err.print(f"[red]skipped[/] {escape(e.message)}", highlight=False, soft_wrap=True)
            continue
        where = " ".join(
            x for x in (e.rule, e.action, e.booking_num, e.store_id and f"store {e.store_id}") if x
        )
        err.print(f"[red]{e.kind}[/] {escape(where)}: {escape(e.message)}", highlight=False, soft_wrap=True)


def masked(value: Any) -> Any:
    """A JSON value with every phone number in its strings masked - except a message's `from` (the
    studio's own sender number)."""
    if isinstance(value, str):
        return mask_uniform(value)
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, dict):
        return {
            k: v if k == "from" else mask_phone_uniform(v) if k == "to" and isinstance(v, str) else masked(v)
            for k, v in value.items()
        }
    return value


def kst(timestamp: object) -> datetime | None:
    """A stored ISO timestamp (UTC) in Korean time; None when there is none or it cannot be read."""
    if not timestamp:
        return None
    try:
        value = datetime.fromisoformat(str(timestamp))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(KST)


def kst_iso(timestamp: object) -> object:
    at = kst(timestamp)
    return at.isoformat() if at is not None else timestamp


def kst_short(timestamp: object) -> str:
    at = kst(timestamp)
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else str(timestamp or "")


def print_report(report: RunReport) -> None:
    """A run for people: warnings, the SMS table, the sandbox outbox's texts, the summary, the errors."""
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
    for note in report.notifications:
        if note.status == "disabled":  # nothing went out: say so where people look, not only in --json
            what = "the run summary" if note.rule == "(summary)" else f"rule {note.rule}"
            if note.booking_num:
                what += f", booking {note.booking_num}"
            err.print(
                f"[yellow]not posted:[/] {note.channel} is disabled ({escape(what)}); "
                f"NAVER_SMS_{note.channel.upper()}_ENABLED=true turns it on",
                highlight=False,
                soft_wrap=True,
            )
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
        f"{counts['sms_reconciled']} reconciled, {counts['sms_planned']} planned"
        + (f", {counts['sms_suppressed']} suppressed (opt-out)" if counts["sms_suppressed"] else ""),
    )
    posted = [n for n in report.notifications if n.channel != "log"]
    off = sum(n.status == "disabled" for n in posted)
    done = "planned" if report.dry_run else "posted"
    summary.add_row("messages", f"{len(posted) - off} {done}, {off} not posted (channel off)")
    for hold in report.held:  # quiet hours: nothing of these matches was done; the next runs decide again
        summary.add_row(f"held {hold.rule}", f"{hold.booking_num or 'digest'} until {hold.until:%m-%d %H:%M}")
    summary.add_row("flags changed", str(counts["flags_changed"]))
    summary.add_row("errors", str(counts["errors"]))
    summary.add_row("duration", f"{report.duration_seconds:.3f} s")
    out.print(summary)
    print_errors(report.errors)
    if report.failed:
        err.print(f"[bold red]run failed:[/] {escape(report.failed)}", highlight=False, soft_wrap=True)
