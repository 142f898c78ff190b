"""`naver-sms db init` (the tables on a DynamoDB-compatible endpoint), `naver-sms db reset` (an operator
opens a flag that failed for good again) and `naver-sms db backup` (a consistent copy of the SQLite state)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from naver_sms.cli.common import DbOpt, err, error, open_existing_state, out, seams, settings_of, state_errors
from naver_sms.config.settings import is_dynamo_url
from naver_sms.domain.booking import FLAG_NAMES
from naver_sms.errors import NaverSmsError, did_you_mean
from naver_sms.flags.state import flags_on
from naver_sms.rules.plan import flags_named
from naver_sms.wiring import compile_config

app = typer.Typer(no_args_is_help=True, help="State backend tools.")

_DEFAULT_TARGET = {"sms_table": "sms", "session_table": "session"}


@app.command("init")
def init(
    ctx: typer.Context,
    endpoint: Annotated[str, typer.Option("--endpoint", help="A DynamoDB-compatible endpoint URL.")],
    region: Annotated[str, typer.Option("--region")] = "ap-northeast-2",
    sms_table: Annotated[str, typer.Option("--sms-table")] = _DEFAULT_TARGET["sms_table"],
    session_table: Annotated[str, typer.Option("--session-table")] = _DEFAULT_TARGET["session_table"],
) -> None:
    """Create the `sms` and `session` tables (production key schema) on a DynamoDB-compatible endpoint."""
    # boto3 and the DynamoDB adapter: only this command and runs on DynamoDB need them
    from naver_sms.database.dynamo_tables import create_tables
    from naver_sms.database.dynamo_target import DynamoTarget

    target = DynamoTarget(region=region, endpoint=endpoint, sms_table=sms_table, session_table=session_table)
    factory = seams(ctx).dynamo_client
    try:
        created = create_tables(target, client=factory(target) if factory is not None else None)
    except NaverSmsError as exc:
        raise error(str(exc), code=1) from None
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
    try:
        _, _, rules = compile_config(config_dir)
    except NaverSmsError:
        return set()
    return flags_named(rules)


@app.command("reset")
def reset(
    ctx: typer.Context,
    booking_num: Annotated[
        str, typer.Argument(help="The booking's key (1000001_900000001), or its Naver bookingId alone.")
    ],
    flag: Annotated[str, typer.Argument(help="The flag that failed for good, e.g. confirm_sms.")],
    db: DbOpt = None,
) -> None:
    """Open a flag that failed for good again, so the next run retries it (the operator's explicit reset)."""
    world = seams(ctx)
    with state_errors():
        settings = settings_of(db=db)
        state = open_existing_state(settings, world)
        records = state.repo.records()
        rows = [r for r in records if r.booking_num == booking_num]
        if not rows and "_" not in booking_num:  # the bare Naver bookingId: fine when one store has it
            nums = sorted({r.booking_num for r in records if r.booking_num.endswith(f"_{booking_num}")})
            if len(nums) > 1:
                raise error(
                    f"booking id {booking_num} is in more than one store: {', '.join(nums)} "
                    "(give the whole key)",
                    code=2,
                )
            booking_num = nums[0] if nums else booking_num
            rows = [r for r in records if r.booking_num == booking_num]
        if not rows:
            err.print(f"no record {booking_num!r} in {state.description}", highlight=False, soft_wrap=True)
            raise typer.Exit(2)
        on_rows = {f for r in rows for f in flags_on(r)}
        if flag not in on_rows:
            known = {*FLAG_NAMES, *_flags_of_rules(settings.config_dir)}
            if flag not in known:
                close = did_you_mean(flag, sorted(known | on_rows))
                hint = (
                    f" (did you mean {close!r}?)" if close else f" (known flags: {', '.join(sorted(known))})"
                )
                raise error(f"{booking_num} has no flag {flag!r}{hint}", code=2)
        changed = [r for r in rows if state.repo.reset(r.key, flag, now=world.clock())]
    if not changed:
        err.print(f"{booking_num} {flag} has not failed for good: nothing to reset", highlight=False)
        raise typer.Exit(1)
    out.print(f"{booking_num} {flag}: open again; the next run retries it", highlight=False)


@app.command("backup")
def backup(
    path: Annotated[Path, typer.Argument(help="The new file to write the copy to (never overwritten).")],
    db: DbOpt = None,
) -> None:
    """A consistent copy of the SQLite state, safe while a run writes (SQLite's online backup API)."""
    from naver_sms.database.sqlite_backup import backup_sqlite  # only this command copies a database

    with state_errors():
        settings = settings_of(db=db)
    if is_dynamo_url(settings.db):
        raise error(
            "the state is on DynamoDB: back it up with point-in-time recovery or an on-demand backup "
            '(aws dynamodb create-backup; docs/operations.md, "Restore the ledger")',
            code=2,
        )
    with state_errors():
        done = backup_sqlite(Path(settings.db), path)
    rows = ", ".join(f"{table} {n}" for table, n in sorted(done.rows.items()))
    out.print(
        f"backup of {settings.db} written to {done.path}: integrity ok; rows: {rows}",
        highlight=False,
        soft_wrap=True,
    )
