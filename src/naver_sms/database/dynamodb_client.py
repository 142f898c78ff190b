"""DynamoDB, the production backend (tables `sms` and `session`, legacy schemas; docs/database.md): the
`RecordStore` primitives and the session table. A key that still cannot be read after the bounded retries is a
read error, never "not in the database" (legacy-behaviour.md §7: the legacy job overwrote the record and
re-sent the confirmation). Items come out exactly as SQLite gives them, so a legacy reader understands every row.
`update_if(create=True)` is one UpdateItem that creates the row (attributes set with `if_not_exists`) and
claims its flag: a new booking's row and its first claim are one write; `returning=False` asks nothing back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from naver_sms.database.dynamo_items import Expression, from_item, to_item
from naver_sms.database.dynamo_target import (
    DynamoDBClient,
    DynamoTarget,
    describe_error,
    error_code,
    make_client,
)
from naver_sms.database.dynamo_wire import OPERATIONS, THROTTLING_CODES, DynamoWire
from naver_sms.database.sessions import SessionTable
from naver_sms.errors import RecordMissing, RepositoryError
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.store import Expect, RecordKey, matches
from naver_sms.logs import mask_bodies
from naver_sms.retry import Again, RetryPolicy, Sleep, retry_call

#: the loggers of botocore and urllib3 that write request or response bodies at DEBUG
SDK_BODY_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.hooks", "urllib3.connectionpool")

T = TypeVar("T")

#: BatchGetItem takes at most 100 keys per call (DynamoDB API limit).
BATCH_GET_LIMIT = 100
#: BatchGetItem calls of one read in flight at once (botocore's connection pool holds 10)
READ_CONCURRENCY = 4

#: Server-side failures worth retrying for reads (a read has no side effect).
TRANSIENT_READ_CODES = THROTTLING_CODES | {"InternalServerError", "ServiceUnavailable", "InternalFailure"}


class DynamoRecordStore:
    """`RecordStore` on the `sms` table; `max_retries` bounds its own retries (unprocessed keys, throttling).
    With a `wire` (database/dynamo_wire.py), its reads and writes go through it instead of the boto3 client:
    the same requests, answers and errors at a third of botocore's CPU per call."""

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
        read_concurrency: int = READ_CONCURRENCY,
        wire: DynamoWire | None = None,
    ) -> None:
        self.client = client
        self.wire = wire
        self.table = table
        self.max_retries = max_retries
        self.read_concurrency = read_concurrency
        self.sleep = sleep
        # "full jitter": each wait anywhere between zero and its ceiling
        self._retry = RetryPolicy(
            max_attempts=max_retries + 1,
            base_delay=base_delay,
            max_delay=max_delay,
            jitter=1.0,
            rng=rng or random.Random(),
        )

    def _key(self, key: RecordKey) -> dict[str, Any]:
        """The table's key of a record (a subclass keeps records in a table keyed otherwise)."""
        return {"booking_num": {"S": key[0]}, "phone": {"S": key[1]}}

    def _record_key(self, key: Mapping[str, Any]) -> RecordKey:
        """The record key of a table key or a whole item (`_key`'s inverse)."""
        return (key["booking_num"]["S"], key["phone"]["S"])

    def get_items(
        self, keys: Sequence[RecordKey]
    ) -> tuple[dict[RecordKey, dict[str, Any]], dict[RecordKey, str], int]:
        found: dict[RecordKey, dict[str, Any]] = {}
        errors: dict[RecordKey, str] = {}
        unique = list(dict.fromkeys(keys))
        chunks = [unique[start : start + BATCH_GET_LIMIT] for start in range(0, len(unique), BATCH_GET_LIMIT)]
        if len(chunks) <= 1 or self.read_concurrency <= 1:
            calls = sum(self._get_batch(chunk, found, errors) for chunk in chunks)
            return found, errors, calls
        # the batches of one read at once (issue 12): a store's 500 bookings are 5 round trips, not 5 in a row;
        # boto3 clients are thread-safe, and each batch fills dictionaries of its own
        parts: list[tuple[dict[RecordKey, dict[str, Any]], dict[RecordKey, str]]] = [({}, {}) for _ in chunks]
        workers = min(self.read_concurrency, len(chunks))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dynamo-read") as pool:
            counted = list(pool.map(lambda c, p: self._get_batch(c, *p), chunks, parts))
        for part_found, part_errors in parts:
            found.update(part_found)
            errors.update(part_errors)
        return found, errors, sum(counted)

    def _get_batch(
        self, chunk: Sequence[RecordKey], found: dict[RecordKey, dict[str, Any]], errors: dict[RecordKey, str]
    ) -> int:
        """Read one batch of at most 100 keys; returns the number of BatchGetItem calls it took."""
        pending: list[dict[str, Any]] = [self._key(k) for k in chunk]
        calls = 0

        def unread(problem: str) -> Callable[[int], _Unread]:
            return lambda tries: _Unread(f"DynamoDB read failed after {self.max_retries} retries: {problem}")

        def attempt() -> Again | None:
            nonlocal pending, calls
            calls += 1
            try:
                response = self._send(
                    "batch_get_item", RequestItems={self.table: {"Keys": pending, "ConsistentRead": True}}
                )
            except ClientError as exc:
                problem = describe_error(exc)
                if error_code(exc) in TRANSIENT_READ_CODES:
                    return Again(problem, unread(problem))
                # not retryable (missing table, access denied, validation...)
                raise _Unread(f"DynamoDB read failed: {problem}") from exc
            except BotoCoreError as exc:  # connection errors, after botocore's own retries
                problem = describe_error(exc)
                return Again(problem, unread(problem))
            for raw_item in response.get("Responses", {}).get(self.table, []):
                found[self._record_key(raw_item)] = from_item(raw_item)
            unprocessed: Mapping[str, Any] = response.get("UnprocessedKeys", {}).get(self.table, {})
            pending = list(unprocessed.get("Keys", []))
            if pending:
                problem = f"{len(pending)} keys left unprocessed"
                return Again(problem, unread(problem))
            return None

        try:
            retry_call(attempt, self._retry, sleep=self.sleep)
        except _Unread as failure:  # each key still pending is a read error: never "not in the database"
            for raw in pending:
                errors[self._record_key(raw)] = str(failure)
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
        create: Mapping[str, Any] | None = None,
        durable: bool = True,  # every DynamoDB write is durable when it is acknowledged
        returning: bool = True,
    ) -> dict[str, Any] | None:
        if not set_ and not remove:
            # Nothing to write: a consistent read answers the condition (no atomicity needed).
            current = self.get_item(key)
            if current is None:
                raise RecordMissing(f"{key[0]}: no record")
            return current if matches(current, expect) else None
        ex = Expression()
        # with `create`, UpdateItem makes the row when it is absent (the key from `Key`, the rest below)
        conditions = [] if create is not None else [f"attribute_exists({ex.name('booking_num')})"]
        conditions += [ex.condition(name, cond) for name, cond in expect.items()]
        assignments = [f"{ex.name(n)} = {ex.value(v)}" for n, v in set_.items()]
        if create is not None:
            assignments += [
                f"{ex.name(n)} = if_not_exists({ex.name(n)}, {ex.value(v)})"
                for n, v in create.items()
                if n not in ("booking_num", "phone") and n not in set_ and n not in remove
            ]
        clauses = []
        if assignments:
            clauses.append("SET " + ", ".join(assignments))
        if remove:
            clauses.append("REMOVE " + ", ".join(ex.name(n) for n in remove))
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(key),
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": ex.names,
            "ReturnValues": "ALL_NEW" if returning else "NONE",
        }
        if conditions:
            kwargs["ConditionExpression"] = " AND ".join(conditions)
        if ex.values:
            kwargs["ExpressionAttributeValues"] = ex.values
        try:
            response = self._call("update_item", **kwargs)
        except _ConditionFailed:
            if create is None and self.get_item(key) is None:
                raise RecordMissing(f"{key[0]}: no record") from None
            return None
        return from_item(response.get("Attributes", {})) if returning else {}

    def atomic(self, work: Callable[[], T]) -> T:
        """Every DynamoDB write is atomic on its own; the sandbox's outbox is another (in-memory) database."""
        return work()

    def _send(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        if self.wire is not None and operation in OPERATIONS:
            return self.wire.call(operation, **kwargs)
        result: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        return result

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, throttling retried (a throttled request was not applied), errors translated."""
        where = f"DynamoDB {operation} on {kwargs.get('TableName')}"

        def attempt() -> dict[str, Any] | Again:
            try:
                result = self._send(operation, **kwargs)
            except ClientError as exc:
                code = error_code(exc)
                if code == "ConditionalCheckFailedException":
                    raise _ConditionFailed() from exc
                failed = RepositoryError(f"{where}: {describe_error(exc)}")
                if code in THROTTLING_CODES:
                    return Again(code, lambda tries: failed, cause=exc)
                raise failed from exc
            except BotoCoreError as exc:
                raise RepositoryError(f"{where}: {describe_error(exc)}") from exc
            return result

        return retry_call(attempt, self._retry, sleep=self.sleep)


class _ConditionFailed(Exception):
    """Internal: a ConditionExpression did not hold."""


class _Unread(Exception):
    """Internal: keys of a batch that could not be read."""


class DynamoRepository(FlagRepository):
    """The booking repository on DynamoDB (table `target.sms_table`). Its rows are read and written through
    `DynamoWire` unless a `client` is given (a client made elsewhere may carry hooks, stubs or settings of its
    own: then every call is that client's)."""

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
        if client is None and "wire" not in store_options:
            sleep = store_options.get("sleep", time.sleep)
            store_options["wire"] = DynamoWire.of(self.client, sleep=sleep)
        super().__init__(
            DynamoRecordStore(self.client, target.sms_table, **store_options), max_attempts=max_attempts
        )


class DynamoSessionRepository(SessionTable):
    """The `session` table on DynamoDB (partition key `id`; each item's text in its own attribute)."""

    def __init__(self, target: DynamoTarget, *, client: DynamoDBClient | None = None) -> None:
        self.target = target
        self.client = client if client is not None else make_client(target)
        self.table = target.session_table

    def _failed(self, operation: str, exc: Exception) -> RepositoryError:
        return RepositoryError(f"DynamoDB {operation} on {self.table}: {describe_error(exc)}")

    def get_text(self, item_id: str, attribute: str) -> str | None:
        try:
            response = self.client.get_item(
                TableName=self.table, Key={"id": {"S": item_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("get_item", exc) from exc
        text = response.get("Item", {}).get(attribute, {}).get("S")
        return None if text is None else str(text)

    def put_text(self, item_id: str, attribute: str, text: str) -> None:
        try:
            self.client.put_item(TableName=self.table, Item={"id": {"S": item_id}, attribute: {"S": text}})
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("put_item", exc) from exc

    def delete(self, item_id: str) -> None:
        try:
            self.client.delete_item(TableName=self.table, Key={"id": {"S": item_id}})
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("delete_item", exc) from exc


def open_dynamodb(
    target: DynamoTarget, *, max_attempts: int = 3, client: DynamoDBClient | None = None, **store_options: Any
) -> tuple[DynamoRepository, DynamoSessionRepository]:
    """Both repositories of a target, sharing one client (`client`, or one made by `make_client` - and then the
    rows' calls on `DynamoWire`).

    botocore logs every request and response body at DEBUG - the rows' names and the session's cookies
    (phone numbers are masked for every logger): those loggers mask them from now on, whatever the level."""
    mask_bodies(*SDK_BODY_LOGGERS)
    repo = DynamoRepository(target, max_attempts=max_attempts, client=client, **store_options)
    return repo, DynamoSessionRepository(target, client=repo.client)
