"""Action executors: every side effect of a rule (the seed story, story 3.3), one module per concept, and
the registry of the built-in ones (`ACTIONS`, `register_actions`).

    sms.py       send_sms(template, store_specific=false, flag=None)  an SMS, exactly once per flag
    records.py   create_db_record(), update_flag(flag, value=true),   the booking's `sms` row
                 record_reschedule(reopen=[])
    messages.py  send_telegram / send_slack(message, flag=None)       messages to the owner, once per flag
                 log_event(message, status="info", ...)               one JSON log line, personal data masked
    common.py    ActionParams, fail(): what they share

An executor is a synchronous function `(ActionContext, Params) -> ActionResult` that reaches the outside world
only through the services of its context; a failure is an `ActionExecutionError` (`fail`) carrying what it did
before failing. Adding an action: a params model, an executor and an `ActionType` (with its traits) in the
`ACTIONS` of its module - or of a new module, added below - and a section in docs/rules/actions.md.
"""

from naver_sms.rules.actions import messages, records, sms
from naver_sms.rules.actions.messages import (
    LogEventParams,
    MessageParams,
    log_event,
    send_slack,
    send_telegram,
)
from naver_sms.rules.actions.records import NoParams, UpdateFlagParams, create_db_record, update_flag
from naver_sms.rules.actions.sms import SendSmsParams, send_sms
from naver_sms.rules.context import ActionContext, ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.types import ActionType

__all__ = [
    "ACTIONS",
    "ActionContext",
    "ActionServicesBundle",
    "LogEventParams",
    "MessageParams",
    "NoParams",
    "SendSmsParams",
    "UpdateFlagParams",
    "create_db_record",
    "log_event",
    "register_actions",
    "send_slack",
    "send_sms",
    "send_telegram",
    "update_flag",
]

#: every built-in action type, in the order the docs list them: the SMS, the row, the messages to the owner
ACTIONS: tuple[ActionType, ...] = (*sms.ACTIONS, *records.ACTIONS, *messages.ACTIONS)


def register_actions(engine: RuleEngine) -> None:
    """Register every built-in action type with `engine` (the services come with each run's scope)."""
    for atype in ACTIONS:
        engine.register_action(atype)
