"""Every built-in action type, collected from the modules that define them, and how an engine gets them."""

from __future__ import annotations

from naver_sms.rules.actions import messages, records, sms
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.types import ActionType

__all__ = ["ACTIONS", "register_actions"]

#: in the order the docs list them: the SMS, the row, the messages to the owner
ACTIONS: tuple[ActionType, ...] = (*sms.ACTIONS, *records.ACTIONS, *messages.ACTIONS)


def register_actions(engine: RuleEngine) -> None:
    """Register every built-in action type with `engine` (the services come with each run's scope)."""
    for atype in ACTIONS:
        engine.register_action(atype)
