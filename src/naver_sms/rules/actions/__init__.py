"""The built-in actions (`sms`: send_sms; `records`: create_db_record, update_flag, record_reschedule;
`messages`: send_telegram, send_slack, log_event) and their registry. An executor `(ActionContext, Params) ->
ActionResult` reaches the world only through its context's services and fails with `common.fail`, carrying
what it did before failing. A new action is an `ActionType` in the `ACTIONS` of its module (a new module is
added below), documented in docs/rules/actions.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from naver_sms.rules.actions import messages, records, sms
from naver_sms.rules.types import ActionType

if TYPE_CHECKING:  # the engine compiles with the actions' names (rules.compile): no import at run time
    from naver_sms.rules.engine import RuleEngine

#: every built-in action type, in the order the docs list them: the SMS, the row, the messages to the owner
ACTIONS: tuple[ActionType, ...] = (*sms.ACTIONS, *records.ACTIONS, *messages.ACTIONS)


def register_actions(engine: RuleEngine) -> None:
    """Register every built-in action type with `engine`."""
    for atype in ACTIONS:
        engine.register_action(atype)
