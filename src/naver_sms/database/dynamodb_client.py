"""DynamoDB: the production backend. Tables `sms` and `session`, schemas unchanged from legacy.

This module implements only the `RecordStore` primitives; the flag state machine lives once in
`repositories.FlagRepository` (docs/database.md):

- `get_items`: BatchGetItem, strongly consistent, at most 100 keys per call (the API's limit).
  Unprocessed keys and throttling are retried with exponential backoff and full jitter, a bounded number
  of times; a key that still cannot be read is reported in `errors` - never taken for "not in the
  database" (legacy-behaviour.md §7: the legacy job overwrote the record and re-sent the confirmation).
- `put_if_absent`: PutItem with `attribute_not_exists(booking_num)`.
- `update_if`: one UpdateItem whose ConditionExpression is `attribute_exists(booking_num)` plus the
  `Expect` conditions; every attribute name goes through ExpressionAttributeNames (`name` is a DynamoDB
  reserved word). A failed condition returns None, or raises `RecordMissing` when the row does not exist.

Items come out exactly as SQLite gives them: numbers as `int` (or `float` when they have a fraction),
booleans stay BOOL, strings S - so a legacy reader still understands every row.

Every botocore error is translated into the package's error tree (`naver_sms.errors`).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from naver_sms.database.repositories import (
    LOGIN_PAUSE_ID,
    Absent,
    AbsentOrLt,
    Eq,
    Expect,
    FlagRepository,
    LoginPause,
    Lt,
    NotTrue,
    RecordKey,
    matches,
)
from naver_sms.errors import ConfigError, RecordMissing, RepositoryError, did_you_mean

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

__all__ = [
    "BATCH_GET_LIMIT",
    "DynamoRecordStore",
    "DynamoRepository",
    "DynamoSessionRepository",
    "DynamoTarget",
    "create_tables",
    "is_dynamo_url",
    "make_client",
    "open_dynamodb",
]

#: BatchGetItem takes at most 100 keys per call (DynamoDB API limit).
BATCH_GET_LIMIT = 100

#: Error codes that mean "not applied, try again later". Throttled requests are never applied, so
#: retrying them is safe for conditional writes too.
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
    }
)
#: Server-side failures worth retrying for reads (a read has no side effect).
TRANSIENT_READ_CODES = THROTTLING_CODES | {"InternalServerError", "ServiceUnavailable", "InternalFailure"}

_SCHEME = "dynamodb"
_DEFAULT_REGION = "ap-northeast-2"
_TARGET_PARAMS = ("endpoint", "sms_table", "session_table")

Sleep = Callable[[float], None]


# --- the target: where the tables are --------------------------------------------------------------------


def is_dynamo_url(value: str) -> bool:
    """True for a `dynamodb://...` target (the `--db` option takes either this or a SQLite path)."""
    return value.strip().lower().startswith(_SCHEME + "://")


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
        raise RepositoryError(f"DynamoDB {target.describe()}: {_describe(exc)}") from exc
    return client


# --- attribute values ------------------------------------------------------------------------------------


def to_attr(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value. bool is tested before int (bool is an int)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    raise RepositoryError(f"cannot store a {type(value).__name__} in DynamoDB")


def _number(text: str) -> int | float:
    """DynamoDB numbers come back as strings (boto3's resource layer would give Decimal): `int` when
    integral, as SQLite's JSON gives them, else `float`."""
    if any(c in text for c in ".eE"):
        value = float(text)
        return int(value) if value.is_integer() and "." not in text else value
    return int(text)


def from_attr(attr: Mapping[str, Any]) -> Any:
    kind, value = next(iter(attr.items()))
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "B":
        return bytes(value)
    if kind == "SS":
        return sorted(value)
    if kind == "NS":
        return sorted(_number(v) for v in value)
    if kind == "BS":
        return sorted(bytes(v) for v in value)
    raise RepositoryError(f"unknown DynamoDB attribute type {kind!r}")


def to_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_attr(value) for name, value in item.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: from_attr(value) for name, value in item.items()}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{_code(exc)}: {message}" if message else _code(exc)
    return f"{type(exc).__name__}: {exc}"


