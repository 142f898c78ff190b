"""Configuration outside the image (issue 8, item 8), against moto_server's S3 over real sockets: the run
downloads and validates the upload, reports its version, keeps the last valid configuration (locally and
under last-valid/), and runs on it - saying so - when an upload is invalid or S3 cannot be read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from naver_sms.config.settings import Settings
from naver_sms.config_source import CONFIG_INVALID_NOTICE
from naver_sms.domain.clock import FixedClock, parse_kst
from naver_sms.errors import ConfigError
from naver_sms.runner import run_once
from naver_sms.wiring import build_runtime
from tests.conftest import CONFIG_DIR, ROOT

pytestmark = pytest.mark.integration

REGION = "ap-northeast-2"
NOW = FixedClock(parse_kst("2026-11-26 18:40"))


@pytest.fixture
def bucket(moto_endpoint: str) -> Iterator[tuple[Any, str]]:
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    name = f"naver-sms-config-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield s3, name


def _upload(s3: Any, bucket: str, directory: Path = CONFIG_DIR, **replace: str) -> None:
    for path in sorted(directory.rglob("*.yaml")):
        key = "config/" + path.relative_to(directory).as_posix()
        body = replace.get(path.name, path.read_text(encoding="utf-8"))
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))


def _settings(moto_endpoint: str, bucket: str, tmp_path: Path, cache: str = "cache") -> Settings:
    return Settings(
        config_url=f"s3://{bucket}/config/",
        s3_endpoint=moto_endpoint,
        aws_region=REGION,
        config_cache_dir=tmp_path / cache,
        db=str(tmp_path / "state.sqlite3"),
        bookings_path=ROOT / "examples" / "bookings",
    )


def _run(settings: Settings) -> Any:
    runtime, _ = build_runtime(settings, clock=NOW, run_id=f"s3-{uuid.uuid4().hex[:6]}", dry_run=True)
    try:
        return run_once(runtime, dry_run=True)
    finally:
        runtime.close()


def test_the_environment_takes_an_s3_location_for_the_configuration() -> None:
    settings = Settings.from_env({"NAVER_SMS_CONFIG_DIR": "s3://a-bucket/config/"})
    assert settings.config_url == "s3://a-bucket/config/"


def test_a_valid_upload_is_used_its_version_reported_and_kept_as_the_last_valid(
    moto_endpoint: str, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    s3, name = bucket
    # GIVEN the configuration uploaded to the stack's config/ prefix (with its rule fixtures)
    _upload(s3, name)
    # WHEN a run reads it
    report = _run(_settings(moto_endpoint, name, tmp_path))
    # THEN it decided with it, reports its version (from the objects' ETags), and no notice
    assert report.ok and report.sms and report.config_version.startswith("s3:")
    assert report.config_invalid is None and "설정" not in report.summary
    # AND it is kept under last-valid/ with a manifest naming that version (the tests/ fixtures too)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix="last-valid/")["Contents"]}
    assert {"last-valid/rules.yaml", "last-valid/stores.yaml", "last-valid/manifest.json"} <= keys
    assert any(k.startswith("last-valid/tests/") for k in keys)
    manifest = json.loads(s3.get_object(Bucket=name, Key="last-valid/manifest.json")["Body"].read())
    assert manifest["version"] == report.config_version
    # AND the same upload read again is the same version; a changed file is another
    assert _run(_settings(moto_endpoint, name, tmp_path)).config_version == report.config_version
    templates = (CONFIG_DIR / "templates.yaml").read_text(encoding="utf-8") + "\n# edited\n"
    _upload(s3, name, **{"templates.yaml": templates})
    assert _run(_settings(moto_endpoint, name, tmp_path)).config_version != report.config_version


def test_an_invalid_upload_keeps_the_last_valid_configuration_and_says_so(
    moto_endpoint: str, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    s3, name = bucket
    _upload(s3, name)
    good = _run(_settings(moto_endpoint, name, tmp_path))
    # WHEN an upload is invalid (a rule without conditions or actions)
    _upload(s3, name, **{"rules.yaml": "rules:\n  - name: broken\n"})
    report = _run(_settings(moto_endpoint, name, tmp_path))
    # THEN the run used the last valid configuration (the same SMS), named its version, and told the owner
    assert report.ok and [s.content for s in report.sms] == [s.content for s in good.sms]
    assert report.config_version == good.config_version
    assert report.config_invalid and "rules.yaml" in report.config_invalid
    notice = CONFIG_INVALID_NOTICE.split("{")[0]
    assert notice in report.summary and any(notice in w for w in report.warnings)
    # AND a cold container (an empty local cache) finds the last valid one under last-valid/
    cold = _run(_settings(moto_endpoint, name, tmp_path, cache="cold"))
    assert cold.ok and cold.config_version == good.config_version and cold.config_invalid


def test_an_invalid_first_upload_refuses_to_run(
    moto_endpoint: str, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    s3, name = bucket
    _upload(s3, name, **{"rules.yaml": "rulez: []\n"})
    with pytest.raises(ConfigError, match=r"rules\.yaml"):
        _run(_settings(moto_endpoint, name, tmp_path))


def test_s3_unreachable_runs_on_the_last_valid_configuration(
    moto_endpoint: str, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    s3, name = bucket
    _upload(s3, name)
    good = _run(_settings(moto_endpoint, name, tmp_path))
    # WHEN the configuration cannot be listed (an S3 outage, seen here as a missing bucket)
    broken = _settings(moto_endpoint, name, tmp_path).model_copy(
        update={"config_url": "s3://no-such-bucket-0000/config/"}
    )
    report = _run(broken)
    # THEN the local last valid copy serves, and the summary says the configuration could not be read
    assert report.ok and report.config_version == good.config_version
    assert "설정을 읽을 수 없어" in report.summary


REPORTS_YAML = 'summary: when_something_happened\ndaily_report:\n  at: "21:00"\n'


def test_reports_yaml_and_the_opt_out_list_are_read_from_s3_and_the_run_log_names_the_reports_version(
    moto_endpoint: str, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    s3, name = bucket
    # GIVEN the configuration with its optional files: the owner's reports.yaml and the opt-out list
    _upload(s3, name)
    s3.put_object(Bucket=name, Key="config/reports.yaml", Body=REPORTS_YAML.encode("utf-8"))
    s3.put_object(Bucket=name, Key="config/opt-out.txt", Body=b"# refused advertising\n010-0000-0001\n")
    settings = _settings(moto_endpoint, name, tmp_path)
    # WHEN a run reads it
    runtime, state = build_runtime(settings, clock=NOW, real_clock=NOW, run_id="s3-optional")
    try:
        # THEN both files were downloaded and are in use
        assert runtime.config.reports.summary == "when_something_happened"
        assert (
            runtime.config.reports.daily_report is not None
            and runtime.config.reports.daily_report.at == "21:00"
        )
        assert runtime.config.opt_out_file is not None and runtime.config.opt_out_file.name == "opt-out.txt"
        assert runtime.services.opt_out is not None and "01000000001" in runtime.services.opt_out.numbers()
        report = run_once(runtime, run_id="s3-optional")
    finally:
        runtime.close()
    # AND the run log keeps the very version the run report names (one version everywhere)
    last = state.runs.last()
    assert last is not None and last.summary["config_version"] == report.config_version
    assert report.config_version.startswith("s3:")
    # AND a change of reports.yaml alone is another version
    s3.put_object(Bucket=name, Key="config/reports.yaml", Body=b"summary: every_run\n")
    assert _run(_settings(moto_endpoint, name, tmp_path)).config_version != report.config_version
