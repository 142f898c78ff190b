"""Settings: where state lives, which channels are live, credentials and service endpoints.

Values come from environment variables (`NAVER_SMS_*`) - and, for credentials, from AWS Secrets Manager
(see `naver_sms.config.secrets`). Credentials are `SecretStr`: their values never appear in a repr, a log
line or an error. Going live is an explicit switch (`live`), never implied by credentials being present.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from naver_sms.errors import ConfigError

__all__ = ["ENV_PREFIX", "Settings"]

ENV_PREFIX = "NAVER_SMS_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    config_dir: Path = Path("config")
    #: A SQLite path, or a DynamoDB target `dynamodb://[region]?endpoint=URL&sms_table=sms&session_table=session`
    db: str = "var/naver-sms.sqlite3"
    #: Send for real. False = sandbox: SMS and notifications go to the outbox.
    live: bool = False
    #: Bookings from Naver-format JSON (file or directory) instead of the live API.
    bookings_path: Path | None = None

    telegram_enabled: bool = True
    slack_enabled: bool = False

    # exactly-once flags
    claim_lease_seconds: int = Field(default=600, ge=60)
    max_attempts: int = Field(default=3, ge=1)

    # fetch windows (external-apis.md §1): completed bookings this many days back (the API allows 31)
    completed_window_days: int = Field(default=3, ge=0, le=31)
    fetch_concurrency: int = Field(default=4, ge=1, le=16)
    #: after Naver blocks a login (captcha, second factor, wrong password), runs start no browser login for
    #: this long, or until `naver-sms login`; 0 = try again on every run
    login_pause_minutes: int = Field(default=360, ge=0)

    # endpoints - overridable so tests and local stand-ins can be used; production keeps the defaults
    naver_api_base: str = "https://partner.booking.naver.com"
    naver_login_url: str = "https://nid.naver.com/nidlogin.login?mode=form&url=https://www.naver.com/"
    sens_base: str = "https://sens.apigw.ntruss.com"
    telegram_base: str = "https://api.telegram.org"
    chromedriver_path: str = "/usr/bin/chromedriver"
    chromium_path: str = "/usr/bin/chromium"

    # credentials
    naver_id: SecretStr | None = None
    naver_password: SecretStr | None = None
    sens_access_key: SecretStr | None = None
    sens_secret_key: SecretStr | None = None
    sens_service_id: str | None = None
    telegram_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    slack_webhook_url: SecretStr | None = None

    # AWS Secrets Manager: secret names (each a JSON object); empty = not used
    aws_region: str = "ap-northeast-2"
    secrets_endpoint: str | None = None
    secret_names: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from `NAVER_SMS_<FIELD>` variables, then `overrides` (command-line options) on top."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = (
                    tuple(s.strip() for s in raw.split(",") if s.strip()) if name == "secret_names" else raw
                )
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise ConfigError(
                err["msg"], file="environment", field=f"{ENV_PREFIX}{field.upper()}" if field else None
            ) from None
