"""The run log and the period claims on DynamoDB: new item kinds in the `session` table (hash key `id`), so
no table is added and the legacy items keep theirs (docs/database.md, "Periods and runs"):

    period:<name>#<period>   a period claim: the row walked by the flag state machine (flag `posted`)
    run:<run_id>             one finished run: `summary` and `counters` (JSON text), `day`, `started_at`
    runs:<YYYY-MM-DD>        the day's index: `runs` (run ids, appended) and one number per counter
                             (`c:<kind>|<store>|<type>|<status>`, added atomically) - the day's totals
    runs:last                the latest run (its summary), for `naver-sms status`

Every write is one call: a run is three (its item, the day's index, the latest), none on a run's hot path.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from naver_sms.database.dynamo_items import from_item, to_item
from naver_sms.database.dynamo_target import DynamoDBClient, describe_error, error_code
from naver_sms.database.dynamodb_client import DynamoRecordStore
from naver_sms.errors import RepositoryError
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.store import RecordKey
from naver_sms.ports import RunRecord

_PERIOD = "period:"
_COUNTER = "c:"


class DynamoPeriodStore(DynamoRecordStore):
    """The period claims as `RecordStore` items of the session table: `id` = `<name>#<period>`, and the
    record's own `booking_num` (`period:<name>`) and `phone` (the period key) as attributes."""

    def _key(self, key: RecordKey) -> dict[str, Any]:
        return {"id": {"S": f"{key[0]}#{key[1]}"}}

    def _record_key(self, key: Mapping[str, Any]) -> RecordKey:
        name, _, period = str(key["id"]["S"]).partition("#")
        return (name, period)

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        return super().put_if_absent({"id": f"{item['booking_num']}#{item['phone']}", **item})

    def scan_items(self, limit: int | None = None) -> Iterable[dict[str, Any]]:
        periods = [i for i in super().scan_items() if str(i.get("id", "")).startswith(_PERIOD)]
        return periods[:limit] if limit is not None else periods


def dynamo_periods(client: DynamoDBClient, table: str, *, max_attempts: int = 3) -> FlagRepository:
    return FlagRepository(DynamoPeriodStore(client, table), max_attempts=max_attempts)


class DynamoRunLog:
    """`RunLog` on the session table (see the module's docstring)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table
        self._items = _SessionItems(client, table)

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self.client, operation)(TableName=self.table, **kwargs)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise
            raise RepositoryError(f"DynamoDB {operation} on {self.table}: {describe_error(exc)}") from exc
        except BotoCoreError as exc:
            raise RepositoryError(f"DynamoDB {operation} on {self.table}: {describe_error(exc)}") from exc
        return result

    @staticmethod
    def _item(run: RunRecord) -> dict[str, Any]:
        return {
            "run_id": run.run_id,
            "day": run.day,
            "started_at": run.started_at,
            "summary": json.dumps(dict(run.summary), ensure_ascii=False),
            "counters": json.dumps(dict(run.counters), ensure_ascii=False),
        }

    def record(self, run: RunRecord) -> None:
        item = self._item(run)
        try:
            self._call(
                "put_item",
                Item=to_item({"id": f"run:{run.run_id}", **item}),
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": "id"},
            )
        except ClientError:  # recorded already (a retried hook): keep the first, count nothing twice
            return
        names = {"#runs": "runs"}
        values: dict[str, Any] = {":run": {"L": [{"S": run.run_id}]}, ":none": {"L": []}}
        adds = []
        for i, (counter, n) in enumerate(sorted(run.counters.items())):
            names[f"#c{i}"] = _COUNTER + counter
            values[f":n{i}"] = {"N": str(int(n))}
            adds.append(f"#c{i} :n{i}")
        update = "SET #runs = list_append(if_not_exists(#runs, :none), :run)"
        self._call(
            "update_item",
            Key={"id": {"S": f"runs:{run.day}"}},
            UpdateExpression=update + (" ADD " + ", ".join(adds) if adds else ""),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        # the latest run: never replaced by an older one that finished later (a failed condition)
        with contextlib.suppress(ClientError):
            self._call(
                "put_item",
                Item=to_item({"id": "runs:last", **item}),
                ConditionExpression="attribute_not_exists(#s) OR #s < :s",
                ExpressionAttributeNames={"#s": "started_at"},
                ExpressionAttributeValues={":s": {"S": run.started_at}},
            )

    def last(self) -> RunRecord | None:
        raw = self._call("get_item", Key={"id": {"S": "runs:last"}}, ConsistentRead=True).get("Item")
        return _run_of(from_item(raw)) if raw else None

    def runs_on(self, day: str) -> list[RunRecord]:
        raw = self._call("get_item", Key={"id": {"S": f"runs:{day}"}}, ConsistentRead=True).get("Item")
        ids = [str(i) for i in from_item(raw).get("runs", [])] if raw else []
        runs = [r for item in self._batch_get([f"run:{i}" for i in ids]) if (r := _run_of(item))]
        return sorted(runs, key=lambda r: (r.started_at, r.run_id))

    def day_totals(self, days: Sequence[str]) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        for item in self._batch_get([f"runs:{d}" for d in days]):
            counters = {k.removeprefix(_COUNTER): int(v) for k, v in item.items() if k.startswith(_COUNTER)}
            totals[str(item["id"]).removeprefix("runs:")] = counters
        return totals

    def _batch_get(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Consistent batched reads of session items (the store's batches, retries and backoff)."""
        items, errors, _ = self._items.get_items([(i, "") for i in dict.fromkeys(ids)])
        if errors:
            raise RepositoryError(next(iter(errors.values())))
        return list(items.values())


class _SessionItems(DynamoRecordStore):
    """Batched reads of session items by `id` (record key `(id, "")`)."""

    def _key(self, key: RecordKey) -> dict[str, Any]:
        return {"id": {"S": key[0]}}

    def _record_key(self, key: Mapping[str, Any]) -> RecordKey:
        return (str(key["id"]["S"]), "")


def _run_of(item: Mapping[str, Any]) -> RunRecord | None:
    try:
        return RunRecord(
            str(item["run_id"]),
            str(item["day"]),
            str(item["started_at"]),
            json.loads(str(item["summary"])),
            json.loads(str(item.get("counters") or "{}")),
        )
    except (KeyError, ValueError):  # a damaged item hides nothing else
        return None
