"""Credentials from AWS Secrets Manager (moto), under the environment; never in a log or an error."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws

from naver_sms.config.secrets import clear_secret_cache, default_secrets_client, load_settings
from naver_sms.config.settings import Settings
from naver_sms.errors import SecretError
from tests.standins.dynamo import moto_endpoint

__all__ = ["moto_endpoint"]

REGION = "ap-northeast-2"
SENS_SECRET = "SKsynthetic-0000-do-not-log-0000"
NAVER_PASSWORD = "pw-synthetic-do-not-log"


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    clear_secret_cache()
    yield
    clear_secret_cache()


@pytest.fixture
def secrets_manager() -> Iterator[Any]:
    """An in-process moto Secrets Manager; yields a client to put secrets in."""
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def put(client: Any, name: str, value: Mapping[str, object] | str) -> None:
    client.create_secret(Name=name, SecretString=value if isinstance(value, str) else json.dumps(value))


def env(*names: str, **more: str) -> dict[str, str]:
    return {"NAVER_SMS_SECRET_NAMES": ",".join(names), "NAVER_SMS_AWS_REGION": REGION, **more}


class CountingFactory:
    """The real client factory, counting the get_secret_value calls made through it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, settings: Settings) -> Any:
        client = default_secrets_client(settings)
        real = client.get_secret_value

        def counted(**kwargs: Any) -> Any:
            self.calls += 1
            return real(**kwargs)

        client.get_secret_value = counted  # type: ignore[method-assign]
        return client


def test_without_secret_names_secrets_manager_is_never_called() -> None:
    # GIVEN credentials in the environment only
    def no_client(_: Settings) -> Any:
        raise AssertionError("Secrets Manager must not be called")

    # WHEN settings are loaded THEN they come from the environment
    settings = load_settings({"NAVER_SMS_SENS_ACCESS_KEY": "AK-env"}, no_client)
    assert settings.sens_access_key is not None
    assert settings.sens_access_key.get_secret_value() == "AK-env"


def test_credentials_come_from_the_named_secret(secrets_manager: Any) -> None:
    # GIVEN a secret holding the SENS credentials
    put(
        secrets_manager,
        "naver-sms/sens",
        {
            "sens_access_key": "AK-synthetic",
            "sens_secret_key": SENS_SECRET,
            "sens_service_id": "ncp:sms:kr:0:x",
        },
    )
    # WHEN settings are loaded with that secret's name
    settings = load_settings(env("naver-sms/sens"))
    # THEN they hold its values
    assert settings.sens_secret_key is not None and settings.sens_secret_key.get_secret_value() == SENS_SECRET
    assert settings.sens_service_id == "ncp:sms:kr:0:x"


def test_the_environment_overrides_a_secret_and_the_secret_completes_it(secrets_manager: Any) -> None:
    # GIVEN a secret with two keys, one of which the environment also sets
    put(secrets_manager, "naver-sms/naver", {"naver_id": "studio-secret", "naver_password": NAVER_PASSWORD})
    # WHEN settings are loaded
    settings = load_settings(env("naver-sms/naver", NAVER_SMS_NAVER_ID="studio-env"))
    # THEN the environment wins where it speaks, the secret fills the rest
    assert settings.naver_id is not None and settings.naver_id.get_secret_value() == "studio-env"
    assert (
        settings.naver_password is not None and settings.naver_password.get_secret_value() == NAVER_PASSWORD
    )


def test_a_command_line_override_wins_over_everything(secrets_manager: Any) -> None:
    put(secrets_manager, "naver-sms/tg", {"telegram_chat_id": -100123})
    settings = load_settings(env("naver-sms/tg", NAVER_SMS_TELEGRAM_CHAT_ID="-1"), telegram_chat_id="-2")
    assert settings.telegram_chat_id == "-2"


def test_several_secrets_merge_and_a_later_one_wins(secrets_manager: Any) -> None:
    # GIVEN two secrets that both set the Telegram token
    put(secrets_manager, "shared", {"telegram_token": "0:first", "telegram_chat_id": -100123})
    put(secrets_manager, "naver-sms", {"telegram_token": "0:second"})
    # WHEN both are named THEN both contribute, the later one winning on the shared key
    settings = load_settings(env("shared", "naver-sms"))
    assert settings.telegram_token is not None and settings.telegram_token.get_secret_value() == "0:second"
    assert settings.telegram_chat_id == "-100123"


