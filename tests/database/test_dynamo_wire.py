"""database/dynamo_wire.py: DynamoDB's JSON protocol spoken without botocore's per-call pipeline - the same answers
and the same errors as boto3 (against moto_server and dynalite), signed requests, and botocore's retries (5xx,
a CRC32 mismatch, a refused connection) against a local server that answers as DynamoDB does.

The repository contract suite (test_repository_contract.py, test_act_writes.py, ...) runs on the wire too:
tests/database/backends.py opens DynamoDB the way a run does."""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from botocore.httpsession import get_cert_path

from naver_sms.database.dynamo_target import DynamoTarget, make_client
from naver_sms.database.dynamo_wire import DynamoWire
from naver_sms.database.dynamodb_client import DynamoRecordStore, DynamoRepository
from naver_sms.errors import RepositoryError
from naver_sms.proxies import PROXY_ENV
from tests.standins.server import free_port, serve_wsgi

DYNAMO_BACKENDS = ["moto", "dynalite"]
CREDENTIALS = Credentials("AKIDWIRETEST", "wire-secret")


def wire_for(endpoint: str, **options: Any) -> DynamoWire:
    return DynamoWire(endpoint, "ap-northeast-2", CREDENTIALS, **options)


def item(n: int) -> dict[str, Any]:
    return {
        "booking_num": {"S": f"bk{n}"},
        "phone": {"S": "01000000000"},
        "name": {"S": "홍길동"},
        "count": {"N": "3"},
        "blob": {"B": b"\x00\xffbytes"},
        "tags": {"SS": ["a", "b"]},
        "nothing": {"NULL": True},
        "done": {"BOOL": False},
    }


@pytest.mark.parametrize("stand_in", DYNAMO_BACKENDS)
def test_the_wire_answers_as_boto3_does(stand_in: str, dynamo_target: Callable[[str], DynamoTarget]) -> None:
    # GIVEN one table, reached through boto3 and through the wire
    target = dynamo_target(stand_in)
    client = make_client(target)
    wire = wire_for(str(target.endpoint))
    key = {"booking_num": {"S": "bk1"}, "phone": {"S": "01000000000"}}
    # WHEN the wire writes a row with every attribute type (bytes included) and updates it conditionally
    wire.call("put_item", TableName=target.sms_table, Item=item(1))
    wire.call(
        "update_item",
        TableName=target.sms_table,
        Key=key,
        UpdateExpression="SET #d = :t",
        ConditionExpression="#d = :f",
        ExpressionAttributeNames={"#d": "done"},
        ExpressionAttributeValues={":t": {"BOOL": True}, ":f": {"BOOL": False}},
    )
    # THEN boto3 reads what the wire wrote, and the wire reads it back as DynamoDB's JSON (B as base64 text)
    through_boto = client.get_item(TableName=target.sms_table, Key=key, ConsistentRead=True)["Item"]
    assert through_boto["blob"] == {"B": b"\x00\xffbytes"} and through_boto["done"] == {"BOOL": True}
    through_wire = wire.call("get_item", TableName=target.sms_table, Key=key, ConsistentRead=True)["Item"]
    assert through_wire["blob"] == {"B": "AP9ieXRlcw=="}
    assert {k: v for k, v in through_wire.items() if k != "blob"} == {
        k: v for k, v in through_boto.items() if k != "blob"
    }
    batch = wire.call(
        "batch_get_item", RequestItems={target.sms_table: {"Keys": [key], "ConsistentRead": True}}
    )
    assert batch["Responses"][target.sms_table][0]["name"] == {"S": "홍길동"}
    assert wire.calls == {"PutItem": 1, "UpdateItem": 1, "GetItem": 1, "BatchGetItem": 1}


