"""The Docker client as the image tests use it: containers of the image under test, removed by the tests.

The daemon is the one `deploy/with-dockerd.sh` started (`DOCKER_HOST`); `DOCKER` names the client. Every
container runs with host networking or none - never a bridge - and as Lambda runs it: read-only root file
system, a writable /tmp only, a non-root user, no capabilities, 1024 MB (the function's MemorySize).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAMBDA_LIKE", "Container", "docker", "image_tag", "run_container"]

#: What Lambda's execution environment imposes, as far as Docker can impose it.
LAMBDA_LIKE = (
    "--read-only",
    "--tmpfs=/tmp:rw,exec,nosuid,size=512m",
    "--user=993:993",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--memory=1024m",
)


def docker_client() -> str:
    return os.environ.get("DOCKER", "/usr/bin/docker")


def image_tag() -> str:
    tag = os.environ.get("NAVER_SMS_IMAGE")
    assert tag, "NAVER_SMS_IMAGE is not set: run these tests with `make image-test`"
    return tag


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One docker command; its output as text. A failure shows what docker said."""
    completed = subprocess.run(
        [docker_client(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args[:2])} failed ({completed.returncode}): {completed.stderr}"
        )
    return completed


@dataclass
class Container:
    id: str

    def logs(self) -> str:
        done = docker("logs", self.id, check=False)
        return done.stdout + done.stderr

    def running(self) -> bool:
        done = docker("inspect", "--format", "{{.State.Running}}", self.id, check=False)
        return done.stdout.strip() == "true"

    def exit_code(self) -> int:
        return int(docker("wait", self.id, timeout=60).stdout.strip())


@contextmanager
def run_container(
    env: Mapping[str, str],
    *,
    network: str = "host",
    mounts: Sequence[tuple[Path, str]] = (),
    command: Sequence[str] = (),
    entrypoint: str | None = None,
) -> Iterator[Container]:
    """Start a container of the image (detached, Lambda-like), yield it, then remove it (by its id)."""
    assert network in ("host", "none"), "only host or no networking: never a bridge"
    args = ["run", "--detach", f"--name=naver-sms-test-{uuid.uuid4().hex[:10]}", f"--network={network}"]
    args += LAMBDA_LIKE
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    for source, target in mounts:
        args += ["--mount", f"type=bind,source={source},target={target},readonly"]
    if entrypoint is not None:
        args += ["--entrypoint", entrypoint]
    container = Container(docker(*args, image_tag(), *command).stdout.strip())
    try:
        yield container
    finally:
        docker("rm", "--force", container.id, check=False)
