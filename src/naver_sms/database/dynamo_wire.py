"""DynamoDB's JSON protocol spoken directly, for the calls a run makes per booking and per SMS (issue 12):
`PutItem`, `UpdateItem`, `GetItem`, `BatchGetItem` (and the operator's `Scan`) on the `sms` table. Everything
else stays on boto3.

Why not boto3 for these: botocore spends 1.6-2.0 ms of CPU on every call (parameter validation, a dozen event
hooks, endpoint rules, its serialiser, signer and parser; `bench/dynamo_wire.py` measures it) - two thirds of a
first run's CPU on DynamoDB, where the floor is two conditional writes per SMS. The same request sent here costs
a fraction of that. What stays botocore's: the credentials and their refresh (`Session.get_credentials`, frozen
per call) and the error type - a refused call raises `botocore.exceptions.ClientError` in botocore's own response
shape (`Error.Code`, `Error.Message`, `ResponseMetadata.HTTPStatusCode`), so callers classify answers exactly as
they did. Requests are signed as botocore's `SigV4Auth` signs them (database/sigv4.py). Retried as botocore's
"standard" mode retries them, `max_attempts` in all with exponential backoff and full jitter: connection errors,
HTTP 500/502/503/504 and an answer whose `x-amz-crc32` does not match its body. Throttling is the caller's to
retry (DynamoRecordStore._call), as before. A retried conditional write whose first try landed finds its
condition false: the claim protocol recognises its own token then (flags/machine.py), exactly as after a
botocore retry."""

from __future__ import annotations

import base64
import json
import os
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
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.httpsession import get_cert_path

from naver_sms import json_codec
from naver_sms.database.sigv4 import SigV4Signer, host_of
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
TARGET_PREFIX = "DynamoDB_20120810."
#: a proxy botocore would go through (the wire does not): then the client makes every call
PROXY_ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


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
        max_attempts: int = 3,
        pool_size: int = 10,
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
        bundle = os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True)  # as botocore verifies
        tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": bundle} if endpoint.startswith("https") else {}
        self._pool = urllib3.connection_from_url(
            self.endpoint,
            maxsize=pool_size,
            block=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
            **tls,
        )
        self._retry = RetryPolicy(
            max_attempts=max_attempts, base_delay=0.05, max_delay=2.0, jitter=1.0, rng=rng or random.Random()
        )
        self._lock = threading.Lock()
        #: requests sent, per DynamoDB operation (retries included: each is a request DynamoDB serves and bills)
        self.calls: Counter[str] = Counter()

    @classmethod
    def of(cls, client: Any, credentials: Credentials | None) -> DynamoWire | None:
        """The wire for a boto3 client's endpoint and region - or None, and the caller keeps every call on the
        client, where the wire would not reach DynamoDB the way the client does: no credentials to sign with
        (the client then reports it), or a proxy (`HTTPS_PROXY`, the client's `proxies`). An https endpoint is
        verified as botocore verifies it: against `AWS_CA_BUNDLE` when set, else botocore's CA bundle."""
        config = client.meta.config
        if credentials is None or config.proxies or any(os.environ.get(name) for name in PROXY_ENV):
            return None
        return cls(
            client.meta.endpoint_url,
            client.meta.region_name,
            credentials,
            timeout=float(config.read_timeout or 10.0),
            max_attempts=int((config.retries or {}).get("max_attempts", 3)),
            pool_size=int(config.max_pool_connections or 10),
        )

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        target = OPERATIONS[operation]
        body = _dumps(params)

        def attempt() -> dict[str, Any] | Again:
            with self._lock:
                self.calls[target] += 1
            try:
                response = self._pool.urlopen(
                    "POST", self._path, body=body, headers=self._signed(target, body), preload_content=True
                )
            except urllib3.exceptions.HTTPError as exc:
                failed = _connection_error(self.endpoint, exc)
                return Again(f"{target}: {type(exc).__name__}", lambda tries: failed, cause=exc)
            data: bytes = response.data
            crc = response.headers.get("x-amz-crc32")
            if crc is not None and crc.isdigit() and zlib.crc32(data) != int(crc):
                error = _client_error(target, response.status, b'{"__type": "CRC32CheckFailed"}')
                return Again(f"{target}: CRC32 mismatch", lambda tries: error)
            if response.status >= 300:
                error = _client_error(target, response.status, data)
                if response.status in TRANSIENT_STATUSES:
                    return Again(f"{target}: HTTP {response.status}", lambda tries: error, cause=error)
                raise error
            answer: dict[str, Any] = json_codec.loads(data) if data else {}
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
        return json.dumps(params, default=_base64_text).encode()


def _base64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot send a {type(value).__name__} to DynamoDB")


def _base64_text(value: Any) -> str:
    return _base64(value)


def _client_error(target: str, status: int, data: bytes) -> ClientError:
    """botocore's ClientError for an error answer (`{"__type": "...#Code", "message": "..."}`)."""
    try:
        parsed = json_codec.loads(data) if data else {}
    except ValueError:
        parsed = {}
    if not isinstance(parsed, dict):
        parsed = {}
    code = str(parsed.get("__type") or f"HTTP{status}").rsplit("#", 1)[-1]
    message = str(parsed.get("message") or parsed.get("Message") or "")
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
