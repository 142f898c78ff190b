"""Where the configuration comes from: a local directory, or an S3 location (configuration outside the image).

`NAVER_SMS_CONFIG_DIR` is a directory (`config/`) or `s3://BUCKET/PREFIX/` (the stack's `config/` prefix).
From S3, every run:

1. lists the prefix (`stores.yaml`, `templates.yaml`, `rules.yaml`, and `reports.yaml`, `opt-out.txt` and the
   `tests/` fixtures if present).
   Their ETags identify the configuration: `config_version` (in the run report) is a digest of the keys and
   ETags; the objects are downloaded only when that changed (a warm container keeps its copy under /tmp);
2. validates the download completely (`validate`: the loader and the rule compiler) before anything uses it;
3. valid: it is used, and kept as the **last valid configuration** - locally (the cache directory, for the
   warm container) and in S3 under `last-valid/` beside the configuration's prefix (for the next cold start:
   the files and a `manifest.json` naming the version; objects are overwritten, never deleted);
4. invalid (or S3 cannot be read): the last valid configuration is used instead - the local copy, else the
   one under `last-valid/` - and the run says so: a line in the summary the owner reads, a warning, the
   `ConfigInvalid` metric. With no last valid configuration at all, the run refuses (the `ConfigError`).

A local directory is read as it is (`naver-sms rules check` is its validation); its `config_version` is a
digest of its files' bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from naver_sms.config.loader import RULES_FILE, STORES_FILE, TEMPLATES_FILE
from naver_sms.config.opt_out import OPT_OUT_FILE
from naver_sms.config.reports import REPORTS_FILE
from naver_sms.errors import ConfigError, NaverSmsError
from naver_sms.logs import emit

log = logging.getLogger("naver_sms.config_source")

T = TypeVar("T")

#: the prefix of the last valid configuration, at the top of the configuration's bucket
LAST_VALID_PREFIX = "last-valid/"
MANIFEST = "manifest.json"
#: the line of the owner's summary when an upload was refused (Korean: the owner's language)
CONFIG_INVALID_NOTICE = (
    "설정 파일 오류: 마지막 정상 설정({version})으로 실행했습니다. 올린 설정을 고쳐 주세요: {error}"
)
CONFIG_UNREADABLE_NOTICE = "설정을 읽을 수 없어 마지막 정상 설정({version})으로 실행했습니다: {error}"


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending in "/"

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() != "s3" or not parts.netloc:
            raise ConfigError(
                f"{url!r} is not an S3 location: expected s3://BUCKET/PREFIX/",
                file="environment",
                field="NAVER_SMS_CONFIG_DIR",
            )
        prefix = parts.path.lstrip("/")
        return cls(parts.netloc, prefix if not prefix or prefix.endswith("/") else prefix + "/")

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"


#: the files of a configuration beside the fixtures: the three YAML files, and the optional reports.yaml (the
#: summary's timing, the daily report) and opt-out.txt (who refused advertising)
CONFIG_FILES = (STORES_FILE, TEMPLATES_FILE, RULES_FILE, REPORTS_FILE, OPT_OUT_FILE)


def _wanted(relative: str) -> bool:
    """The files of a configuration: `CONFIG_FILES` and the fixtures under tests/."""
    if relative in CONFIG_FILES:
        return True
    return relative.startswith("tests/") and relative.endswith((".yaml", ".yml")) and ".." not in relative


def _digest(lines: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()[:16]


def local_version(directory: Path) -> str:
    """A digest of a local configuration's files (their relative paths and bytes)."""
    lines = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and _wanted(relative):
            lines.append(f"{relative}:{hashlib.sha256(path.read_bytes()).hexdigest()}")
    return "sha256:" + _digest(lines)


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """The configuration a run uses: its directory, its version, what `validate` made of it, and - when the
    configuration given was refused and the last valid one is used instead - why (for the owner)."""

    directory: Path
    version: str
    value: T
    notices: tuple[str, ...] = ()
    invalid: str | None = None  # the rendered ConfigError of the refused upload


