"""`naver-sms console`: the owner's local web app (`naver_sms.console`), served by waitress. Bound to 127.0.0.1
unless `--allow-remote` is given with another `--host`; never without a token (NAVER_SMS_CONSOLE_TOKEN, or one
made at start and printed once)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer

from naver_sms.cli.common import DbOpt, err, error, fail_config, seams, settings_of
from naver_sms.config.settings import is_dynamo_url
from naver_sms.console.context import LOCAL_HOSTS, Console
from naver_sms.domain.phone import PhoneError, national_number
from naver_sms.errors import ConfigError
from naver_sms.owner.config_store import config_store
from naver_sms.wiring import State, open_state


def console(
    ctx: typer.Context,
    config: Annotated[
        str | None, typer.Option("--config", help="The configuration: a directory, or s3://bucket/prefix/.")
    ] = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The port to listen on.")] = 8765,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Listen on an address other than this machine's own.")
    ] = False,
    live: Annotated[
        bool,
        typer.Option(
            "--live", help="Allow the one sample SMS to the owner's number (NAVER_SMS_OWNER_PHONE)."
        ),
    ] = False,
) -> None:
    """The owner's console: status, history, the texts per store with a live preview, versions. Local only."""
    world = seams(ctx)
    if host not in LOCAL_HOSTS and not allow_remote:
        raise error(
            f"refusing to listen on {host}: the console is for this machine (127.0.0.1); "
            "--allow-remote listens elsewhere (put it behind TLS)",
            code=2,
        )
    location = config or os.environ.get("NAVER_SMS_CONFIG_DIR") or "config"
    try:
        settings = settings_of(
            db=db, live=live, config=None if location.startswith("s3://") else Path(location)
        )
    except ConfigError as exc:
        fail_config(exc)
    token = settings.console_token.get_secret_value() if settings.console_token else secrets.token_urlsafe(24)
    if len(token) < 16:
        raise error("NAVER_SMS_CONSOLE_TOKEN must be at least 16 characters", code=2)
    owner = None
    if settings.owner_phone:
        try:
            owner = national_number(settings.owner_phone)
        except PhoneError as exc:
            raise error(f"NAVER_SMS_OWNER_PHONE: {exc}", code=2) from None
    sample = None
    if live:
        # httpx and the SENS client: only a live console may send its one sample
        from naver_sms.notifications.sms_service import SensClient

        try:
            sample = SensClient.from_settings(settings, clock=world.clock)
        except ConfigError as exc:
            fail_config(exc)
    opened: dict[str, State] = {}

    def state() -> Any:
        if "state" not in opened:
            if not is_dynamo_url(settings.db) and not Path(settings.db).exists():
                return None
            opened["state"] = open_state(settings, dynamo_client=world.dynamo_client)
        return opened["state"]

    # Flask, its forms and the editors: loaded when the console starts, not by every other command (about a
    # fifth of the `naver-sms` command's start: bench/coldstart.py, line (d))
    from naver_sms.console.app import create_app

    hosts = LOCAL_HOSTS if host in LOCAL_HOSTS else (*LOCAL_HOSTS, host)
    app = create_app(
        Console(
            store=config_store(location, clock=world.clock, region=settings.aws_region),
            settings=settings,
            token=token,
            clock=world.clock,
            sample_sms=sample,
            owner_phone=owner,
            hosts=hosts,
            open_state=state,
        )
    )
    # waitress: only the console serves pages
    from waitress import serve

    shown = "[::1]" if host == "::1" else host
    err.print(f"naver-sms console at http://{shown}:{port}/ · configuration {location}", highlight=False)
    if not settings.console_token:
        err.print(f"token (this run only): {token}", highlight=False)
    serve(app, host=host, port=port, threads=4, ident="naver-sms")
