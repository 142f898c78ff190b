"""Action executors: every side effect of a rule (the seed story, story 3.3), one module per concept.

    sms.py       send_sms(template, store_specific=false, flag=None)  an SMS, exactly once per flag
    records.py   create_db_record()                                   the legacy `sms` row, if absent
                 update_flag(flag, value=true)                        one boolean flag, idempotent
    messages.py  send_telegram(message, flag=None)                    a Telegram message, once per flag
                 send_slack(message, flag=None)                       a Slack message (no-op when disabled)
                 log_event(message, status="info", ...)               one JSON log line, personal data masked
    registry.py  ACTIONS, register_actions(engine)

Each executor is a synchronous function `(ActionContext, Params) -> ActionResult` that reaches the outside
world only through the services of its context. Failures are raised as `ActionExecutionError` (`fail`) with
the executor's name, the booking, what it was doing and what it did before failing; the engine logs, counts
and goes on.

Adding an action: a params model, an executor and one `ActionType` (with its traits: what it sends, whether
it sets a flag) in the `ACTIONS` of the module it belongs to - or a new module, added to `registry.ACTIONS` -
and a section in docs/rules/actions.md (a test keeps the docs complete).
"""

from naver_sms.rules.actions.messages import (
    LogEventParams,
    MessageParams,
    log_event,
    send_slack,
    send_telegram,
)
from naver_sms.rules.actions.records import NoParams, UpdateFlagParams, create_db_record, update_flag
from naver_sms.rules.actions.registry import ACTIONS, register_actions
from naver_sms.rules.actions.sms import SendSmsParams, send_sms
from naver_sms.rules.context import ActionContext, ActionServicesBundle

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