@dataclass
class ConfigSource(Generic[T]):
    """The S3 configuration of one process: `client` is boto3's S3 client (or a test's), `cache` the local
    directory under /tmp, `validate` loads and compiles a directory (raising `ConfigError`)."""

    location: S3Location
    client: Any
    cache: Path
    validate: Callable[[Path], T]
    _valid: tuple[str, Path] | None = field(default=None, init=False)  # (version, directory) last used

    def resolve(self) -> Resolved[T]:
        try:
            listed = self._list(self.location.prefix)
        except _S3Error as exc:
            return self._fallback(None, CONFIG_UNREADABLE_NOTICE, str(exc))
        version = "s3:" + _digest(f"{key}:{etag}" for key, etag in listed.items())
        directory = self.cache / "downloads" / version.replace(":", "-")
        try:
            if not (directory / ".complete").exists():
                self._download(listed, self.location.prefix, directory)
        except _S3Error as exc:
            return self._fallback(None, CONFIG_UNREADABLE_NOTICE, str(exc))
        try:
            value = self.validate(directory)
        except ConfigError as exc:
            return self._fallback(exc, CONFIG_INVALID_NOTICE, exc.render())
        self._keep(version, directory)
        return Resolved(directory, version, value)

    # -- the last valid configuration --------------------------------------------------------------------

    @property
    def _last_valid(self) -> S3Location:
        return S3Location(self.location.bucket, LAST_VALID_PREFIX)

    def _keep(self, version: str, directory: Path) -> None:
        """`directory` (valid) is the last valid configuration: here and in S3, unless it is already."""
        if self._valid is not None and self._valid[0] == version:
            return
        local = self.cache / "last-valid"
        if _read_manifest(local / MANIFEST).get("version") != version:
            shutil.rmtree(local, ignore_errors=True)
            shutil.copytree(directory, local, ignore=shutil.ignore_patterns(".complete"))
            files = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
            (local / MANIFEST).write_text(json.dumps({"version": version, "files": files}), encoding="utf-8")
        try:
            remote = self._get(self._last_valid.prefix + MANIFEST)
            if remote is None or json.loads(remote).get("version") != version:
                manifest = json.loads((local / MANIFEST).read_text(encoding="utf-8"))
                for relative in manifest["files"]:
                    self._put(self._last_valid.prefix + relative, (local / relative).read_bytes())
                self._put(self._last_valid.prefix + MANIFEST, (local / MANIFEST).read_bytes())  # last
        except (_S3Error, ValueError) as exc:  # the local copy still serves this container
            emit(log, logging.WARNING, "config_last_valid_not_saved", error=str(exc))
        self._valid = (version, directory)

    def _fallback(self, refused: ConfigError | None, notice: str, error: str) -> Resolved[T]:
        emit(log, logging.ERROR, "config_invalid" if refused else "config_unreadable", error=error)
        for directory in self._last_valid_directories():
            manifest = _read_manifest(directory / MANIFEST)
            try:
                value = self.validate(directory)
            except ConfigError:
                continue
            version = str(manifest.get("version") or local_version(directory))
            self._valid = (version, directory)
            line = notice.format(version=version, error=error.splitlines()[0] if error else "")
            return Resolved(directory, version, value, (line,), error)
        if refused is not None:
            raise refused
        raise ConfigError(
            f"the configuration cannot be read and no last valid one is kept: {error}",
            file=self.location.url(),
        )

    def _last_valid_directories(self) -> Iterable[Path]:
        local = self.cache / "last-valid"
        if (local / MANIFEST).exists():
            yield local
        try:
            raw = self._get(self._last_valid.prefix + MANIFEST)
            if raw is None:
                return
            manifest = json.loads(raw)
            target = self.cache / "restored"
            shutil.rmtree(target, ignore_errors=True)
            for relative in manifest.get("files", []):
                if not _wanted(relative):
                    continue
                body = self._get(self._last_valid.prefix + relative)
                if body is not None:
                    (target / relative).parent.mkdir(parents=True, exist_ok=True)
                    (target / relative).write_bytes(body)
            (target / MANIFEST).write_bytes(raw)
            yield target
        except (_S3Error, ValueError) as exc:
            emit(log, logging.WARNING, "config_last_valid_unreadable", error=str(exc))

    # -- S3 -------------------------------------------------------------------------------------------

    def _list(self, prefix: str) -> dict[str, str]:
        """The configuration's files under `prefix`: relative key -> ETag."""
        found: dict[str, str] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.location.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._s3("list the configuration", self.client.list_objects_v2, **kwargs)
            for entry in page.get("Contents", []):
                relative = str(entry["Key"])[len(prefix) :]
                if _wanted(relative):
                    found[relative] = str(entry.get("ETag", "")).strip('"')
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return found

    def _download(self, listed: dict[str, str], prefix: str, directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        for relative in listed:
            body = self._get(prefix + relative)
            if body is None:
                raise _S3Error(f"{self.location.url(relative)} disappeared while it was read")
            (directory / relative).parent.mkdir(parents=True, exist_ok=True)
            (directory / relative).write_bytes(body)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".complete").write_text("", encoding="utf-8")

    def _get(self, key: str) -> bytes | None:
        try:
            answer = self._s3(
                f"read s3://{self.location.bucket}/{key}",
                self.client.get_object,
                Bucket=self.location.bucket,
                Key=key,
            )
        except _S3Error as exc:
            if exc.code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        body: bytes = answer["Body"].read()
        return body

    def _put(self, key: str, body: bytes) -> None:
        self._s3(
            f"write s3://{self.location.bucket}/{key}",
            self.client.put_object,
            Bucket=self.location.bucket,
            Key=key,
            Body=body,
        )

    @staticmethod
    def _s3(what: str, call: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except Exception as exc:  # botocore's errors, translated here (nothing from the SDK leaks upward)
            response = getattr(exc, "response", None)
            code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
            raise _S3Error(f"cannot {what}: {code or type(exc).__name__}", code) from exc


class _S3Error(NaverSmsError):
    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def s3_client(region: str, endpoint: str | None) -> Any:
    """boto3's S3 client (a local endpoint - moto_server - with dummy credentials when none are set)."""
    # boto3 only where a client is built (a process reading its configuration from S3)
    import boto3
    from botocore.config import Config

    credentials: dict[str, str] = {}
    if endpoint and not os.environ.get("AWS_ACCESS_KEY_ID"):
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.session.Session().client(  # type: ignore[call-overload]
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10),
        **credentials,
    )
