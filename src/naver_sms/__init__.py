"""naver-sms: rule-driven booking notifications for Naver Smart Place stores.

The public surface: what users of the library and authors of new conditions and actions need. Everything
else is internal and may change.
"""

from naver_sms.config.loader import load_config
from naver_sms.config.models import AppConfig
from naver_sms.config.settings import Settings
from naver_sms.domain import Booking, BookingRecord, FixedClock, Store, SystemClock
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.rules.actions import register_actions
from naver_sms.rules.conditions import ConditionType
from naver_sms.rules.context import ActionContext, ActionResult, ActionServicesBundle, RunScope
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.exceptions import ActionExecutionError
from naver_sms.rules.report import RunReport
from naver_sms.rules.types import ActionType
from naver_sms.runner import Runtime, preview, run_once

__version__ = "0.1.0"

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
