"""Where the DynamoDB tables are (`DynamoTarget`: a region, an endpoint - None = AWS - and two table names,
from a `--db` URL), the boto3 client for them, and botocore's errors as text."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from naver_sms.config.settings import DYNAMO_SCHEME
from naver_sms.errors import ConfigError, RepositoryError, did_you_mean

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient as DynamoDBClient
else:
    DynamoDBClient = Any

_SCHEME = DYNAMO_SCHEME
_DEFAULT_REGION = "ap-northeast-2"
_TARGET_PARAMS = ("endpoint", "sms_table", "session_table")


@dataclass(frozen=True, slots=True)
class DynamoTarget:
    """Region, endpoint (None = AWS) and table names.

    As a URL: `dynamodb://ap-northeast-2?endpoint=http://127.0.0.1:8000&sms_table=sms&session_table=session`;
    every part is optional (`dynamodb://` alone is production: AWS in ap-northeast-2, tables `sms`/`session`).
    """

    region: str = _DEFAULT_REGION
    endpoint: str | None = None
    sms_table: str = "sms"
    session_table: str = "session"

    @classmethod
    def parse(cls, url: str) -> DynamoTarget:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() != _SCHEME:
            raise ConfigError(
                f"not a DynamoDB target: {url!r}",
                field="db",
                suggestion=f"{_SCHEME}://{_DEFAULT_REGION}?endpoint=http://127.0.0.1:8000",
            )
        query = parse_qs(parts.query, keep_blank_values=True)
        for name in query:
            if name not in _TARGET_PARAMS:
                raise ConfigError(
                    f"unknown parameter {name!r} in DynamoDB target (known: {', '.join(_TARGET_PARAMS)})",
                    field="db",
                    suggestion=did_you_mean(name, _TARGET_PARAMS),
                )

        def one(name: str) -> str | None:
            values = query.get(name)
            if not values:
                return None
            if len(values) > 1:
                raise ConfigError(
                    f"parameter {name!r} given {len(values)} times in DynamoDB target", field="db"
                )
            return values[0].strip() or None

        endpoint = one("endpoint")
        if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
            raise ConfigError(f"endpoint must be an http(s) URL, got {endpoint!r}", field="db")
        return cls(
            region=parts.netloc.strip() or _DEFAULT_REGION,
            endpoint=endpoint,
            sms_table=one("sms_table") or "sms",
            session_table=one("session_table") or "session",
        )

    def describe(self) -> str:
        """For humans (logs, `--db` reports): where, and which tables. Holds no credentials."""
        where = self.endpoint or f"AWS {self.region}"
        return f"{where} (region {self.region}), tables {self.sms_table}/{self.session_table}"

    def url(self) -> str:
        query = [f"sms_table={self.sms_table}", f"session_table={self.session_table}"]
        if self.endpoint:
            query.insert(0, f"endpoint={self.endpoint}")
        return f"{_SCHEME}://{self.region}?{'&'.join(query)}"


def make_client(target: DynamoTarget, *, max_attempts: int = 3, timeout: float = 10.0) -> DynamoDBClient:
    """A DynamoDB client for the target. botocore's "standard" retry mode retries throttling and
    transient errors with backoff; the store adds its own bounded retry on top for reads.

    A local endpoint (dynalite, moto_server) does not check credentials: when none are configured, dummy
    ones are used, so the default chain never reaches for the EC2 metadata service."""
    config = Config(
        region_name=target.region,
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=timeout,
        read_timeout=timeout,
    )
    credentials: dict[str, str] = {}
    if target.endpoint and not os.environ.get("AWS_ACCESS_KEY_ID"):
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    try:
        client: DynamoDBClient = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=target.endpoint,
            config=config,
            **credentials,  # type: ignore[call-overload]
        )
    except BotoCoreError as exc:  # e.g. an invalid region or endpoint: no client, so no state store
        raise RepositoryError(f"DynamoDB {target.describe()}: {describe_error(exc)}") from exc
    return client


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def describe_error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{error_code(exc)}: {message}" if message else error_code(exc)
    return f"{type(exc).__name__}: {exc}"
