"""The failure of an action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from naver_sms.errors import NaverSmsError
from naver_sms.rules.context import ActionResult


class ActionExecutionError(NaverSmsError):
    """An action executor failed: the original error, where, and what the action did before it failed
    (`partial`: e.g. the failed SMS, which the report lists)."""

    def __init__(
        self,
        executor_name: str,
        booking_id: str,
        original_error: BaseException,
        context_data: Mapping[str, Any] | None = None,
        *,
        partial: ActionResult | None = None,
    ) -> None:
        self.executor_name = executor_name
        self.booking_id = booking_id
        self.original_error = original_error
        self.context_data: Mapping[str, Any] = dict(context_data or {})
        self.partial = partial
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"Action '{self.executor_name}' failed for booking {self.booking_id}: {self.original_error}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (self.executor_name, self.booking_id, self.original_error, self.context_data, self.partial),
        )


def _rebuild(
    name: str, booking_id: str, error: BaseException, data: Mapping[str, Any], partial: ActionResult | None
) -> ActionExecutionError:
    return ActionExecutionError(name, booking_id, error, data, partial=partial)
