"""Rendering for people: the run report as tables and outbox texts, times in Korean time, and JSON values
with every phone number masked in one form (`naver_sms.domain.privacy`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.table import Table

from naver_sms.cli.common import err, out, print_errors
from naver_sms.domain.clock import KST
from naver_sms.domain.privacy import mask_phone, mask_phone_uniform, mask_uniform
from naver_sms.rules.report import RunReport

__all__ = ["kst", "kst_iso", "kst_short", "masked", "print_report"]


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
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
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
    print_errors(report.errors)
    if report.failed:
        err.print(f"[bold red]run failed:[/] {report.failed}", highlight=False)
