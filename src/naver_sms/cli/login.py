"""`naver-sms login`: a browser login now, its cookies cached for the runs (docs/naver.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from naver_sms.cli.common import DbOpt, err, out, seams, settings_of, state_errors
from naver_sms.errors import LoginError
from naver_sms.wiring import open_state


def login(
    ctx: typer.Context,
    db: DbOpt = None,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", help="Open a visible browser and wait for a person (captcha, 2FA)."),
    ] = False,
) -> None:
    """Log in to Naver with the browser now and cache the session cookies for the runs."""
    # httpx and selenium: only the commands that talk to Naver need them
    from naver_sms.naver.live import log_in_now

    with state_errors():
        settings = settings_of(db=db)
    if settings.naver_id is None or settings.naver_password is None:
        err.print(
            "Naver credentials are missing: set NAVER_SMS_NAVER_ID and NAVER_SMS_NAVER_PASSWORD "
            "(or a secret in NAVER_SMS_SECRET_NAMES)"
        )
        raise typer.Exit(2)
    with state_errors():
        state = open_state(settings, dynamo_client=seams(ctx).dynamo_client)
    try:
        count = log_in_now(settings, state.sessions, interactive=interactive)
    except LoginError as exc:
        err.print(f"[bold red]login failed:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"logged in: {count} cookies cached in {state.description}")
