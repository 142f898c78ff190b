"""What every condition type is made of: its parameter model's base (`Params`), the bounds of numeric
parameters, and the `ConditionType` record the engine registers. The condition types themselves live in
`conditions` (and the modules it gathers: `timing`, `changes`); the registry is `conditions.CONDITIONS`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from naver_sms.rules.facts import Facts


def not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):  # YAML `true` is not the number 1
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


#: Every numeric parameter is finite and bounded, checked at load (a year of hours, not 1e400: issue 9 item 6;
#: the bounds are documented with each condition in docs/rules/conditions.md).
MAX_HOURS = 8760
MAX_OPTION_COUNT = 1000
#: a booking's day relative to today: at most a year (and a leap day) either way
MAX_DAYS = 366

#: a number of hours, `0 <= hours <= MAX_HOURS` (conditions that need more than zero say `gt=0` themselves)
Hours = Annotated[float, BeforeValidator(not_a_bool), Field(ge=0, le=MAX_HOURS)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)


class NoParams(Params):
    pass


@dataclass(frozen=True, slots=True)
class ConditionType:
    """A condition type: its parameter model, a pure `check` of the facts, what it looked at (`observe`, for
    `plan --explain`) and a one-line summary.

    `asks` names the booking statuses the condition is about (`booking_status: RC04` asks for RC04): the
    statuses Naver is asked for only on demand (RC02, RC04: `naver_sms.domain.status.ON_DEMAND`) are fetched
    when an enabled rule asks for them, and only the rules that ask see those bookings."""

    name: str
    params: type[Params]
    check: Callable[[Facts, Any], bool]
    observe: Callable[[Facts, Any], Mapping[str, Any]]
    summary: str
    asks: Callable[[Any], Iterable[str]] | None = None
    #: it holds only while the booking has no row (`rules check` warns about a send guarded by a flag
    #: that nothing retries once the row exists: rules.config_check)
    only_without_row: bool = False
