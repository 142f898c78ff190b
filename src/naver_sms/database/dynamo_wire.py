"""DynamoDB's JSON protocol spoken directly, for the calls a run makes per booking and per SMS (issue 12):
`PutItem`, `UpdateItem`, `GetItem`, `BatchGetItem` (and the operator's `Scan`) on the `sms` table. Everything
else stays on boto3.

Why not boto3 for these: botocore spends 1.6-2.0 ms of CPU on every call (parameter validation, a dozen event
hooks, endpoint rules, its serialiser, signer and parser; `bench/dynamo_wire.py` measures it) - two thirds of a
first run's CPU on DynamoDB, where the floor is two conditional writes per SMS. The same request sent here costs
a fraction of that. What stays botocore's: the credentials and their refresh (the client's own, frozen
per call) and the error type - a refused call raises `botocore.exceptions.ClientError` in botocore's own response
shape (`Error.Code`, `Error.Message`, `ResponseMetadata.HTTPStatusCode`), so callers classify answers exactly as
they did. Requests are signed as botocore's `SigV4Auth` signs them (database/sigv4.py). Retried as botocore's
"standard" mode retries them, its attempts in all (4) with full jitter: connection errors, HTTP 500/502/503/504,
an unreadable answer or one whose `x-amz-crc32` does not match its body (25 ms doubling), and throttling (1 s
doubling, never applied); the store retries throttling on top (DynamoRecordStore._call), as before. A retried conditional write whose first try landed finds its
condition false: the claim protocol recognises its own token then (flags/machine.py), exactly as after a
botocore retry."""

from __future__ import annotations

import base64
import http.client
import json
import random
import threading
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson
import urllib3
from botocore.credentials import Credentials
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.httpsession import get_cert_path

from naver_sms import json_codec
from naver_sms.database.sigv4 import SigV4Signer, host_of
from naver_sms.proxies import environment_proxies
from naver_sms.retry import Again, RetryPolicy, Sleep, retry_call

#: the operations spoken here (boto3's method name: DynamoDB's target name)
OPERATIONS = {
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "get_item": "GetItem",
    "batch_get_item": "BatchGetItem",
    "scan": "Scan",
}
#: HTTP statuses botocore's standard mode retries (a 5xx means the request was not applied, or may be again)
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
#: error codes of a request DynamoDB refused for its rate (never applied: safe to send again)
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
    }
)
TARGET_PREFIX = "DynamoDB_20120810."


