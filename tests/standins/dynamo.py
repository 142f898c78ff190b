"""DynamoDB stand-ins: moto_server and dynalite as real subprocesses on random free ports of 127.0.0.1.

- `moto_server` (PyPI `moto[server]`): complete API, but its conditional writes are not atomic under
  concurrent requests - never use it to prove "exactly one winner".
- `dynalite` (npm): atomic conditional writes; used for every concurrency test.
  Found through `$DYNALITE_BIN` (set by `make test`), then `.node/node_modules/.bin/dynalite`, then `$PATH`.

The launchers (`moto_server`, `dynalite`) are plain context managers, usable outside pytest (bench/).
The fixtures start each server once per test session; `dynamo_tables` gives each test its own uniquely
named pair of tables, so tests never see each other's rows. Re-export the fixtures in a conftest with
`from tests.standins.dynamo import moto_endpoint, dynalite_endpoint, dynamo_target  # noqa: F401`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from naver_sms.database.dynamo_tables import create_tables
from naver_sms.database.dynamo_target import DynamoTarget
from tests.standins.server import free_port, require, wait_for_port

__all__ = [
    "DYNAMO_BACKENDS",
    "dynalite",
    "dynalite_endpoint",
    "dynamo_target",
    "find_dynalite",
    "find_moto_server",
    "moto_endpoint",
    "moto_server",
    "new_target",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DYNAMO_BACKENDS = ("moto", "dynalite")


def find_moto_server() -> str | None:
    beside_python = Path(sys.executable).with_name("moto_server")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("moto_server")


def find_dynalite() -> str | None:
    from_env = os.environ.get("DYNALITE_BIN")
    if from_env and Path(from_env).exists():
        return from_env
    local = REPO_ROOT / ".node" / "node_modules" / ".bin" / "dynalite"
    if local.exists():
        return str(local)
    return shutil.which("dynalite")


@contextmanager
def _process(argv: list[str], port: int, name: str) -> Iterator[str]:
    """Start a server, wait until it listens, yield its endpoint, and stop it (that process only).

    Its output goes to a temporary file (moto_server logs every request: a pipe would fill and block it)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            try:
                wait_for_port(port, timeout=30, proc=proc)
            except RuntimeError as exc:
                log.seek(0)
                raise RuntimeError(
                    f"{name} did not start: {exc}\n{log.read()[-2000:].decode(errors='replace')}"
                ) from exc
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextmanager
def moto_server(binary: str | None = None) -> Iterator[str]:
    """Run moto_server (DynamoDB, Secrets Manager, ...) on a free port; yields its endpoint URL."""
    binary = binary or find_moto_server()
    if binary is None:
        raise RuntimeError("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    with _process([binary, "-H", "127.0.0.1", "-p", str(port)], port, "moto_server") as endpoint:
        yield endpoint


@contextmanager
def dynalite(binary: str | None = None) -> Iterator[str]:
    """Run dynalite in memory on a free port, tables ACTIVE at once; yields its endpoint URL."""
    binary = binary or find_dynalite()
    if binary is None:
        raise RuntimeError("dynalite is not installed (npm install --prefix .node dynalite@3)")
    port = free_port()
    node = shutil.which("node")
    # with a guard preloaded: a client gone mid-request must not end the stand-in (dynalite_guard.js)
    guard = [node, "--require", str(Path(__file__).with_name("dynalite_guard.js"))] if node else []
    argv = [
        *guard,
        binary,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--createTableMs",
        "0",
        "--deleteTableMs",
        "0",
        "--updateTableMs",
        "0",
    ]
    with _process(argv, port, "dynalite") as endpoint:
        yield endpoint


def new_target(endpoint: str, *, create: bool = True) -> DynamoTarget:
    """A target with its own uniquely named tables on `endpoint` (created unless `create=False`)."""
    suffix = uuid.uuid4().hex[:10]
    target = DynamoTarget(
        region="ap-northeast-2",
        endpoint=endpoint,
        sms_table=f"sms-{suffix}",
        session_table=f"session-{suffix}",
    )
    if create:
        create_tables(target)
    return target


# --- pytest fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto_server started for this test session."""
    binary = find_moto_server()
    require(binary, "moto_server (PyPI moto[server])")
    with moto_server(binary) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def dynalite_endpoint() -> Iterator[str]:
    """The endpoint URL of a dynalite started for this test session."""
    binary = find_dynalite()
    require(binary and shutil.which("node"), "dynalite (npm dynalite@3, with node)")
    with dynalite(binary) as endpoint:
        yield endpoint


@pytest.fixture
def dynamo_target(request: pytest.FixtureRequest) -> Callable[[str], DynamoTarget]:
    """`dynamo_target("moto" | "dynalite")` -> a target with fresh tables on that stand-in."""

    def make(backend: str) -> DynamoTarget:
        endpoint = request.getfixturevalue(f"{backend}_endpoint")
        return new_target(str(endpoint))

    return make
