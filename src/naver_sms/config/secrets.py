"""Credentials from AWS Secrets Manager, under the command line and the environment (docs/database.md,
"Credentials"); each secret fetched once per process, so a warm Lambda does not ask on every invocation.

A secret's value never reaches a log line, an error or a repr: errors name the secret and the key and do not
chain the JSON decoder's error (it holds the document); botocore logs response bodies at DEBUG, so those
records are dropped for the fetching thread; the values go into `SecretStr` fields.
Secrets are fetched through Powertools Parameters (`SecretsProvider`), kept for
`POWERTOOLS_PARAMETERS_MAX_AGE` seconds (default 300), and fetched anew at once with `refresh` when a service
refuses the credentials it had (naver_sms.rotation).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from naver_sms.config.settings import ENV_PREFIX, Settings
from naver_sms.errors import SecretError, did_you_mean

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

logger = logging.getLogger(__name__)

#: The `Settings` fields a secret may set.
CREDENTIAL_FIELDS = (
    "naver_id",
    "naver_password",
    "sens_access_key",
    "sens_secret_key",
    "sens_service_id",
    "telegram_token",
    "telegram_chat_id",
    "slack_webhook_url",
)
#: Fields whose value may be written as a JSON number in a secret (a Telegram chat id is an integer).
_NUMERIC_OK = frozenset({"telegram_chat_id"})


class SecretsClient(Protocol):
    """The one call of the Secrets Manager client this module uses (boto3's client has it)."""

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...


SecretsClientFactory = Callable[[Settings], SecretsClient]


def default_secrets_client(settings: Settings) -> SecretsClient:
    """boto3's Secrets Manager client for `settings.aws_region` (and `secrets_endpoint`, for a stand-in)."""
    # boto3 only where a client is built (cold start: importing the handler does not pay for it)
    import boto3
    from botocore.config import Config

    credentials: dict[str, str] = {}
    if settings.secrets_endpoint and not os.environ.get("AWS_ACCESS_KEY_ID"):
        # a local stand-in does not check credentials; never let the default chain reach for EC2 metadata
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    client: SecretsClient = boto3.session.Session().client(  # type: ignore[call-overload]
        "secretsmanager",
        region_name=settings.aws_region,
        endpoint_url=settings.secrets_endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10),
        **credentials,
    )
    return client


# --- the providers (each keeps its secrets for max_age) -------------------------------------------------------

_providers: dict[tuple[object, str, str | None], SecretsProvider] = {}
_providers_lock = threading.Lock()


def _provider(settings: Settings, factory: SecretsClientFactory) -> SecretsProvider:
    """The Powertools provider of one client factory, region and endpoint (made once, kept)."""
    # Powertools Parameters and boto3: only for a process that reads secrets
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    key = (factory, settings.aws_region, settings.secrets_endpoint)
    with _providers_lock:
        provider = _providers.get(key)
        if provider is None:
            provider = SecretsProvider(boto3_client=factory(settings))  # type: ignore[arg-type]
            _providers[key] = provider
        return provider


def clear_secret_cache() -> None:
    """Forget every fetched secret and provider (tests)."""
    with _providers_lock:
        for provider in _providers.values():
            provider.clear_cache()  # type: ignore[no-untyped-call]
        _providers.clear()


# --- keeping botocore's debug logs away from the values -------------------------------------------------------

_BOTOCORE_LOGGERS = (
    "botocore.parsers",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.httpsession",
    "botocore.httpchecksum",
    "botocore.retryhandler",
    "botocore.retries.standard",
    "botocore.client",
    "urllib3.connectionpool",
)
_fetching = threading.local()


class _DropWhileFetching(logging.Filter):
    """Drops DEBUG records emitted by the thread that is fetching a secret (botocore logs response bodies)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(_fetching, "active", 0) and record.levelno <= logging.DEBUG)


_FILTER = _DropWhileFetching()
for _name in _BOTOCORE_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


@contextmanager
def _quiet_botocore() -> Iterator[None]:
    _fetching.active = getattr(_fetching, "active", 0) + 1
    try:
        yield
    finally:
        _fetching.active -= 1


# --- fetching ------------------------------------------------------------------------------------------------


def _secret_text(provider: SecretsProvider, name: str, *, refresh: bool) -> str:
    """The secret's string, from the provider's cache unless it is older than max_age (or `refresh`)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError  # with the provider

    try:
        with _quiet_botocore():
            value = provider.get(name, force_fetch=refresh)
    except GetParameterError as exc:
        raise _secret_error(name, exc.__cause__ or exc.__context__) from None
    if isinstance(value, bytes | bytearray):
        raise SecretError(f"secret {name!r} has no SecretString: expected a JSON object of credentials")
    if not isinstance(value, str):
        raise SecretError(f"secret {name!r} could not be read: the provider gave no text")
    return value


