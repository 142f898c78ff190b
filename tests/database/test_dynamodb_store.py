"""DynamoDB-specific behaviour of the record store: batching, retries, read errors, targets, tables.

Unit stories use botocore's Stubber (no server); the others run against moto_server and dynalite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from naver_sms.config.settings import is_dynamo_url
from naver_sms.database.dynamo_tables import create_tables
from naver_sms.database.dynamo_target import DynamoTarget, make_client
from naver_sms.database.dynamodb_client import (
    DynamoRecordStore,
    DynamoRepository,
    DynamoSessionRepository,
    open_dynamodb,
)
from naver_sms.domain.booking import BookingRecord
from naver_sms.errors import ConfigError, RecordReadError, RepositoryError
from naver_sms.flags.store import Eq
from tests.standins.dynamo import DYNAMO_BACKENDS, new_target

TABLE = "sms"


def key(n: int) -> tuple[str, str]:
    return (f"900001_{n}", f"010-0000-{n:04d}")


def raw_key(n: int) -> dict[str, Any]:
    return {"booking_num": {"S": key(n)[0]}, "phone": {"S": key(n)[1]}}


def raw_item(n: int) -> dict[str, Any]:
    return {
        **raw_key(n),
        "name": {"S": "홍길동"},
        "confirm_sms": {"BOOL": True},
        "remind_sms_attempts": {"N": "2"},
    }


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoRecordStore, Stubber, Sleeps]]:
    client = boto3.client(
        "dynamodb", region_name="ap-northeast-2", aws_access_key_id="local", aws_secret_access_key="local"
    )
    sleeps = Sleeps()
    # a Stubber answers in the order it is called: its stories read one batch at a time
    store = DynamoRecordStore(
        client, TABLE, max_retries=2, base_delay=0.1, max_delay=1.0, sleep=sleeps, read_concurrency=1
    )
    with Stubber(client) as stubber:
        yield store, stubber, sleeps
        stubber.assert_no_pending_responses()


def batch_response(found: list[int], unprocessed: list[int] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    response: dict[str, Any] = {"Responses": {TABLE: [raw_item(n) for n in found]}}
    if unprocessed:
        response["UnprocessedKeys"] = {
            TABLE: {"Keys": [raw_key(n) for n in unprocessed], "ConsistentRead": True}
        }
    return response


# --- batched reads (unit) ---


def test_unprocessed_keys_are_read_again_after_a_jittered_backoff(stubbed: Any) -> None:
    store, stubber, sleeps = stubbed
    # GIVEN DynamoDB leaves one key of three unprocessed on the first call
    stubber.add_response("batch_get_item", batch_response([1, 2], unprocessed=[3]))
    stubber.add_response(
        "batch_get_item",
        batch_response([3]),
        {"RequestItems": {TABLE: {"Keys": [raw_key(3)], "ConsistentRead": True}}},
    )
    # WHEN the three are read
    found, errors, calls = store.get_items([key(1), key(2), key(3)])
    # THEN the unprocessed key is asked again, alone, after one backoff within the first step's cap
    assert set(found) == {key(1), key(2), key(3)}
    assert (errors, calls) == ({}, 2)
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.1


def test_keys_still_unprocessed_after_the_bound_are_errors_never_absent(stubbed: Any) -> None:
    store, stubber, sleeps = stubbed
    # GIVEN DynamoDB never processes key 2 (max_retries = 2)
    stubber.add_response("batch_get_item", batch_response([1], unprocessed=[2]))
    for _ in range(2):
        stubber.add_response("batch_get_item", batch_response([], unprocessed=[2]))
    # WHEN both are read
    found, errors, calls = store.get_items([key(1), key(2)])
    # THEN key 2 is reported as a read error (so its booking is skipped), not missing from the table
    assert set(found) == {key(1)}
    assert set(errors) == {key(2)} and "unprocessed" in errors[key(2)]
    assert calls == 3
    assert len(sleeps) == 2 and all(0 <= s <= 1.0 for s in sleeps)


def test_a_throttled_batch_is_retried(stubbed: Any) -> None:
    store, stubber, sleeps = stubbed
    # GIVEN the first call is throttled
    stubber.add_client_error("batch_get_item", "ProvisionedThroughputExceededException", http_status_code=400)
    stubber.add_response("batch_get_item", batch_response([1]))
    # WHEN the key is read THEN it is found on the second call
    found, errors, calls = store.get_items([key(1)])
    assert (set(found), errors, calls, len(sleeps)) == ({key(1)}, {}, 2, 1)


def test_a_read_that_keeps_failing_reports_its_keys_as_errors(stubbed: Any) -> None:
    store, stubber, _ = stubbed
    # GIVEN the first batch of 100 reads fine and the second is refused (not retryable)
    stubber.add_response("batch_get_item", batch_response(list(range(100))))
    stubber.add_client_error("batch_get_item", "AccessDeniedException", "no dynamodb:BatchGetItem")
    # WHEN 150 keys are read
    found, errors, calls = store.get_items([key(n) for n in range(150)])
    # THEN the first 100 are found, the other 50 are errors naming the cause, in two calls
    assert set(found) == {key(n) for n in range(100)}
    assert set(errors) == {key(n) for n in range(100, 150)}
    assert "AccessDeniedException" in errors[key(120)]
    assert calls == 2


def test_items_come_out_as_plain_python_values(stubbed: Any) -> None:
    store, stubber, _ = stubbed
    # GIVEN a stored row with a number attribute
    stubber.add_response("batch_get_item", batch_response([1]))
    # WHEN it is read THEN the number is an int, as SQLite gives it
    found, _, _ = store.get_items([key(1)])
    assert found[key(1)]["remind_sms_attempts"] == 2
    assert type(found[key(1)]["remind_sms_attempts"]) is int


class RecordingClient:
    """Records the keyword arguments of update_item and accepts it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"Attributes": raw_item(1)}


