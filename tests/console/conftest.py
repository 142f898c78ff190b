"""The console's world: a copy of the default configuration, a state with one sandbox run, the app served by
waitress on 127.0.0.1 (a free port, stopped after the test), and headless Chromium (Debian's, through
/usr/bin/chromedriver, the flags of external-apis.md) at a phone's width."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from waitress.server import create_server

from naver_sms.config.settings import Settings
from naver_sms.console.app import create_app
from naver_sms.console.context import Console
from naver_sms.domain.clock import FixedClock
from naver_sms.owner.config_store import DirectoryConfigStore
from naver_sms.runner import run_once
from naver_sms.wiring import build_runtime, open_state
from tests.standins.server import require
from tests.world import kst

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "synthetic-console-token-0001"
NOW = kst("2026-11-26 18:40")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


@dataclass
class World:
    config_dir: Path
    db: Path
    app: Flask
    console: Console


@pytest.fixture
def world(tmp_path: Path) -> World:
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    db = tmp_path / "state.sqlite3"
    settings = Settings(config_dir=config_dir, db=str(db), bookings_path=ROOT / "examples" / "bookings")
    clock = FixedClock(NOW)
    rt, _ = build_runtime(settings, clock=clock, real_clock=clock, run_id="r1")
    run_once(rt, run_id="r1")
    console = Console(
        store=DirectoryConfigStore(config_dir, clock=clock),
        settings=settings,
        token=TOKEN,
        clock=clock,
        open_state=lambda: open_state(settings),
    )
    return World(config_dir, db, create_app(console), console)


@pytest.fixture
def served(world: World) -> Iterator[str]:
    """The console on a free port of 127.0.0.1: its base URL."""
    server: Any = create_server(world.app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(10)


@pytest.fixture
def chrome() -> Iterator[Any]:
    require(shutil.which("chromedriver") or Path("/usr/bin/chromedriver").exists(), "chromedriver")
    require(shutil.which("chromium") or Path("/usr/bin/chromium").exists(), "chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    # a phone: headless Chromium keeps a window at least 500 pixels wide, so its viewport is emulated
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2}}
    )
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def login(client: Any) -> None:
    """Log a Flask test client in (the CSRF token from the login form)."""
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"token": TOKEN, "csrf_token": token})
    assert answer.status_code == 302


def csrf(client: Any, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
