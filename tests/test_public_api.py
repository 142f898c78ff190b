"""The package exports exactly its documented surface, and every export resolves."""

from __future__ import annotations

import subprocess
import sys

import naver_sms


def test_all_is_complete_and_resolves() -> None:
    # the root is lazy (PEP 562): dir() lists what it exports, whether or not it was used yet
    exported = {name for name in dir(naver_sms) if not name.startswith("_")}
    modules = {name for name in exported if type(getattr(naver_sms, name)).__name__ == "module"}
    assert set(naver_sms.__all__) == exported - modules
    for name in naver_sms.__all__:
        assert getattr(naver_sms, name) is not None
    assert set(naver_sms.__all__) == set(naver_sms._EXPORTS)


def test_the_seed_story_names_are_public() -> None:
    for name in (
        "ActionContext",
        "ActionServicesBundle",
        "ActionExecutionError",
        "register_actions",
        "RuleEngine",
    ):
        assert name in naver_sms.__all__


def test_an_export_is_the_defining_modules_object() -> None:
    from naver_sms.rules.engine import RuleEngine

    assert naver_sms.RuleEngine is RuleEngine


def test_importing_the_package_root_imports_none_of_its_modules() -> None:
    # GIVEN a fresh interpreter WHEN it imports the package THEN nothing below it is loaded yet (cold start)
    code = "import sys, naver_sms; print(sorted(m for m in sys.modules if m.startswith('naver_sms.')))"
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "[]"
