"""An action type: its parameters, its executor, and the traits the compiler reasons with.

The engine and the compiler never know an action by its name: what an action *does* is declared here, once,
by the action itself (`naver_sms.rules.actions`):

    sends       "sms"      a customer's SMS - exactly once: it must be guarded by a flag (its `params.flag`,
                           or the rule's next flag-setting action)
                "message"  a message to the owner - guarded by the next flag-setting action when one follows
                           with no other send between (at least once); unguarded otherwise
                None       nothing goes out
    sets_flag   the action sets `params.flag` to `params.value`; with `value: true` it is what guards the sends
                before it (`naver_sms.rules.guards`)
    creates_row the action inserts the booking's row; right before a customer's SMS it writes nothing itself:
                the SMS's claim creates the row in the same write (`naver_sms.rules.guards`)
    digest      usable in a `mode: digest` rule (it runs once, for every matched booking)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from naver_sms.config.models import AppConfig
from naver_sms.rules.context import ActionContext, ActionResult

__all__ = ["ActionType", "Executor", "Mode", "Problem", "Sends", "Validator"]

Mode = Literal["each", "digest"]
Sends = Literal["sms", "message"]
#: a problem found against the whole configuration: (message, field, suggestion)
Problem = tuple[str, str, str | None]
#: `executor(context, params) -> ActionResult`: synchronous; it never changes the context
Executor = Callable[[ActionContext, Any], ActionResult]
Validator = Callable[[Any, AppConfig, Mode], list[Problem]]


@dataclass(frozen=True, slots=True)
class ActionType:
    """An action type: its parameter model, its executor, and how it takes part in validation."""

    name: str
    params: type[BaseModel]
    execute: Executor
    summary: str
    #: usable in `mode: digest` rules
    digest: bool = False
    #: what it would do, without doing it (dry runs and `plan`); None = nothing worth showing
    preview: Executor | None = None
    #: extra validation against the whole configuration: returns (message, field, suggestion) problems
    validate: Validator | None = None
    #: what it sends (see the module's docstring); a sending action's params have an optional `flag`
    sends: Sends | None = None
    #: it sets `params.flag` to `params.value`
    sets_flag: bool = False
    #: it inserts the booking's row (if absent)
    creates_row: bool = False
