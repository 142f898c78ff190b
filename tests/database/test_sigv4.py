"""database/sigv4.py signs a DynamoDB POST exactly as botocore's SigV4Auth does: the same X-Amz-Date, session
token and Authorization header (canonical request, string to sign, signature), byte for byte, for every shape of
credentials, endpoint and body the wire sends - and with the day's key derived once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from naver_sms.database.sigv4 import SigV4Signer, host_of

MOMENT = datetime(2026, 12, 2, 14, 59, 59, tzinfo=UTC)
HEADERS = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.UpdateItem"}


def botocore_signed(
    credentials: Credentials, region: str, url: str, body: bytes, at: datetime
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(HEADERS))
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        SigV4Auth(credentials.get_frozen_credentials(), "dynamodb", region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(
    ("credentials", "url"),
    [
        (Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "http://127.0.0.1:8000/"),
        (
            Credentials("ASIAEXAMPLE", "secret/with+signs", token="IQoJb3JpZ2luX2VjE//session+token=="),
            "https://dynamodb.ap-northeast-2.amazonaws.com/",
        ),
        (Credentials("local", "local"), "http://localhost:443/"),
    ],
)
@pytest.mark.parametrize(
    "body", [b"{}", '{"TableName":"sms","Item":{"name":{"S":"홍길동  님"}}}'.encode(), b"x" * 70_000]
)
def test_the_signature_is_botocores_byte_for_byte(credentials: Credentials, url: str, body: bytes) -> None:
    signer = SigV4Signer(credentials, "ap-northeast-2", now=lambda: MOMENT)
    ours = signer.sign(host_of(url), "/", dict(HEADERS), body)
    theirs = botocore_signed(credentials, "ap-northeast-2", url, body, MOMENT)
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"] == "20261202T145959Z"
    assert ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token") == credentials.token


def test_the_host_is_signed_without_a_default_port() -> None:
    assert (
        host_of("https://dynamodb.ap-northeast-2.amazonaws.com/") == "dynamodb.ap-northeast-2.amazonaws.com"
    )
    assert host_of("http://127.0.0.1:80/") == "127.0.0.1"
    assert host_of("http://LOCALHOST:8000/") == "localhost:8000"


def test_a_new_day_gets_its_own_key_and_still_matches_botocore() -> None:
    # GIVEN a signer whose clock crosses midnight UTC (09:00 in Seoul)
    credentials = Credentials("AKIDEXAMPLE", "secret")
    before_midnight = datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC)
    times = iter([before_midnight, before_midnight + timedelta(seconds=2)])
    signer = SigV4Signer(credentials, "ap-northeast-2", now=lambda: next(times))
    first = signer.sign("127.0.0.1:8000", "/", dict(HEADERS), b"{}")
    second = signer.sign("127.0.0.1:8000", "/", dict(HEADERS), b"{}")
    # THEN the second is signed with the next day's scope and key, as botocore would sign it
    assert "/20261202/" in first["Authorization"] and "/20261203/" in second["Authorization"]
    expected = botocore_signed(
        credentials, "ap-northeast-2", "http://127.0.0.1:8000/", b"{}", before_midnight + timedelta(seconds=2)
    )
    assert second["Authorization"] == expected["Authorization"]


def test_refreshed_credentials_are_used_as_they_come() -> None:
    # a refreshable source (the Lambda role, an instance profile) is frozen at every signature
    credentials = Credentials("AKIDOLD", "old-secret")
    signer = SigV4Signer(credentials, "ap-northeast-2", now=lambda: MOMENT)
    assert "Credential=AKIDOLD/" in signer.sign("h", "/", dict(HEADERS), b"{}")["Authorization"]
    credentials.access_key, credentials.secret_key = "AKIDNEW", "new-secret"
    renewed = signer.sign("h", "/", dict(HEADERS), b"{}")["Authorization"]
    expected = botocore_signed(credentials, "ap-northeast-2", "http://h/", b"{}", MOMENT)["Authorization"]
    assert renewed == expected and "Credential=AKIDNEW/" in renewed
