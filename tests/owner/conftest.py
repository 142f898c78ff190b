"""The owner's world: a sandbox on the example bookings - a copy of the default configuration (so a test may
add rules or a reports.yaml), a SQLite state in a temp directory, and one clock that a test moves."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from naver_sms.config.settings import Settings
from naver_sms.rules.report import RunReport
from naver_sms.runner import Runtime, run_once
from naver_sms.wiring import State, build_runtime
from tests.world import kst

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass
class MovingClock:
    """The decision and the real clock of a sandbox that steps from run to run."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Sandbox:
    config_dir: Path
    db: Path
    bookings: Path
    clock: MovingClock
    #: settings of every runtime of the sandbox, on top of the defaults (e.g. slack_enabled)
    options: dict[str, object] = field(default_factory=dict)

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "config_dir": self.config_dir,
            "db": str(self.db),
            "bookings_path": self.bookings,
            "telegram_enabled": True,
            **self.options,
            **overrides,
        }
        return Settings(**values)  # type: ignore[arg-type]

    def runtime(self, *, dry_run: bool = False, state: State | None = None) -> tuple[Runtime, State]:
        return build_runtime(
            self.settings(), clock=self.clock, real_clock=self.clock, run_id="t", dry_run=dry_run, state=state
        )

    def run_at(self, when: str, state: State | None = None) -> tuple[RunReport, State]:
        self.clock.at = kst(when)
        rt, state = self.runtime(state=state)
        try:
            return run_once(rt, run_id=f"run-{when}"), state
        finally:
            rt.close()

    def add_rules(self, yaml_text: str) -> None:
        path = self.config_dir / "rules.yaml"
        path.write_text(path.read_text(encoding="utf-8") + yaml_text, encoding="utf-8")

    def write(self, name: str, text: str) -> None:
        (self.config_dir / name).write_text(text, encoding="utf-8")


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    return Sandbox(
        config_dir, tmp_path / "state.sqlite3", EXAMPLES / "bookings", MovingClock(kst("2026-11-26 10:00"))
    )


from tests.standins.dynamo import dynalite_endpoint, dynamo_target, moto_endpoint  # noqa: E402, F401
