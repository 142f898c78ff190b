"""naver-sms: rule-driven booking notifications for Naver Smart Place stores.

The public surface: what users of the library and authors of new conditions and actions need. Everything
else is internal and may change.

The names are imported when first used (PEP 562 `__getattr__`): `import naver_sms.handler` on a Lambda cold
start pays only for what the handler itself needs (bench/coldstart.py), while `from naver_sms import
RuleEngine` works as before.
"""

import typing as _typing

__version__ = "0.1.0"

#: each public name and the module that defines it
_EXPORTS = {
    "ActionContext": "naver_sms.rules.context",
    "ActionExecutionError": "naver_sms.rules.exceptions",
    "ActionResult": "naver_sms.rules.context",
    "ActionServicesBundle": "naver_sms.rules.context",
    "ActionType": "naver_sms.rules.types",
    "AppConfig": "naver_sms.config.models",
    "Booking": "naver_sms.domain.booking",
    "BookingRecord": "naver_sms.domain.booking",
    "ConditionType": "naver_sms.rules.conditions",
    "ConfigError": "naver_sms.errors",
    "FixedClock": "naver_sms.domain.clock",
    "NaverSmsError": "naver_sms.errors",
    "RuleEngine": "naver_sms.rules.engine",
    "RunReport": "naver_sms.rules.report",
    "RunScope": "naver_sms.rules.context",
    "Runtime": "naver_sms.runner",
    "Settings": "naver_sms.config.settings",
    "Store": "naver_sms.domain.booking",
    "SystemClock": "naver_sms.domain.clock",
    "load_config": "naver_sms.config.loader",
    "preview": "naver_sms.runner",
    "register_actions": "naver_sms.rules.actions",
    "run_once": "naver_sms.runner",
}

__all__ = [
    "ActionContext",
    "ActionExecutionError",
    "ActionResult",
    "ActionServicesBundle",
    "ActionType",
    "AppConfig",
    "Booking",
    "BookingRecord",
    "ConditionType",
    "ConfigError",
    "FixedClock",
    "NaverSmsError",
    "RuleEngine",
    "RunReport",
    "RunScope",
    "Runtime",
    "Settings",
    "Store",
    "SystemClock",
    "load_config",
    "preview",
    "register_actions",
    "run_once",
]


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'naver_sms' has no attribute {name!r}")
    import importlib  # only when a public name is first used: the point of the lazy root

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if _typing.TYPE_CHECKING:  # what mypy and editors see: the same names, imported eagerly
    from naver_sms.config.loader import load_config
    from naver_sms.config.models import AppConfig
    from naver_sms.config.settings import Settings
    from naver_sms.domain.booking import Booking, BookingRecord, Store
    from naver_sms.domain.clock import FixedClock, SystemClock
    from naver_sms.errors import ConfigError, NaverSmsError
    from naver_sms.rules.actions import register_actions
    from naver_sms.rules.conditions import ConditionType
    from naver_sms.rules.context import ActionContext, ActionResult, ActionServicesBundle, RunScope
    from naver_sms.rules.engine import RuleEngine
    from naver_sms.rules.exceptions import ActionExecutionError
    from naver_sms.rules.report import RunReport
    from naver_sms.rules.types import ActionType
    from naver_sms.runner import Runtime, preview, run_once