def _secret_error(name: str, cause: BaseException | None) -> SecretError:
    """Secrets Manager's failure as a `SecretError` naming the secret - never a value."""
    response = getattr(cause, "response", None)
    if isinstance(response, Mapping):  # botocore's ClientError
        code = str(response.get("Error", {}).get("Code", "Unknown"))
        if code == "ResourceNotFoundException":
            return SecretError(f"secret {name!r} does not exist in AWS Secrets Manager")
        return SecretError(f"cannot read secret {name!r}: {code}")
    return SecretError(
        f"cannot reach AWS Secrets Manager for secret {name!r}: {type(cause).__name__ if cause else 'unknown'}"
    )


def _fetch(provider: SecretsProvider, name: str, *, refresh: bool = False) -> dict[str, str]:
    """One secret as validated credential values. Errors name the secret and key, never a value."""
    text = _secret_text(provider, name, refresh=refresh)
    if not isinstance(text, str):
        raise SecretError(f"secret {name!r} has no SecretString: expected a JSON object of credentials")
    try:
        data = json.loads(text)
    except ValueError:
        # not chained: the decoder's error carries the whole document
        raise SecretError(
            f"secret {name!r} is not valid JSON: expected a JSON object of credentials"
        ) from None
    if not isinstance(data, dict):
        raise SecretError(
            f"secret {name!r} is a JSON {type(data).__name__}, expected an object of credentials"
        )
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in CREDENTIAL_FIELDS:
            close = did_you_mean(key, CREDENTIAL_FIELDS)
            hint = f" (did you mean {close!r}?)" if close else f" (known: {', '.join(CREDENTIAL_FIELDS)})"
            raise SecretError(f"secret {name!r}: unknown key {key!r}{hint}")
        if isinstance(value, int) and not isinstance(value, bool) and key in _NUMERIC_OK:
            value = str(value)
        if not isinstance(value, str):
            raise SecretError(
                f"secret {name!r}: key {key!r} must be a string, not a JSON {type(value).__name__}"
            )
        if not value.strip():
            raise SecretError(f"secret {name!r}: key {key!r} is empty")
        values[key] = value
    logger.debug("secret %r fetched: keys %s", name, ", ".join(sorted(values)))
    return values


def load_secrets(
    settings: Settings, *, client_factory: SecretsClientFactory | None = None, refresh: bool = False
) -> dict[str, str]:
    """The credentials held by `settings.secret_names`, merged in order: each kept for max_age, or fetched
    again now with `refresh` (a service refused the credentials it had: they may have rotated)."""
    merged: dict[str, str] = {}
    if not settings.secret_names:
        return merged
    provider = _provider(settings, client_factory or default_secrets_client)
    for name in settings.secret_names:
        merged.update(_fetch(provider, name, refresh=refresh))
    return merged


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets_client_factory: SecretsClientFactory | None = None,
    *,
    refresh: bool = False,
    **overrides: object,
) -> Settings:
    """Settings from the environment and `overrides`, completed with the credentials of the secrets.

    A credential set in the environment (or an override) wins over the same key in a secret. `refresh`
    fetches the secrets again whatever their age. Raises `SecretError` for a missing or malformed secret, `ConfigError` for an invalid setting."""
    env = os.environ if env is None else env
    base = Settings.from_env(env, **overrides)
    if not base.secret_names:
        return base
    from_secrets = load_secrets(base, client_factory=secrets_client_factory, refresh=refresh)
    given = {name for name in CREDENTIAL_FIELDS if env.get(ENV_PREFIX + name.upper())}
    given |= {name for name, value in overrides.items() if value is not None}
    completed = {name: value for name, value in from_secrets.items() if name not in given}
    settings = Settings.from_env(env, **{**completed, **overrides})
    logger.info(
        "credentials loaded from %d secret(s): %s",
        len(base.secret_names),
        ", ".join(sorted(completed)) or "none needed",
    )
    return settings
