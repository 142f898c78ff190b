"""The `naver-sms` command: a thin layer over the runner (same core as the Lambda handler).

One module per command or command group, registered below: it parses options and renders results (with
`naver_sms.cli.common`); everything else is the core's. With `--json`, stdout carries exactly one JSON object.
"""

from __future__ import annotations

import logging

import typer

from naver_sms.cli import db, history, login, rules, run, serve
from naver_sms.cli.common import Seams

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0] if __doc__ else "")
app.command()(run.run)
app.command()(run.plan)
app.add_typer(rules.app, name="rules")
app.command()(history.history)
app.add_typer(db.app, name="db")
app.command()(login.login)
app.command()(serve.serve)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    app(obj=Seams())


if __name__ == "__main__":
    main()