# --- conditional update expressions ----------------------------------------------------------------------


class _Expression:
    """Builds an UpdateExpression/ConditionExpression with a placeholder for every name and value, so
    reserved words (`name`, `phone`...) and any custom flag name are safe."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, str] = {}

    def name(self, attr: str) -> str:
        if attr not in self._by_name:
            placeholder = f"#n{len(self._by_name)}"
            self._by_name[attr] = placeholder
            self.names[placeholder] = attr
        return self._by_name[attr]

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_attr(value)
        return placeholder

    def condition(self, attr: str, cond: Expect) -> str:
        n = self.name(attr)
        if isinstance(cond, Absent):
            return f"attribute_not_exists({n})"
        if isinstance(cond, Eq):
            # DynamoDB's `=` is false across types (N vs S vs BOOL), like `matches()`.
            return f"{n} = {self.value(cond.value)}"
        if isinstance(cond, NotTrue):
            return f"(attribute_not_exists({n}) OR {n} <> {self.value(True)})"
        if isinstance(cond, Lt):
            # `<` against a number is false when the attribute is absent or not a number.
            return f"{n} < {self.value(cond.value)}"
        if isinstance(cond, AbsentOrLt):
            return f"(attribute_not_exists({n}) OR {n} < {self.value(cond.value)})"
        raise TypeError(f"unknown condition {cond!r}")


# --- the store -------------------------------------------------------------------------------------------


class DynamoRecordStore:
    """The `RecordStore` primitives on a DynamoDB `sms` table (partition key `booking_num`, sort key `phone`).

    `max_retries` bounds the store's own retries (unprocessed keys, throttling) per batch; each waits
    `base_delay * 2**n` at most `max_delay`, with full jitter, through the injectable `sleep`.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table: str = "sms",
        *,
        max_retries: int = 5,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self._rng = rng or random.Random()

    @classmethod
    def for_target(cls, target: DynamoTarget, **kwargs: Any) -> DynamoRecordStore:
        return cls(make_client(target), target.sms_table, **kwargs)

    def _backoff(self, retry: int) -> None:
        """Exponential backoff with full jitter (retry = 0, 1, ...)."""
        cap = min(self.max_delay, self.base_delay * (2**retry))
        self.sleep(self._rng.uniform(0, cap))

    @staticmethod
    def _key(key: RecordKey) -> dict[str, Any]:
        return {"booking_num": {"S": key[0]}, "phone": {"S": key[1]}}

    # reads

    def get_items(
        self, keys: Sequence[RecordKey]
    ) -> tuple[dict[RecordKey, dict[str, Any]], dict[RecordKey, str], int]:
        found: dict[RecordKey, dict[str, Any]] = {}
        errors: dict[RecordKey, str] = {}
        calls = 0
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            chunk = unique[start : start + BATCH_GET_LIMIT]
            calls += self._get_batch(chunk, found, errors)
        return found, errors, calls

    def _get_batch(
        self, chunk: Sequence[RecordKey], found: dict[RecordKey, dict[str, Any]], errors: dict[RecordKey, str]
    ) -> int:
        """Read one batch of at most 100 keys; returns the number of BatchGetItem calls it took."""
        pending: list[dict[str, Any]] = [self._key(k) for k in chunk]
        calls = 0
        retries = 0
        last_problem = ""
        while pending:
            if retries > self.max_retries:
                for raw in pending:
                    errors[(raw["booking_num"]["S"], raw["phone"]["S"])] = (
                        f"DynamoDB read failed after {self.max_retries} retries: {last_problem}"
                    )
                return calls
            if retries:
                self._backoff(retries - 1)
            calls += 1
            try:
                response = self.client.batch_get_item(
                    RequestItems={self.table: {"Keys": pending, "ConsistentRead": True}}
                )
            except ClientError as exc:
                last_problem = _describe(exc)
                if _code(exc) in TRANSIENT_READ_CODES:
                    retries += 1
                    continue
                for raw in pending:  # not retryable (missing table, access denied, validation...)
                    errors[(raw["booking_num"]["S"], raw["phone"]["S"])] = (
                        f"DynamoDB read failed: {last_problem}"
                    )
                return calls
            except BotoCoreError as exc:  # connection errors, after botocore's own retries
                last_problem = _describe(exc)
                retries += 1
                continue
            for raw_item in response.get("Responses", {}).get(self.table, []):
                item = from_item(raw_item)
                found[(str(item["booking_num"]), str(item["phone"]))] = item
            unprocessed: Mapping[str, Any] = response.get("UnprocessedKeys", {}).get(self.table, {})
            pending = list(unprocessed.get("Keys", []))
            if pending:
                last_problem = f"{len(pending)} keys left unprocessed"
                retries += 1
        return calls

    def get_item(self, key: RecordKey) -> dict[str, Any] | None:
        """One strongly consistent read (used after a failed condition, to tell "missing" from "refused")."""
        response = self._call("get_item", TableName=self.table, Key=self._key(key), ConsistentRead=True)
        raw = response.get("Item")
        return from_item(raw) if raw else None

    def scan_items(self, limit: int | None = None) -> Iterable[dict[str, Any]]:
        """Every row, sorted by booking_num like SQLite (operator tools only; never on a run's hot path)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            response = self._call("scan", **kwargs)
            items.extend(from_item(i) for i in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last or (limit is not None and len(items) >= limit):
                break
            kwargs["ExclusiveStartKey"] = last
        items.sort(key=lambda i: (str(i.get("booking_num")), str(i.get("phone"))))
        return items[:limit] if limit is not None else items

    # writes

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        try:
            self._call(
                "put_item",
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": "booking_num"},
            )
        except _ConditionFailed:
            return False
        return True

    def update_if(
        self,
        key: RecordKey,
        *,
        expect: Mapping[str, Expect],
        set_: Mapping[str, Any],
        remove: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        if not set_ and not remove:
            # Nothing to write: a consistent read answers the condition (no atomicity needed).
            current = self.get_item(key)
            if current is None:
                raise RecordMissing(f"{key[0]}: no record")
            return current if matches(current, expect) else None
        ex = _Expression()
        conditions = [f"attribute_exists({ex.name('booking_num')})"]
        conditions += [ex.condition(name, cond) for name, cond in expect.items()]
        clauses = []
        if set_:
            clauses.append("SET " + ", ".join(f"{ex.name(n)} = {ex.value(v)}" for n, v in set_.items()))
        if remove:
            clauses.append("REMOVE " + ", ".join(ex.name(n) for n in remove))
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(key),
            "UpdateExpression": " ".join(clauses),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": ex.names,
            "ReturnValues": "ALL_NEW",
        }
        if ex.values:
            kwargs["ExpressionAttributeValues"] = ex.values
        try:
            response = self._call("update_item", **kwargs)
        except _ConditionFailed:
            if self.get_item(key) is None:
                raise RecordMissing(f"{key[0]}: no record") from None
            return None
        return from_item(response.get("Attributes", {}))

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, throttling retried (a throttled request was not applied), errors translated."""
        retries = 0
        while True:
            try:
                result: dict[str, Any] = getattr(self.client, operation)(**kwargs)
                return result
            except ClientError as exc:
                code = _code(exc)
                if code == "ConditionalCheckFailedException":
                    raise _ConditionFailed() from exc
                if code in THROTTLING_CODES and retries < self.max_retries:
                    self._backoff(retries)
                    retries += 1
                    continue
                raise RepositoryError(
                    f"DynamoDB {operation} on {kwargs.get('TableName')}: {_describe(exc)}"
                ) from exc
            except BotoCoreError as exc:
                raise RepositoryError(
                    f"DynamoDB {operation} on {kwargs.get('TableName')}: {_describe(exc)}"
                ) from exc


