"""The `naver-sms` command: a thin layer over the runner (same core as the Lambda handler).

One module per command or command group, registered below: it parses options and renders results (with
`naver_sms.cli.common`); everything else is the core's. With `--json`, stdout carries exactly one JSON object.

Logging, for every command: `--log-level` / `NAVER_SMS_LOG_LEVEL` and `--log-format text|json` /
`NAVER_SMS_LOG_FORMAT` (naver_sms.logs: personal data masked at every level).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from naver_sms.cli import console, db, history, login, report, rules, run, serve, status, upcoming
from naver_sms.cli.common import Seams
from naver_sms.logs import LOG_FORMATS, configure_logging, parse_level

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0] if __doc__ else "")


@app.callback()
def _logging(
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            envvar="NAVER_SMS_LOG_LEVEL",
            help="debug, info, warning (default), error: what is logged on stderr. Personal data stays masked.",
        ),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            envvar="NAVER_SMS_LOG_FORMAT",
            help="text (default) or json: one JSON object a line.",
        ),
    ] = None,
) -> None:
    """Rule-driven booking notifications (see `naver-sms COMMAND --help`)."""
    if log_level is None and log_format is None:
        return  # main() set the default; a test's own logging stays as it is
    try:
        level = parse_level(log_level or "warning")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log-level") from None
    if (log_format or "text") not in LOG_FORMATS:
        raise typer.BadParameter(
            f"expected {' or '.join(LOG_FORMATS)}, got {log_format!r}", param_hint="--log-format"
        )
    configure_logging(level, log_format or "text")


app.command()(run.run)
app.command()(run.plan)
app.add_typer(rules.app, name="rules")
app.command()(history.history)
app.add_typer(db.app, name="db")
app.command()(login.login)
app.command()(serve.serve)
app.command()(upcoming.upcoming)
app.command("status")(status.status_command)
app.command()(report.report)
app.command()(console.console)


def main() -> None:
    configure_logging(logging.WARNING, "text")
    app(obj=Seams())


if __name__ == "__main__":
    main()
