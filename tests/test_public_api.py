"""The package exports exactly its documented surface, and every export resolves."""

from __future__ import annotations

import naver_sms


def test_all_is_complete_and_resolves() -> None:
    exported = {name for name in vars(naver_sms) if not name.startswith("_")}
    modules = {name for name in exported if type(getattr(naver_sms, name)).__name__ == "module"}
    assert set(naver_sms.__all__) == exported - modules
    for name in naver_sms.__all__:
        assert getattr(naver_sms, name) is not None


def test_the_seed_story_names_are_public() -> None:
    for name in (
        "ActionContext",
        "ActionServicesBundle",
        "ActionExecutionError",
        "register_actions",
        "RuleEngine",
    ):
        assert name in naver_sms.__all__