@pytest.mark.parametrize("stand_in", DYNAMO_BACKENDS)
def test_a_refused_call_is_the_client_error_boto3_raises(
    stand_in: str, dynamo_target: Callable[[str], DynamoTarget]
) -> None:
    # GIVEN a row, and a conditional write whose condition does not hold
    target = dynamo_target(stand_in)
    wire = wire_for(str(target.endpoint))
    wire.call("put_item", TableName=target.sms_table, Item=item(2))
    refused = {
        "TableName": target.sms_table,
        "Item": item(2),
        "ConditionExpression": "attribute_not_exists(#pk)",
        "ExpressionAttributeNames": {"#pk": "booking_num"},
    }
    # WHEN the wire and boto3 make it
    with pytest.raises(ClientError) as by_wire:
        wire.call("put_item", **refused)
    with pytest.raises(ClientError) as by_boto:
        make_client(target).put_item(**refused)  # type: ignore[arg-type]
    # THEN the errors carry the same code and status (callers classify them alike)
    assert by_wire.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert by_wire.value.response["Error"]["Code"] == by_boto.value.response["Error"]["Code"]
    assert (
        by_wire.value.response["ResponseMetadata"]["HTTPStatusCode"]
        == by_boto.value.response["ResponseMetadata"]["HTTPStatusCode"]
        == 400
    )
    # AND a missing table is named as boto3 names it
    with pytest.raises(ClientError) as missing:
        wire.call("get_item", TableName="no-such-table", Key={"booking_num": {"S": "x"}, "phone": {"S": "y"}})
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


class FlakyDynamo:
    """Answers as DynamoDB does, after the failures it is given (a status, "crc" for a body that does not match
    its x-amz-crc32, "throttle" for DynamoDB's throughput refusal, "html" for a proxy's 413 page, "garbled"
    for a 200 that is not JSON); records each request's headers."""

    def __init__(self, failures: list[int | str]) -> None:
        self.failures = failures
        self.headers: list[dict[str, str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.headers.append({k: str(v) for k, v in environ.items() if k.startswith("HTTP_")})
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        body = json.dumps({"Item": {"booking_num": {"S": "bk1"}}}).encode()
        crc = zlib.crc32(body)
        failure = self.failures.pop(0) if self.failures else None
        if failure == "crc":
            crc += 1
        elif failure == "garbled":
            body = b"<html>not json"
            crc = zlib.crc32(body)
        elif failure in ("throttle", "html"):
            status, body = (
                (
                    "400 Bad Request",
                    b'{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException:extra"}',
                )
                if failure == "throttle"
                else ("413 Request Entity Too Large", b"<html>request too large</html>")
            )
            start_response(status, [("Content-Type", "text/html"), ("x-amz-crc32", str(zlib.crc32(body)))])
            return [body]
        elif isinstance(failure, int):
            body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}).encode()
            crc = zlib.crc32(body)
            start_response(
                f"{failure} Failed",
                [("Content-Type", "application/x-amz-json-1.0"), ("x-amz-crc32", str(crc))],
            )
            return [body]
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0"), ("x-amz-crc32", str(crc))])
        return [body]


@pytest.fixture
def flaky() -> Iterator[tuple[FlakyDynamo, str]]:
    server = FlakyDynamo([])
    with serve_wsgi(server) as url:
        yield server, url


def test_server_errors_and_a_bad_checksum_are_retried_then_answered(flaky: tuple[FlakyDynamo, str]) -> None:
    # GIVEN a server that fails with 500, then 503, then sends a body whose CRC32 does not match
    server, url = flaky
    server.failures[:] = [500, 503, "crc"]
    sleeps: list[float] = []
    wire = wire_for(url, max_attempts=4, sleep=sleeps.append)
    # WHEN the wire asks
    answer = wire.call("get_item", TableName="sms", Key={"booking_num": {"S": "bk1"}, "phone": {"S": "p"}})
    # THEN it tried four times, waited three times (no real sleep), and gives the fourth answer
    assert answer == {"Item": {"booking_num": {"S": "bk1"}}}
    assert len(server.headers) == 4 and len(sleeps) == 3 and wire.calls["GetItem"] == 4
    # AND every request was signed for DynamoDB in the wire's region, with its operation named
    for headers in server.headers:
        assert headers["HTTP_AUTHORIZATION"].startswith("AWS4-HMAC-SHA256 Credential=AKIDWIRETEST/")
        assert "/ap-northeast-2/dynamodb/aws4_request" in headers["HTTP_AUTHORIZATION"]
        assert headers["HTTP_X_AMZ_TARGET"] == "DynamoDB_20120810.GetItem"


