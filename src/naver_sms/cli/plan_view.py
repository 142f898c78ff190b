"""`naver-sms plan` for people: which rules match which bookings and why not, then what would go out.

Two layouts of the same plan. On a wide console (120 columns and more) one row per booking and rule, with
the booking's status, start and row in columns of their own and the failed condition as JSON. On a narrow one
- 80 columns, and whenever the output is not a terminal (piped, CI) - two columns: the booking (its status,
start and row under its number, once) and the rule with its decision in words, the failed condition with
every parameter (defaults marked) and what it saw, an `any` branch by branch. Booking numbers are never cut.

Below the table every SMS and message with its status as the run would report it: `planned`, `failed`
(with the reason and the fix: a text over the SENS limit, a template that cannot render), `disabled` (the
channel is off: not posted), `skipped`. A match that quiet hours hold is `held until ...` with why.
"""

from __future__ import annotations

import json

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from naver_sms.cli.common import out, print_errors
from naver_sms.domain.privacy import mask_phone
from naver_sms.rules.explain import why_not
from naver_sms.rules.plan import Evaluation
from naver_sms.runner import Preview

#: from this console width on, the plan is one row per booking and rule with a column per fact
WIDE = 120


def _json_decision(e: Evaluation) -> str:
    why = e.explain()
    return (
        f"{why['failed']}: {json.dumps(why['condition'], ensure_ascii=False)} "
        f"saw {json.dumps(why['seen'], ensure_ascii=False)}"
    )


def _held(e: Evaluation) -> Text | None:
    """Quiet hours: a match of which nothing is done until `until` (the first run after decides again)."""
    hold = e.held()
    if hold is None:
        return None
    return Text.assemble((f"held until {hold.until:%m-%d %H:%M}", "yellow"), (f" ({hold.why})", "dim"))


def _wide(shown: Preview, title: str, widest: int, *, explain: bool) -> Table:
    table = Table(title=title)
    table.add_column("booking", no_wrap=True, min_width=widest)
    table.add_column("status", no_wrap=True, min_width=4)
    table.add_column("starts", no_wrap=True, min_width=11)
    table.add_column("in db", no_wrap=True)
    table.add_column("rule", overflow="fold")
    table.add_column("decision", overflow="fold")
    for ev in shown.plan.evaluations:
        for e in ev:
            if e.matched or explain:
                b = e.facts.booking
                decision = _held(e) or (
                    Text("matched", style="green") if e.matched else Text(_json_decision(e), style="dim")
                )
                in_db = "yes" if e.facts.record else "no"
                table.add_row(
                    b.booking_num, b.status, f"{b.reserve_at:%m-%d %H:%M}", in_db, e.rule.name, decision
                )
    return table


def _narrow(shown: Preview, title: str, widest: int, *, explain: bool) -> Table:
    table = Table(title=title)
    table.add_column("booking", no_wrap=True, min_width=widest)
    table.add_column("rule: decision", ratio=1, overflow="fold")  # never cut with "…"
    for ev in shown.plan.evaluations:
        rows = [e for e in ev if e.matched or explain]
        for i, e in enumerate(rows):
            b = e.facts.booking
            where = b.booking_num
            if i == 0:  # the booking's facts once, under its number
                row = "in db" if e.facts.record else "no row"
                where += f"\n{b.status} {b.reserve_at:%m-%d %H:%M}\n{row}"
            decision = Text(e.rule.name + ": ", style="bold")
            if (held := _held(e)) is not None:
                decision.append(held)
            elif e.matched:
                decision.append("matched", style="green")
            else:
                decision.append("\n".join(why_not(e)), style="dim")
            table.add_row(where, decision)
    return table


def print_plan(shown: Preview, source: str, *, explain: bool) -> None:
    report, evaluations = shown.report, shown.plan.evaluations
    title = f"plan at {report.now:%Y-%m-%d %H:%M} KST · {source}"
    # a booking number is never cut, however narrow the console: the long texts wrap instead
    widest = max((len(ev[0].facts.booking.booking_num) for ev in evaluations if ev), default=7)
    layout = _wide if out.width >= WIDE else _narrow
    out.print(layout(shown, title, widest, explain=explain))
    for s in report.sms:
        head = f"SMS · {s.rule} · to {mask_phone(s.phone)} from {s.sender} · {s.template} · {s.type} · {s.status}"
        out.print(Text(f"── {head}", style="bold red" if s.status == "failed" else "bold"))
        if s.content:
            out.print(s.content, highlight=False, markup=False)
        if s.error:
            out.print(f"[red]{s.status}:[/] {escape(s.error)}", highlight=False)
        if s.fix:
            out.print(f"[yellow]fix:[/] {escape(s.fix)}", highlight=False)
    for n in report.notifications:
        status = "disabled: not posted (the channel is off)" if n.status == "disabled" else n.status
        out.print(Text(f"── {n.channel} · {n.rule} · {status}", style="bold"))
        out.print(n.text, highlight=False, markup=False)
    if not report.sms and not report.notifications:
        out.print("nothing would be sent now")
    print_errors(report.errors)
