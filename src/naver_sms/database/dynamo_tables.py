"""The production tables on a DynamoDB endpoint (`naver-sms db init`): `sms` = booking_num (HASH) + phone
(RANGE), `session` = id (HASH) - the legacy key schemas."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from naver_sms.database.dynamo_target import (
    DynamoDBClient,
    DynamoTarget,
    describe_error,
    error_code,
    make_client,
)
from naver_sms.errors import RepositoryError
from naver_sms.retry import Sleep


def table_definitions(target: DynamoTarget) -> list[dict[str, Any]]:
    """The production key schemas: `sms` = booking_num (HASH) + phone (RANGE); `session` = id (HASH)."""
    return [
        {
            "TableName": target.sms_table,
            "KeySchema": [
                {"AttributeName": "booking_num", "KeyType": "HASH"},
                {"AttributeName": "phone", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "booking_num", "AttributeType": "S"},
                {"AttributeName": "phone", "AttributeType": "S"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            "TableName": target.session_table,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    ]


def create_tables(
    target: DynamoTarget,
    *,
    client: DynamoDBClient | None = None,
    wait_seconds: float = 60.0,
    sleep: Sleep = time.sleep,
) -> list[str]:
    """Create the `sms` and `session` tables unless they exist, and wait until they are ACTIVE.

    Returns the names of the tables it created (empty when both existed: idempotent)."""
    client = client if client is not None else make_client(target)
    created: list[str] = []
    try:
        for definition in table_definitions(target):
            try:
                client.create_table(**definition)
                created.append(definition["TableName"])
            except ClientError as exc:
                if error_code(exc) not in ("ResourceInUseException", "TableAlreadyExistsException"):
                    raise
        for definition in table_definitions(target):
            _wait_active(client, definition["TableName"], wait_seconds, sleep)
    except (ClientError, BotoCoreError) as exc:
        where = target.endpoint or f"AWS {target.region}"
        raise RepositoryError(f"cannot create DynamoDB tables on {where}: {describe_error(exc)}") from exc
    return created


def _wait_active(client: DynamoDBClient, table: str, wait_seconds: float, sleep: Sleep) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        status = client.describe_table(TableName=table)["Table"].get("TableStatus")
        if status == "ACTIVE":
            return
        if time.monotonic() > deadline:
            raise RepositoryError(f"DynamoDB table {table} is still {status} after {wait_seconds:.0f}s")
        sleep(0.2)
