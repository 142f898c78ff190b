"""Compile rules written inline, and run them through the real engine with services at their protocols."""

from __future__ import annotations

import dataclasses
import textwrap
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from naver_sms.config.models import AppConfig
from naver_sms.config.yaml_lines import load_yaml
from naver_sms.domain import Booking
from naver_sms.rules.context import ActionContext, ActionServicesBundle, RunOptions
from naver_sms.rules.engine import CompiledRule, Plan, RuleEngine
from naver_sms.rules.facts import Facts
from naver_sms.rules.report import RunReport


def compile_rules(
    engine: RuleEngine, config: AppConfig, yaml_text: str, tmp_path: Path
) -> tuple[CompiledRule, ...]:
    path = tmp_path / f"rules-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text("rules:\n" + textwrap.dedent(yaml_text), encoding="utf-8")
    return engine.compile(dataclasses.replace(config, rules=load_yaml(path)["rules"], rules_file=path))


def plan_for(
    engine: RuleEngine,
    rules: Sequence[CompiledRule],
    config: AppConfig,
    services: ActionServicesBundle,
    bookings: Sequence[Booking],
    now: datetime,
) -> Plan:
    keys = [(b.booking_num, b.phone) for b in bookings]
    loaded = services.db_repo.load(keys)
    facts = [
        Facts(
            b,
            loaded.records.get((b.booking_num, b.phone)),
            now,
            config.store(b.store_id),
            config.option_keywords,
        )
        for b in bookings
    ]
    return engine.evaluate(rules, facts)


def run_rules(
    engine: RuleEngine,
    rules: Sequence[CompiledRule],
    config: AppConfig,
    services: ActionServicesBundle,
    bookings: Sequence[Booking],
    now: datetime,
    *,
    run_id: str = "run-1",
) -> RunReport:
    return execute_plan(
        engine, plan_for(engine, rules, config, services, bookings, now), config, services, now, run_id=run_id
    )


def execute_plan(
    engine: RuleEngine,
    plan: Plan,
    config: AppConfig,
    services: ActionServicesBundle,
    now: datetime,
    *,
    run_id: str = "run-1",
    dry_run: bool = False,
) -> RunReport:
    """Execute `plan` as a run would - or, with `dry_run`, preview it as `--dry-run` and `plan` do."""
    report = RunReport(run_id=run_id, now=now, started_at=now, mode="test", source="test", dry_run=dry_run)
    options = RunOptions(run_id=run_id, lease=timedelta(minutes=10), dry_run=dry_run)

    def make(rule: CompiledRule, facts: Facts | None, group: Sequence[Facts]) -> ActionContext:
        return ActionContext(
            rule=rule.name,
            booking=facts.booking if facts else None,
            record=facts.record if facts else None,
            store=facts.store if facts else None,
            now=now,
            config=config,
            services=services,
            options=options,
            bookings=tuple(f.booking for f in group),
        )

    (engine.preview if dry_run else engine.execute)(plan, make, report)
    return report
