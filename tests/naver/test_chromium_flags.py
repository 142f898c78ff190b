"""Chromium's command line for a login: headless and sandbox-free everywhere, one process inside Lambda."""

from __future__ import annotations

import pytest

from naver_sms.naver.login import CHROMIUM_FLAGS, LAMBDA_FLAGS, chromium_flags, in_lambda


def test_a_login_outside_lambda_runs_headless_in_its_own_profile_with_the_zygote() -> None:
    flags = chromium_flags("/var/profile", lambda_env=False)
    assert flags[: len(CHROMIUM_FLAGS)] == list(CHROMIUM_FLAGS)
    assert "--user-data-dir=/var/profile" in flags
    assert not set(LAMBDA_FLAGS) & set(flags)
    assert {"--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run"} <= set(flags)


def test_a_visible_window_drops_only_headless() -> None:
    flags = chromium_flags("/var/profile", headless=False, lambda_env=False)
    assert "--headless=new" not in flags
    assert set(CHROMIUM_FLAGS) - set(flags) == {"--headless=new"}


def test_inside_lambda_chromium_runs_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "naver-sms-RunFunction")
    assert in_lambda()
    flags = chromium_flags("/var/profile")
    assert {"--single-process", "--no-zygote"} <= set(flags)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert not in_lambda()
    assert "--single-process" not in chromium_flags("/var/profile")