def test_a_conditional_update_names_every_attribute_through_placeholders() -> None:
    # GIVEN a store whose client records its calls
    client = RecordingClient()
    store = DynamoRecordStore(client, TABLE)  # type: ignore[arg-type]
    # WHEN a reserved word (`name`) is both a condition and a target, and another attribute is removed
    store.update_if(key(1), expect={"name": Eq("홍길동")}, set_={"name": "김철수"}, remove=["option_time"])
    # THEN the expressions hold placeholders only, the row must exist, and the new item is asked back
    (call,) = client.calls
    assert set(call["ExpressionAttributeNames"].values()) == {"booking_num", "name", "option_time"}
    for expression in (call["UpdateExpression"], call["ConditionExpression"]):
        assert not re.search(
            r"\b(name|option_time|booking_num)\b", expression.replace("attribute_exists", "")
        )
    assert call["ConditionExpression"].startswith("attribute_exists(#n0) AND ")
    assert call["ReturnValues"] == "ALL_NEW"


# --- read errors against the stand-ins ---


@pytest.mark.parametrize("stand_in", DYNAMO_BACKENDS)
def test_a_read_error_is_never_taken_for_a_missing_record(
    stand_in: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN a store pointed at a table that does not exist
    endpoint = request.getfixturevalue(f"{stand_in}_endpoint")
    target = new_target(endpoint, create=False)
    repo = DynamoRepository(target, max_retries=1, sleep=lambda _: None)
    # WHEN bookings are loaded
    result = repo.load([key(1), key(2)])
    # THEN each is an error, none is "not in the database", and a single get raises
    assert result.records == {}
    assert set(result.errors) == {key(1), key(2)}
    with pytest.raises(RecordReadError):
        repo.get(key(1))


@pytest.mark.parametrize("stand_in", DYNAMO_BACKENDS)
def test_a_write_error_is_a_repository_error(stand_in: str, request: pytest.FixtureRequest) -> None:
    # GIVEN a store pointed at a table that does not exist
    target = new_target(request.getfixturevalue(f"{stand_in}_endpoint"), create=False)
    repo = DynamoRepository(target)
    # WHEN a record is created THEN the botocore error comes out translated
    with pytest.raises(RepositoryError) as failed:
        repo.create(BookingRecord(*key(1)))
    assert isinstance(failed.value.__cause__, Exception)
    assert "ResourceNotFoundException" in str(failed.value)


# --- targets ---


def test_a_bare_target_is_production() -> None:
    assert DynamoTarget.parse("dynamodb://") == DynamoTarget("ap-northeast-2", None, "sms", "session")


def test_a_full_target_url_sets_every_part_and_round_trips() -> None:
    url = "dynamodb://us-east-1?endpoint=http://127.0.0.1:8000&sms_table=sms-dev&session_table=session-dev"
    target = DynamoTarget.parse(url)
    assert target == DynamoTarget("us-east-1", "http://127.0.0.1:8000", "sms-dev", "session-dev")
    assert DynamoTarget.parse(target.url()) == target


def test_an_unknown_target_parameter_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as bad:
        DynamoTarget.parse("dynamodb://?sms_tabel=x")
    assert bad.value.suggestion == "sms_table"


def test_a_sqlite_path_is_not_a_dynamo_target() -> None:
    assert not is_dynamo_url("var/naver-sms.sqlite3")
    assert is_dynamo_url("dynamodb://ap-northeast-2")
    with pytest.raises(ConfigError):
        DynamoTarget.parse("var/naver-sms.sqlite3")


# --- tables and the session item ---


@pytest.mark.parametrize("stand_in", DYNAMO_BACKENDS)
def test_create_tables_uses_the_production_key_schema_and_is_idempotent(
    stand_in: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN an endpoint without the tables
    target = new_target(request.getfixturevalue(f"{stand_in}_endpoint"), create=False)
    # WHEN the tables are created twice
    first, second = create_tables(target), create_tables(target)
    # THEN the first call created both, the second none, with the legacy key schemas
    assert (first, second) == ([target.sms_table, target.session_table], [])
    client = make_client(target)
    sms = client.describe_table(TableName=target.sms_table)["Table"]
    session = client.describe_table(TableName=target.session_table)["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in sms["KeySchema"]] == [
        ("booking_num", "HASH"),
        ("phone", "RANGE"),
    ]
    assert [(k["AttributeName"], k["KeyType"]) for k in session["KeySchema"]] == [("id", "HASH")]


@pytest.mark.parametrize("stand_in", DYNAMO_BACKENDS)
def test_the_session_item_keeps_the_legacy_shape(
    stand_in: str, dynamo_target: Callable[[str], DynamoTarget]
) -> None:
    # GIVEN cookies saved by the session repository
    target = dynamo_target(stand_in)
    DynamoSessionRepository(target).save_cookies([{"name": "NID_SES", "value": "synthetic"}])
    # WHEN the raw item is read THEN it is id "1" with cookies as a JSON string, as the legacy job wrote it
    raw = make_client(target).get_item(TableName=target.session_table, Key={"id": {"S": "1"}})["Item"]
    assert set(raw) == {"id", "cookies"}
    assert json.loads(raw["cookies"]["S"]) == [{"name": "NID_SES", "value": "synthetic"}]


@pytest.mark.parametrize("stand_in", DYNAMO_BACKENDS)
def test_the_batches_of_one_read_run_at_once_and_give_what_one_at_a_time_gives(
    stand_in: str, dynamo_target: Callable[[str], DynamoTarget]
) -> None:
    # GIVEN 300 rows, and 450 keys to read (5 batches: 150 keys have no row)
    repo, _ = open_dynamodb(dynamo_target(stand_in))
    for n in range(0, 450, 3):
        repo.create(BookingRecord(*key(n)))
        repo.create(BookingRecord(*key(n + 1)))
    keys = [key(n) for n in range(450)]
    # WHEN read 4 batches at a time, and one at a time
    parallel = DynamoRecordStore(repo.client, repo.target.sms_table, read_concurrency=4).get_items(keys)
    serial = DynamoRecordStore(repo.client, repo.target.sms_table, read_concurrency=1).get_items(keys)
    # THEN the same rows, no errors, in 5 calls each
    assert parallel == serial
    found, errors, calls = parallel
    assert set(found) == {key(n) for n in range(450) if n % 3 != 2} and not errors and calls == 5


def test_a_target_describes_itself_for_humans() -> None:
    target = DynamoTarget.parse("dynamodb://ap-northeast-2?endpoint=http://127.0.0.1:8000")
    assert target.describe() == "http://127.0.0.1:8000 (region ap-northeast-2), tables sms/session"
    assert DynamoTarget().describe() == "AWS ap-northeast-2 (region ap-northeast-2), tables sms/session"


@pytest.mark.parametrize("stand_in", DYNAMO_BACKENDS)
def test_open_dynamodb_gives_both_repositories_on_one_client(
    stand_in: str, dynamo_target: Callable[[str], DynamoTarget]
) -> None:
    # GIVEN a target with tables WHEN it is opened
    repo, sessions = open_dynamodb(dynamo_target(stand_in), max_attempts=5)
    # THEN both repositories work and share a client
    assert repo.create(BookingRecord(*key(1))) is True
    sessions.save_cookies([])
    assert sessions.load_cookies() == []
    assert repo.client is sessions.client and repo.max_attempts == 5


def test_a_target_botocore_cannot_make_a_client_for_is_a_repository_error() -> None:
    # GIVEN a target whose region botocore refuses (no request is ever made)
    target = DynamoTarget.parse("dynamodb://bad region?endpoint=http://127.0.0.1:9")
    # WHEN its repositories are opened THEN the failure is the state store's, named, not botocore's
    with pytest.raises(RepositoryError, match=r"InvalidRegionError: .*'bad region'"):
        open_dynamodb(target)
