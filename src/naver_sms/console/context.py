"""What the console works with (`Console`), shared by the app and its pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from naver_sms.config.settings import Settings
from naver_sms.domain.clock import Clock, SystemClock
from naver_sms.owner.config_store import ConfigStore
from naver_sms.ports import SmsService

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: wrong tokens before the console stops accepting logins (until it is restarted)
MAX_LOGIN_FAILURES = 20


@dataclass
class Console:
    """What the console works with: the configuration's place, the settings of the state, the token."""

    store: ConfigStore
    settings: Settings
    token: str
    clock: Clock = field(default_factory=SystemClock)
    #: the SMS service of the one sample to the owner's number (live only); None: samples are refused
    sample_sms: SmsService | None = None
    owner_phone: str | None = None
    hosts: tuple[str, ...] = LOCAL_HOSTS
    #: opens the state store for status and history (None: the database does not exist yet)
    open_state: Callable[[], Any] | None = None
    failures: int = 0
