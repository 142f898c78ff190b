"""An action type: its parameters, its executor, and the traits the engine and the compiler reason with - they
never know an action by its name (guard inference by traits: `naver_sms.rules.guards`; the advertising quiet
hours by `advertises`: `naver_sms.rules.quiet`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from naver_sms.config.models import AppConfig
from naver_sms.rules.context import ActionContext, ActionResult

Mode = Literal["each", "digest"]
Sends = Literal["sms", "message"]
#: a problem found against the whole configuration: (message, field, suggestion)
Problem = tuple[str, str, str | None]
#: `executor(context, params) -> ActionResult`: synchronous; it never changes the context
Executor = Callable[[ActionContext, Any], ActionResult]
Validator = Callable[[Any, AppConfig, Mode], list[Problem]]


@dataclass(frozen=True, slots=True)
class ActionType:
    name: str
    params: type[BaseModel]
    execute: Executor
    summary: str
    #: usable in `mode: digest` rules
    digest: bool = False
    #: what it would do, without doing it (dry runs and `plan`); None = nothing worth showing
    preview: Executor | None = None
    #: extra validation against the whole configuration
    validate: Validator | None = None
    #: "sms": a customer's SMS, which a flag must guard; "message": to the owner, guarded when a flag follows;
    #: a sending action's params have an optional `flag`
    sends: Sends | None = None
    #: it sets `params.flag` to `params.value` (with `value: true`, what guards the sends before it)
    sets_flag: bool = False
    #: it inserts the booking's row (if absent); right before a customer's SMS it writes nothing itself: the
    #: SMS's claim creates the row in the same write (`naver_sms.rules.guards`)
    creates_row: bool = False
    #: it creates the booking's row when there is none (a forecast - `naver-sms upcoming` - knows the row
    #: exists after it; sends with a flag and flag-setting actions create theirs too)
    writes_row: bool = False
    #: `advertises(params, config)`: it would send advertising (None: never)
    advertises: Callable[[Any, AppConfig], bool] | None = None
