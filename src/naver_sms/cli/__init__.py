"""The `naver-sms` command: a thin layer over the runner (same core as the Lambda handler).

One module per command or command group - it parses options and renders results; everything else is the
core's. A new command is a function in a module of its own, registered below:

    run.py      run, plan          common.py   consoles, options, seams, settings, errors and exit codes,
    rules.py    rules check|test               rendering for people (the report, times, masked JSON)
    history.py  history
    db.py       db init|reset
    login.py    login
    serve.py    serve

Exit codes: 0 done; 1 the run itself failed (see the report's `failed`); 2 invalid configuration or usage.
With `--json`, stdout carries exactly one JSON object and nothing else; people get tables on stderr/stdout.
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