def test_server_errors_past_the_bound_are_the_last_client_error(flaky: tuple[FlakyDynamo, str]) -> None:
    server, url = flaky
    server.failures[:] = [500, 500, 500]
    wire = wire_for(url, max_attempts=3, sleep=lambda _: None)
    with pytest.raises(ClientError) as failed:
        wire.call("get_item", TableName="sms", Key={"booking_num": {"S": "bk1"}, "phone": {"S": "p"}})
    assert failed.value.response["Error"]["Code"] == "InternalServerError"
    assert len(server.headers) == 3


def test_a_refused_connection_is_an_endpoint_error_and_a_repository_error() -> None:
    # GIVEN nothing listening where the wire points
    endpoint = f"http://127.0.0.1:{free_port()}"
    sleeps: list[float] = []
    wire = wire_for(endpoint, max_attempts=2, sleep=sleeps.append)
    # WHEN it is called THEN botocore's EndpointConnectionError names the endpoint, after one retry
    with pytest.raises(EndpointConnectionError) as failed:
        wire.call("get_item", TableName="sms", Key={"booking_num": {"S": "x"}, "phone": {"S": "y"}})
    assert endpoint in str(failed.value) and len(sleeps) == 1
    # AND through the store it is a RepositoryError, as it was through boto3
    target = DynamoTarget(region="ap-northeast-2", endpoint=endpoint)
    store = DynamoRecordStore(make_client(target), "sms", wire=wire_for(endpoint, max_attempts=1))
    with pytest.raises(RepositoryError) as translated:
        store.put_if_absent({"booking_num": "bk1", "phone": "01000000000"})
    assert "EndpointConnectionError" in str(translated.value)


def test_a_repository_takes_the_wire_only_for_a_client_it_made(
    dynamo_target: Callable[[str], DynamoTarget], no_proxy: pytest.MonkeyPatch
) -> None:
    target = dynamo_target("dynalite")
    assert isinstance(DynamoRepository(target).store.wire, DynamoWire)  # type: ignore[attr-defined]
    given = make_client(target)  # a client made elsewhere may carry hooks or stubs: every call is its own
    assert DynamoRepository(target, client=given).store.wire is None  # type: ignore[attr-defined]


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_behind_a_proxy_every_call_stays_on_boto3(no_proxy: pytest.MonkeyPatch) -> None:
    # botocore goes through the proxy; the wire would not, so it is not used
    target = DynamoTarget(region="ap-northeast-2", endpoint="http://127.0.0.1:1")
    assert DynamoWire.of(make_client(target)) is not None
    no_proxy.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert DynamoWire.of(make_client(target)) is None


def test_an_https_endpoint_is_verified_as_botocore_verifies_it(no_proxy: pytest.MonkeyPatch) -> None:
    target = DynamoTarget(region="ap-northeast-2", endpoint="https://dynamodb.ap-northeast-2.amazonaws.com")
    no_proxy.delenv("AWS_CA_BUNDLE", raising=False)
    client = make_client(target)
    pool: Any = DynamoWire.of(client)._pool  # type: ignore[union-attr]
    assert pool.scheme == "https" and pool.cert_reqs == "CERT_REQUIRED"
    verify = client._endpoint.http_session._verify  # type: ignore[attr-defined]
    assert pool.ca_certs == (verify if isinstance(verify, str) else get_cert_path(True))
    no_proxy.setenv(
        "AWS_CA_BUNDLE", "/etc/ssl/own-bundle.pem"
    )  # botocore's client takes it: so does the wire
    pool = DynamoWire.of(make_client(target))._pool  # type: ignore[union-attr]
    assert pool.ca_certs == "/etc/ssl/own-bundle.pem"


