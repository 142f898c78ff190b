"""What the commands share: the consoles, the common options, the seams (`Seams`), the settings of a
command, the clock of `--now`, and turning failures into one line and an exit code.

Exit codes: 0 done; 1 the run itself (or the state store) failed; 2 invalid configuration or usage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from naver_sms.config.settings import Settings, check_db_target, is_dynamo_url
from naver_sms.domain.clock import Clock, FixedClock, SystemClock, parse_kst
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.rules.report import RunError
from naver_sms.runner import Runtime, new_run_id
from naver_sms.wiring import DynamoClientFactory, State, build_runtime, open_state

__all__ = [
    "BookingsOpt",
    "ConfigOpt",
    "DbOpt",
    "JsonOpt",
    "NowOpt",
    "Seams",
    "clock_of",
    "err",
    "error",
    "fail_config",
    "open_existing_state",
    "out",
    "print_errors",
    "runtime_for",
    "seams",
    "settings_of",
    "state_errors",
]

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


@dataclass(frozen=True)
class Seams:
    """What the commands reach the world through. `main()` uses the real ones; a test passes its own:
    `CliRunner().invoke(app, args, obj=Seams(...))`."""

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
    except ValueError:
        raise typer.BadParameter(
            f'expected "YYYY-MM-DD HH:MM" in Korean time, got {now!r}', param_hint="--now"
        ) from None


def fail_config(exc: ConfigError) -> NoReturn:
    # soft_wrap: one error per line however narrow the console (CI logs are grepped for file:line)
    err.print(f"[bold red]configuration error[/]\n{exc.render()}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def error(message: str, *, code: int) -> typer.Exit:
    """Print a one-line error (never wrapped) and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
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
    """The state of a command that only reads or repairs it: a SQLite file that is not there is refused
    (a misspelt path would otherwise be created empty and show nothing)."""
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
            err.print(f"[red]skipped[/] {e.message}", highlight=False, soft_wrap=True)
            continue
        where = " ".join(
            x for x in (e.rule, e.action, e.booking_num, e.store_id and f"store {e.store_id}") if x
        )
        err.print(f"[red]{e.kind}[/] {where}: {e.message}", highlight=False, soft_wrap=True)
