"""The configuration as the console reads and writes it, with its versions: one small interface, two places - a
directory (one machine; `config/`) or an S3 location (AWS: the deployment's `s3://bucket/config/`, read by the
function through `NAVER_SMS_CONFIG_DIR`).

Only the configuration's own files are ever written - `stores.yaml`, `templates.yaml`, `rules.yaml`,
`reports.yaml` and `tests/*.yaml` - under the location itself; a name from anywhere else (a form, a URL) is
refused (`ConfigStoreError`). Every save keeps the whole configuration as a version under `.versions/<id>/`
inside the location (the loader never reads it), the configuration as it was before the first save included,
so any version can be listed and rolled back to.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from naver_sms.domain.clock import KST, Clock, SystemClock
from naver_sms.errors import NaverSmsError

FILES = ("stores.yaml", "templates.yaml", "rules.yaml", "reports.yaml")
_FIXTURE = re.compile(r"^tests/[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.yaml$")
_VERSION = re.compile(r"^\d{4,}-\d{8}T\d{6}-[0-9a-f]{8}$")
VERSIONS = ".versions"


class ConfigStoreError(NaverSmsError):
    """A name the store never writes, a version that does not exist, or the place cannot be read or written."""


def check_name(name: str) -> str:
    """`name` if it is one of the configuration's files (refused otherwise: nothing else is ever written)."""
    if name in FILES or _FIXTURE.fullmatch(name):
        return name
    raise ConfigStoreError(f"{name!r} is not a configuration file")


def check_version(version: str) -> str:
    if not _VERSION.fullmatch(version):
        raise ConfigStoreError(f"{version!r} is not a version")
    return version


def digest(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name] + b"\0")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Version:
    id: str
    at: str  # ISO 8601, Korean time
    note: str
    digest: str
    seq: int = 0  # the order of the saves (two in one second keep their order)


class ConfigStore(Protocol):
    location: str

    def read(self) -> dict[str, bytes]:
        """The configuration's files as they are now (name -> bytes)."""
        ...

    def save(self, files: Mapping[str, bytes], note: str) -> Version:
        """Make `files` the configuration (names checked; a file left out is kept) and keep it as a version."""
        ...

    def versions(self) -> list[Version]:
        """The kept versions, newest first."""
        ...

    def read_version(self, version: str) -> dict[str, bytes]: ...


def materialise(files: Mapping[str, bytes], into: Path) -> Path:
    """Write `files` into directory `into` (for the checks: the loader reads a directory)."""
    for name, data in files.items():
        target = into / check_name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return into


class _Versioned:
    """The versions, written through three primitives of a place: get, put, list."""

    location = ""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()

    def _get(self, name: str) -> bytes | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _put(self, name: str, data: bytes) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _list(self, prefix: str) -> list[str]:  # pragma: no cover - abstract
        """The names under `prefix` (relative to the location), at any depth."""
        raise NotImplementedError

    def read(self) -> dict[str, bytes]:
        names = [*FILES, *(n for n in self._list("tests/") if _FIXTURE.fullmatch(n))]
        return {n: data for n in names if (data := self._get(n)) is not None}

    def save(self, files: Mapping[str, bytes], note: str) -> Version:
        for name in files:
            check_name(name)
        if not self.versions():  # the configuration as it was before the first save
            self._keep(self.read(), "as it was before the first save")
        merged = {**self.read(), **files}
        for name, data in files.items():
            self._put(name, data)
        return self._keep(merged, note)

    def _keep(self, files: Mapping[str, bytes], note: str) -> Version:
        at = self.clock().astimezone(KST)
        seq = max((v.seq for v in self.versions()), default=0) + 1
        version = Version(
            f"{seq:04d}-{at:%Y%m%dT%H%M%S}-{digest(files)[:8]}",
            at.isoformat(),
            note[:200],
            digest(files),
            seq,
        )
        for name, data in files.items():
            self._put(f"{VERSIONS}/{version.id}/{name}", data)
        meta = {
            "at": version.at,
            "note": version.note,
            "digest": version.digest,
            "seq": version.seq,
            "files": sorted(files),
        }
        self._put(f"{VERSIONS}/{version.id}/VERSION.json", json.dumps(meta, ensure_ascii=False).encode())
        return version

    def versions(self) -> list[Version]:
        found = []
        for name in self._list(f"{VERSIONS}/"):
            parts = name.split("/")
            if len(parts) == 3 and parts[2] == "VERSION.json" and _VERSION.fullmatch(parts[1]):
                raw = self._get(name)
                try:
                    meta = json.loads(raw or b"{}")
                except ValueError:
                    continue
                found.append(
                    Version(
                        parts[1],
                        str(meta.get("at", "")),
                        str(meta.get("note", "")),
                        str(meta.get("digest", "")),
                        int(meta.get("seq", 0)),
                    )
                )
        return sorted(found, key=lambda v: (v.seq, v.id), reverse=True)

    def read_version(self, version: str) -> dict[str, bytes]:
        check_version(version)
        raw = self._get(f"{VERSIONS}/{version}/VERSION.json")
        if raw is None:
            raise ConfigStoreError(f"no version {version}")
        names = json.loads(raw).get("files", [])
        return {
            n: data for n in names if (data := self._get(f"{VERSIONS}/{version}/{check_name(n)}")) is not None
        }


class DirectoryConfigStore(_Versioned):
    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.root = path.resolve()
        self.location = str(path)

    def _path(self, name: str) -> Path:
        target = (self.root / name).resolve()
        if self.root not in target.parents:  # never outside the configuration's directory
            raise ConfigStoreError(f"{name!r} is outside {self.location}")
        return target

    def _get(self, name: str) -> bytes | None:
        path = self._path(name)
        return path.read_bytes() if path.is_file() else None

    def _put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)  # atomic: a reader sees the old file or the new one

    def _list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/"))
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())


class S3ConfigStore(_Versioned):
    """The configuration under `s3://bucket/prefix/` (the function reads the same place)."""

    def __init__(
        self, url: str, *, client: Any = None, region: str | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(clock)
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigStoreError(f"not an S3 location: {url!r} (expected s3://bucket/prefix/)")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.lstrip("/")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        self.location = f"s3://{self.bucket}/{self.prefix}"
        if client is None:
            # boto3 only where the configuration is kept in S3
            import boto3

            client = boto3.client("s3", region_name=region)
        self.client = client

    def _key(self, name: str) -> str:
        if ".." in name.split("/") or name.startswith("/"):
            raise ConfigStoreError(f"{name!r} is outside {self.location}")
        return self.prefix + name

    def _get(self, name: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read())
        except self.client.exceptions.NoSuchKey:
            return None
        except Exception as exc:
            raise ConfigStoreError(f"{self.location}{name}: {exc}") from exc

    def _put(self, name: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)
        except Exception as exc:
            raise ConfigStoreError(f"{self.location}{name}: {exc}") from exc

    def _list(self, prefix: str) -> list[str]:
        names: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            ):
                names += [str(o["Key"])[len(self.prefix) :] for o in page.get("Contents", [])]
        except Exception as exc:
            raise ConfigStoreError(f"{self.location}{prefix}: {exc}") from exc
        return sorted(names)


def config_store(location: str, *, clock: Clock | None = None, region: str | None = None) -> ConfigStore:
    if location.startswith("s3://"):
        return S3ConfigStore(location, clock=clock, region=region)
    return DirectoryConfigStore(Path(location), clock=clock)


def now_text(at: datetime) -> str:
    return f"{at.astimezone(KST):%Y-%m-%d %H:%M}"
