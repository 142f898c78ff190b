"""The configuration's place, a directory or S3, with the same assertions: what is read and written, the
versions kept at every save (the configuration as it was before the first one included), rollback, and the
names it refuses."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from naver_sms.domain.clock import FixedClock
from naver_sms.owner.config_store import (
    ConfigStore,
    ConfigStoreError,
    DirectoryConfigStore,
    S3ConfigStore,
    check_name,
)
from tests.owner.conftest import ROOT
from tests.world import kst

CLOCK = FixedClock(kst("2026-11-26 10:00"))


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConfigStore]:
    if request.param == "directory":
        shutil.copytree(ROOT / "config", tmp_path / "config")
        yield DirectoryConfigStore(tmp_path / "config", clock=CLOCK)
        return
    endpoint = request.getfixturevalue("moto_endpoint")
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="ap-northeast-2",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    bucket = f"cfg-{tmp_path.name[-12:].lower().replace('_', '-')}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    for path in (ROOT / "config").rglob("*.yaml"):
        s3.put_object(
            Bucket=bucket, Key=f"config/{path.relative_to(ROOT / 'config')}", Body=path.read_bytes()
        )
    yield S3ConfigStore(f"s3://{bucket}/config/", client=s3, clock=CLOCK)


def test_the_files_are_read_with_the_fixtures(store: ConfigStore) -> None:
    files = store.read()
    assert {"stores.yaml", "templates.yaml", "rules.yaml", "tests/legacy.yaml"} <= set(files)
    assert files["rules.yaml"] == (ROOT / "config" / "rules.yaml").read_bytes()


def test_a_save_keeps_the_old_and_the_new_and_rolls_back(store: ConfigStore) -> None:
    original = store.read()
    first = store.save({"templates.yaml": original["templates.yaml"] + b"\n# edited\n"}, "edited")
    versions = store.versions()
    assert [v.note for v in versions] == ["edited", "as it was before the first save"]
    assert versions[0].id == first.id and store.read()["templates.yaml"].endswith(b"# edited\n")
    assert store.read()["rules.yaml"] == original["rules.yaml"]  # what was not given is kept
    before = store.read_version(versions[1].id)
    assert before == original
    store.save(before, f"rolled back to {versions[1].id}")
    assert store.read() == original and len(store.versions()) == 3


@pytest.mark.parametrize(
    "name",
    [
        "../stores.yaml",
        "/etc/passwd",
        "tests/../x.yaml",
        "secrets.yaml",
        ".versions/a/rules.yaml",
        "tests/a/b.yaml",
    ],
)
def test_names_other_than_the_configurations_files_are_refused(store: ConfigStore, name: str) -> None:
    with pytest.raises(ConfigStoreError):
        check_name(name)
    with pytest.raises(ConfigStoreError):
        store.save({name: b"x"}, "x")
    with pytest.raises(ConfigStoreError):
        store.read_version("../../x")