class _ConditionFailed(Exception):
    """Internal: a ConditionExpression did not hold."""


# --- repositories ----------------------------------------------------------------------------------------


class DynamoRepository(FlagRepository):
    """The booking repository on DynamoDB (table `target.sms_table`)."""

    def __init__(
        self,
        target: DynamoTarget,
        *,
        max_attempts: int = 3,
        client: DynamoDBClient | None = None,
        **store_options: Any,
    ) -> None:
        self.target = target
        self.client = client if client is not None else make_client(target)
        super().__init__(
            DynamoRecordStore(self.client, target.sms_table, **store_options), max_attempts=max_attempts
        )


class DynamoSessionRepository:
    """The `session` table: item `id = "1"`, `cookies` = JSON string of the browser's cookie list
    (legacy-behaviour.md §1)."""

    ITEM_ID = "1"

    def __init__(self, target: DynamoTarget, *, client: DynamoDBClient | None = None) -> None:
        self.target = target
        self.client = client if client is not None else make_client(target)
        self.table = target.session_table

    def _translate(self, operation: str, exc: Exception) -> RepositoryError:
        return RepositoryError(f"DynamoDB {operation} on {self.table}: {_describe(exc)}")

    def load_cookies(self) -> list[dict[str, Any]] | None:
        try:
            response = self.client.get_item(
                TableName=self.table, Key={"id": {"S": self.ITEM_ID}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("get_item", exc) from exc
        raw = response.get("Item", {}).get("cookies", {}).get("S")
        if raw is None:
            return None
        try:
            cookies = json.loads(raw)
        except ValueError:
            return None  # unreadable cache: log in again, as if there were none
        return cookies if isinstance(cookies, list) else None

    def save_cookies(self, cookies: Sequence[Mapping[str, Any]]) -> None:
        text = json.dumps([dict(c) for c in cookies], ensure_ascii=False)
        try:
            self.client.put_item(
                TableName=self.table, Item={"id": {"S": self.ITEM_ID}, "cookies": {"S": text}}
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("put_item", exc) from exc

    def clear_cookies(self) -> None:
        self._delete(self.ITEM_ID)

    # The pause: item `id = "login_pause"`, attribute `pause` = its JSON (an item added beside legacy's).

    def load_login_pause(self) -> LoginPause | None:
        try:
            response = self.client.get_item(
                TableName=self.table, Key={"id": {"S": LOGIN_PAUSE_ID}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("get_item", exc) from exc
        raw = response.get("Item", {}).get("pause", {}).get("S")
        return None if raw is None else LoginPause.from_json(raw)

    def save_login_pause(self, pause: LoginPause) -> None:
        try:
            self.client.put_item(
                TableName=self.table, Item={"id": {"S": LOGIN_PAUSE_ID}, "pause": {"S": pause.to_json()}}
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("put_item", exc) from exc

    def clear_login_pause(self) -> None:
        self._delete(LOGIN_PAUSE_ID)

    def _delete(self, item_id: str) -> None:
        try:
            self.client.delete_item(TableName=self.table, Key={"id": {"S": item_id}})
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("delete_item", exc) from exc


def open_dynamodb(
    target: DynamoTarget, *, max_attempts: int = 3, **store_options: Any
) -> tuple[DynamoRepository, DynamoSessionRepository]:
    """Both repositories of a target, sharing one client."""
    client = make_client(target)
    return (
        DynamoRepository(target, max_attempts=max_attempts, client=client, **store_options),
        DynamoSessionRepository(target, client=client),
    )


# --- tables ----------------------------------------------------------------------------------------------


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
                if _code(exc) not in ("ResourceInUseException", "TableAlreadyExistsException"):
                    raise
        for definition in table_definitions(target):
            _wait_active(client, definition["TableName"], wait_seconds, sleep)
    except (ClientError, BotoCoreError) as exc:
        where = target.endpoint or f"AWS {target.region}"
        raise RepositoryError(f"cannot create DynamoDB tables on {where}: {_describe(exc)}") from exc
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