def test_a_secret_is_fetched_once_per_process(secrets_manager: Any) -> None:
    # GIVEN a secret
    put(secrets_manager, "naver-sms/sens", {"sens_secret_key": SENS_SECRET})
    factory = CountingFactory()
    # WHEN settings are loaded three times (three warm Lambda invocations)
    for _ in range(3):
        load_settings(env("naver-sms/sens"), factory)
    # THEN Secrets Manager was asked once
    assert factory.calls == 1


def test_a_missing_secret_stops_with_an_error_naming_it(secrets_manager: Any) -> None:
    # GIVEN no such secret WHEN settings are loaded THEN SecretError names it
    with pytest.raises(SecretError, match="'naver-sms/absent' does not exist"):
        load_settings(env("naver-sms/absent"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f'{{"sens_secret_key": "{SENS_SECRET}"', "is not valid JSON"),
        (json.dumps([SENS_SECRET]), "is a JSON list"),
        (json.dumps({"sens_secret_key": [SENS_SECRET]}), "key 'sens_secret_key' must be a string"),
        (
            json.dumps({"sens_secret_kye": SENS_SECRET}),
            "unknown key 'sens_secret_kye' (did you mean 'sens_secret_key'?)",
        ),
        (json.dumps({"sens_secret_key": " "}), "key 'sens_secret_key' is empty"),
    ],
    ids=["broken-json", "not-an-object", "not-a-string", "unknown-key", "empty"],
)
def test_a_malformed_secret_names_the_secret_and_key_but_never_the_value(
    secrets_manager: Any, content: str, expected: str
) -> None:
    # GIVEN a malformed secret holding a credential value
    put(secrets_manager, "naver-sms/bad", content)
    # WHEN settings are loaded
    with pytest.raises(SecretError) as failed:
        load_settings(env("naver-sms/bad"))
    # THEN the error names the secret and the problem, and no part of it shows the value
    message = str(failed.value)
    assert "'naver-sms/bad'" in message and expected in message
    assert SENS_SECRET not in message and SENS_SECRET not in repr(failed.value)
    assert failed.value.__cause__ is None


def test_secret_values_never_reach_the_logs_even_at_debug(
    secrets_manager: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN secrets and every logger at DEBUG (botocore logs response bodies at DEBUG)
    put(secrets_manager, "naver-sms/sens", {"sens_secret_key": SENS_SECRET})
    put(secrets_manager, "naver-sms/naver", {"naver_password": NAVER_PASSWORD})
    caplog.set_level(logging.DEBUG)
    # WHEN settings are loaded, and logged as a careless caller might
    settings = load_settings(env("naver-sms/sens", "naver-sms/naver"))
    logging.getLogger("caller").debug("settings: %r", settings)
    # THEN the values are in the settings but in no log record
    assert (
        settings.naver_password is not None and settings.naver_password.get_secret_value() == NAVER_PASSWORD
    )
    assert any(r.name == "naver_sms.config.secrets" for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SENS_SECRET not in logged and NAVER_PASSWORD not in logged


def test_secrets_are_read_from_a_secrets_manager_endpoint(moto_endpoint: str) -> None:
    # GIVEN a secret in a moto_server reached over HTTP
    client = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    put(client, "naver-sms/slack", {"slack_webhook_url": "http://127.0.0.1:9/services/T0/B0/synthetic"})
    # WHEN settings name that endpoint and secret
    settings = load_settings(env("naver-sms/slack", NAVER_SMS_SECRETS_ENDPOINT=moto_endpoint))
    # THEN the webhook comes from it
    assert settings.slack_webhook_url is not None
    assert settings.slack_webhook_url.get_secret_value().endswith("/synthetic")


def test_a_padded_state_target_is_the_dynamodb_target_not_a_sqlite_path() -> None:
    from naver_sms.config.settings import Settings

    settings = Settings.from_env(
        {"NAVER_SMS_DB": "  dynamodb://ap-northeast-2?endpoint=http://127.0.0.1:1 \n"}
    )
    assert settings.db == "dynamodb://ap-northeast-2?endpoint=http://127.0.0.1:1"