def test_throttling_and_an_unreadable_answer_are_retried_as_botocore_retries_them(
    flaky: tuple[FlakyDynamo, str],
) -> None:
    # GIVEN a server that throttles twice (a code with a suffix after ":"), then answers a 200 that is not JSON
    server, url = flaky
    server.failures[:] = ["throttle", "throttle", "garbled"]
    sleeps: list[float] = []
    wire = wire_for(url, max_attempts=4, sleep=sleeps.append, rng=random.Random(7))
    # WHEN asked THEN the fourth answer is given, the throttled tries waited on botocore's 1 s scale (full
    # jitter: up to 1 s, then up to 2 s) and the unreadable one on the 25 ms scale
    answer = wire.call("get_item", TableName="sms", Key={"booking_num": {"S": "bk1"}, "phone": {"S": "p"}})
    assert answer == {"Item": {"booking_num": {"S": "bk1"}}} and len(server.headers) == 4
    assert 0 < sleeps[0] <= 1.0 and 0 < sleeps[1] <= 2.0 and 0 < sleeps[2] <= 0.1
    assert sleeps[0] + sleeps[1] > 0.1  # not the 25 ms scale of a server error


def test_throttling_past_the_bound_is_the_throttling_error_the_store_retries(
    flaky: tuple[FlakyDynamo, str],
) -> None:
    server, url = flaky
    server.failures[:] = ["throttle"] * 3
    wire = wire_for(url, max_attempts=3, sleep=lambda _: None)
    with pytest.raises(ClientError) as failed:
        wire.call("get_item", TableName="sms", Key={"booking_num": {"S": "bk1"}, "phone": {"S": "p"}})
    assert failed.value.response["Error"]["Code"] == "ThrottlingException"
    assert failed.value.__cause__ is not failed.value  # never its own cause (a loop for whoever walks causes)


def test_an_answer_that_is_not_dynamodbs_json_is_named_by_its_status_and_text(
    flaky: tuple[FlakyDynamo, str],
) -> None:
    # GIVEN a proxy's 413 page in front of DynamoDB
    server, url = flaky
    server.failures[:] = ["html"]
    wire = wire_for(url, sleep=lambda _: None)
    with pytest.raises(ClientError) as failed:
        wire.call("get_item", TableName="sms", Key={"booking_num": {"S": "bk1"}, "phone": {"S": "p"}})
    # THEN as botocore names it: the status as the code, the page's text as the message; not retried
    assert failed.value.response["Error"] == {"Code": "413", "Message": "<html>request too large</html>"}
    assert len(server.headers) == 1


def test_a_value_dynamodb_cannot_take_is_a_botocore_error_before_anything_is_sent(
    flaky: tuple[FlakyDynamo, str],
) -> None:
    server, url = flaky
    with pytest.raises(ParamValidationError):
        wire_for(url).call("put_item", TableName="sms", Item={"when": object()})
    assert server.headers == []


def test_the_wire_takes_the_clients_attempts_credentials_and_verification(
    no_proxy: pytest.MonkeyPatch,
) -> None:
    # GIVEN a client made with 5 attempts (botocore keeps it as total_max_attempts 6) for an https endpoint
    target = DynamoTarget(region="ap-northeast-2", endpoint="https://dynamodb.example.test")
    client = make_client(target, max_attempts=5)
    wire = DynamoWire.of(client)
    # THEN the wire makes as many attempts, signs with the client's own credentials object, verifies as it
    assert wire is not None and wire._retry.max_attempts == 6
    assert wire.credentials is client._request_signer._credentials  # type: ignore[attr-defined]
    pool: Any = wire._pool
    assert pool.cert_reqs == "CERT_REQUIRED"
    verify = client._endpoint.http_session._verify  # type: ignore[attr-defined]
    assert pool.ca_certs == (verify if isinstance(verify, str) else get_cert_path(True))


def test_a_client_with_no_credentials_gets_no_wire(no_proxy: pytest.MonkeyPatch) -> None:
    # the client then reports the missing credentials itself, on its first call
    client = make_client(DynamoTarget(region="ap-northeast-2", endpoint="http://127.0.0.1:1"))
    no_proxy.setattr(client._request_signer, "_credentials", None)  # type: ignore[attr-defined]
    assert DynamoWire.of(client) is None