class DynamoWire:
    """Calls by boto3's method names and keyword arguments (`wire.call("update_item", TableName=..., ...)`),
    answered with what boto3 would answer (attribute values as DynamoDB sends them, `B` as base64 text).
    Thread-safe: one connection pool (`pool_size` connections) shared by the run's threads."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        credentials: Credentials,
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        pool_size: int = 10,
        verify: bool | str = True,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.credentials = credentials
        self.sleep = sleep
        self._url = self.endpoint + "/"
        self._path = urllib3.util.parse_url(self._url).path or "/"
        self._host = host_of(self._url)
        self._signer = SigV4Signer(credentials, region, "dynamodb")
        # one pool for the one endpoint (not a PoolManager: no per-call look-up of the pool by URL)
        tls: dict[str, Any] = {}
        if endpoint.startswith("https"):  # verified as the client verifies: its bundle, or not at all
            tls = {"cert_reqs": "CERT_NONE"} if verify is False else {"cert_reqs": "CERT_REQUIRED"}
            if verify is not False:
                tls["ca_certs"] = verify if isinstance(verify, str) else get_cert_path(True)
        self._pool = urllib3.connection_from_url(
            self.endpoint,
            maxsize=pool_size,
            block=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
            **tls,
        )
        # botocore's standard mode for DynamoDB: full jitter, 25 ms doubling (1 s for throttling), at most 20 s
        rng = rng or random.Random()
        self._retry = RetryPolicy(
            max_attempts=max_attempts, base_delay=0.025, max_delay=20.0, jitter=1.0, rng=rng
        )
        self._throttled = RetryPolicy(
            max_attempts=max_attempts, base_delay=1.0, max_delay=20.0, jitter=1.0, rng=rng
        )
        self._lock = threading.Lock()
        #: requests sent, per DynamoDB operation (retries included: each is a request DynamoDB serves and bills)
        self.calls: Counter[str] = Counter()

    @classmethod
    def of(cls, client: Any, *, sleep: Sleep = time.sleep) -> DynamoWire | None:
        """The wire for a boto3 client - its endpoint, region, timeouts, attempts and TLS verification - or None,
        and the caller keeps every call on the client, where the wire would not reach DynamoDB the way the
        client does: no credentials to sign with (the client then reports it), or a proxy (`HTTPS_PROXY`, the
        client's `proxies`). It signs with the client's own credentials object (botocore keeps it on the
        client's request signer: one chain, looked up once, refreshed once; a client without it gets no wire)."""
        config = client.meta.config
        signer = getattr(client, "_request_signer", None)
        credentials: Credentials | None = getattr(signer, "_credentials", None)
        if credentials is None or config.proxies or environment_proxies():  # botocore would go through it
            return None
        retries = config.retries or {}
        attempts = retries.get("total_max_attempts") or int(retries.get("max_attempts", 3)) + 1
        session = getattr(getattr(client, "_endpoint", None), "http_session", None)
        verify = getattr(session, "_verify", True)
        return cls(
            client.meta.endpoint_url,
            client.meta.region_name,
            credentials,
            timeout=float(config.read_timeout or 10.0),
            max_attempts=int(attempts),
            pool_size=int(config.max_pool_connections or 10),
            verify=verify if isinstance(verify, bool | str) else True,
            sleep=sleep,
        )

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        target = OPERATIONS[operation]
        body = _dumps(params)
        tries = 0

        def attempt() -> dict[str, Any] | Again:
            nonlocal tries
            tries += 1
            with self._lock:
                self.calls[target] += 1
            try:
                response = self._pool.urlopen(
                    "POST", self._path, body=body, headers=self._signed(target, body), preload_content=True
                )
            except urllib3.exceptions.HTTPError as exc:
                failed = _connection_error(self.endpoint, exc)
                return Again(f"{target}: {type(exc).__name__}", lambda _: failed, cause=exc)
            data: bytes = response.data
            crc = response.headers.get("x-amz-crc32")
            if crc is not None and crc.isdigit() and zlib.crc32(data) != int(crc):
                mismatch = _client_error(target, response.status, b'{"__type": "CRC32CheckFailed"}')
                return Again(f"{target}: CRC32 mismatch", lambda _: mismatch)
            if response.status >= 300:
                error = _client_error(target, response.status, data)
                code = error.response["Error"]["Code"]
                if code in THROTTLING_CODES:  # never applied: retried as botocore does, from 1 s
                    wait = self._throttled.backoff(tries)
                    return Again(f"{target}: {code}", lambda _: error, hint=wait)
                if response.status in TRANSIENT_STATUSES:
                    return Again(f"{target}: HTTP {response.status}", lambda _: error)
                raise error
            try:
                answer: dict[str, Any] = json_codec.loads(data) if data else {}
            except ValueError:  # a garbled answer: as botocore, a parse error (the write may have landed)
                garbled = _client_error(target, response.status, b'{"__type": "ResponseParseError"}')
                return Again(f"{target}: unreadable answer", lambda _: garbled)
            return answer

        return retry_call(attempt, self._retry, sleep=self.sleep)

    def _signed(self, target: str, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET_PREFIX + target}
        return self._signer.sign(self._host, self._path, headers, body)

    def close(self) -> None:
        self._pool.close()


def _dumps(params: Mapping[str, Any]) -> bytes:
    """The request body; bytes (attribute type `B`) as base64 text, as botocore sends them. A string orjson
    refuses (a lone surrogate) goes through the standard library, as botocore's would."""
    try:
        return orjson.dumps(params, default=_base64)
    except TypeError:
        pass
    try:
        return json.dumps(params, default=_base64).encode()
    except (TypeError, ValueError) as exc:  # what botocore's validation would refuse: a BotoCoreError
        raise ParamValidationError(report=str(exc)) from exc


def _base64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot send a {type(value).__name__} to DynamoDB")


def _client_error(target: str, status: int, data: bytes) -> ClientError:
    """botocore's ClientError for an error answer (`{"__type": "...#Code", "message": "..."}`); an answer that is
    not DynamoDB's JSON gets the status as its code and its text (or the status's phrase) as its message, as
    botocore gives them."""
    try:
        parsed = json_codec.loads(data) if data else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("__type"):
        code = str(parsed["__type"]).split(":", 1)[0].rsplit("#", 1)[-1]
        message = str(parsed.get("message") or parsed.get("Message") or "")
    else:
        code = str(status)
        message = data.decode("utf-8", "replace").strip()[:500] or http.client.responses.get(status, "")
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, target)  # type: ignore[arg-type]


def _connection_error(endpoint: str, exc: urllib3.exceptions.HTTPError) -> Exception:
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # (a ConnectTimeoutError in urllib3's tree)
        return EndpointConnectionError(endpoint_url=endpoint, error=exc)
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return ConnectTimeoutError(endpoint_url=endpoint, error=exc)
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return ReadTimeoutError(endpoint_url=endpoint, error=exc)
    return EndpointConnectionError(endpoint_url=endpoint, error=exc)
