"""Settings from `NAVER_SMS_*` variables (credentials also from `config.secrets`): credentials are `SecretStr`,
and going live is an explicit switch (`live`), never implied by credentials being present.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from naver_sms.errors import ConfigError, did_you_mean

ENV_PREFIX = "NAVER_SMS_"

#: the scheme of a DynamoDB state target, `dynamodb://REGION?endpoint=URL&...` (anything else is SQLite)
DYNAMO_SCHEME = "dynamodb"

_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def is_dynamo_url(value: str) -> bool:
    """True for a `dynamodb://...` target (the `--db` option takes either this or a SQLite path)."""
    return value.strip().lower().startswith(DYNAMO_SCHEME + "://")


def check_db_target(value: str, *, where: str = "NAVER_SMS_DB") -> None:
    """Refuse a state target that looks like a URL but is not `dynamodb://...`: it would be taken for a
    SQLite path and silently create a directory named after the scheme (`dynamo:/x`). `where` names the
    option or variable it came from."""
    text = value.strip()
    found = _URL_SCHEME.match(text)
    if found is None or text.startswith("dynamodb://"):
        return
    scheme, rest = found.group(1), text[found.end() :]
    problem = f"{value!r} is not a SQLite path or a DynamoDB target: the only URL understood is dynamodb://"
    if scheme.lower() == "dynamodb" or did_you_mean(scheme.lower(), ["dynamodb"]):
        raise ConfigError(problem, file=where, suggestion=f"dynamodb://{rest}")
    path = rest if scheme.lower() in ("sqlite", "sqlite3", "file") and rest else "PATH"
    raise ConfigError(f"{problem}; for SQLite give the file's path itself, e.g. --db {path}", file=where)


#: the most stores a run may fetch at once (`fetch_concurrency`, set by hand; the automatic bound is 16)
MAX_FETCH_CONCURRENCY = 32
#: the most SMS a run may send at once (`send_concurrency`)
MAX_SEND_CONCURRENCY = 32


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    config_dir: Path = Path("config")
    #: the configuration in S3, `s3://BUCKET/PREFIX/` - set by `NAVER_SMS_CONFIG_DIR=s3://...`
    #: (naver_sms.config_source: validated before use, the last valid one kept)
    config_url: str | None = None
    #: where a configuration read from S3 is kept (Lambda's only writable directory is /tmp)
    config_cache_dir: Path = Path(tempfile.gettempdir()) / "naver-sms-config"
    #: an S3-compatible endpoint (a local stand-in); None = AWS
    s3_endpoint: str | None = None
    #: A SQLite path, or a DynamoDB target `dynamodb://[region]?endpoint=URL&sms_table=sms&session_table=session`
    db: str = "var/naver-sms.sqlite3"
    #: Send for real. False = sandbox: SMS and notifications go to the outbox.
    live: bool = False
    #: Bookings from Naver-format JSON (file or directory) instead of the live API.
    bookings_path: Path | None = None

    telegram_enabled: bool = True
    slack_enabled: bool = False
    #: where the daily report's HTML page goes: a directory, or s3://bucket/reports/ (docs/owner.md)
    reports_dir: str | None = None
    #: the console's token (at least 16 characters); unset: one is made when it starts and printed once
    console_token: SecretStr | None = None
    #: the owner's own number: the only one the console's sample SMS goes to
    owner_phone: str | None = None

    # exactly-once flags
    claim_lease_seconds: int = Field(default=600, ge=60)
    max_attempts: int = Field(default=3, ge=1)

    # the act step (docs/operations.md, "Deadline, lease and send concurrency")
    #: SMS sent at once (bookings acted on in parallel); SENS publishes no rate limit, so few, sharing one
    #: backoff when SENS answers 429
    send_concurrency: int = Field(default=4, ge=1, le=MAX_SEND_CONCURRENCY)
    #: the longest one SMS send may take, its retries and their waits included (then it is given up and
    #: retried by a later run); a claim with less of its lease left is renewed before its send
    send_timeout_seconds: int = Field(default=30, ge=5, le=300)
    #: no new claim starts when less than this is left before the run's deadline
    deadline_margin_seconds: int = Field(default=90, ge=5, le=900)
    #: the deadline of a `run` / `serve` run, from its start (none by default); on AWS Lambda the
    #: invocation's remaining time is the deadline
    run_deadline_seconds: int | None = Field(default=None, ge=60, le=86_400)

    # fetch windows (external-apis.md §1): completed bookings this many days back (the API allows 31)
    completed_window_days: int = Field(default=3, ge=0, le=31)
    #: requested (RC02) and cancelled (RC04) bookings, when a rule asks about them: days of use from today on
    changes_window_days: int = Field(default=31, ge=1, le=366)
    #: stores fetched at once; None: by the chain's size (4 up to 16 stores, at most 16: naver/live.auto_workers).
    #: Up to 32 when set: Naver publishes no limit, and every store fetched at once is one more request in
    #: flight under the same login (docs/naver.md, "Concurrency")
    fetch_concurrency: int | None = Field(default=None, ge=1, le=MAX_FETCH_CONCURRENCY)
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

    @model_validator(mode="after")
    def _lease_outlasts_a_run(self) -> Settings:
        if self.deadline_margin_seconds < self.send_timeout_seconds:
            raise ConfigError(
                f"the deadline margin ({self.deadline_margin_seconds} s) must be at least one send "
                f"(NAVER_SMS_SEND_TIMEOUT_SECONDS, {self.send_timeout_seconds} s): a send started just before "
                "the margin must end before the deadline",
                file="environment",
                field=f"{ENV_PREFIX}DEADLINE_MARGIN_SECONDS",
            )
        check_lease(self.claim_lease_seconds, self.send_timeout_seconds, self.run_deadline_seconds)
        return self

    @field_validator("db")
    @classmethod
    def _without_padding(cls, value: str) -> str:
        """` dynamodb://...` from a padded env file is the DynamoDB target, never a SQLite path."""
        return value.strip()

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
        if str(values.get("config_dir", "")).strip().lower().startswith("s3://"):
            # the stack's NAVER_SMS_CONFIG_DIR=s3://BUCKET/config/ is a location, not a directory
            values["config_url"] = str(values.pop("config_dir")).strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise ConfigError(
                err["msg"], file="environment", field=f"{ENV_PREFIX}{field.upper()}" if field else None
            ) from None


def check_lease(lease_seconds: float, send_seconds: float, deadline_seconds: float | None) -> None:
    """Refuse a claim lease that a run could outlive: every claim of a run must hold until its send ended,
    however late in the run it was made - so the lease must be longer than the run's deadline plus one send
    (`send_timeout_seconds`). `deadline_seconds`: the run's length (None: no deadline, one send)."""
    longest = (deadline_seconds or 0) + send_seconds
    if lease_seconds <= longest:
        raise ConfigError(
            f"the claim lease ({lease_seconds:.0f} s) must be longer than the longest a run may take: its "
            f"deadline ({deadline_seconds or 0:.0f} s) plus one send (NAVER_SMS_SEND_TIMEOUT_SECONDS, "
            f"{send_seconds:.0f} s) - or a claim could run out while its run still works on it",
            file="environment",
            field=f"{ENV_PREFIX}CLAIM_LEASE_SECONDS",
        )
