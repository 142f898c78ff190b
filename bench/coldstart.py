"""Cold start of the Lambda handler (issue 8, item 12): import time and first invocation, each in a fresh
process, several times (median); and the image's size when the image exists.

    .venv/bin/python bench/coldstart.py [--runs 7] [--importtime] [--image naver-sms:test] [--src PATH]

`--src PATH` measures another checkout's package (its `src/`, put first on PYTHONPATH): e.g. before a change,
`git worktree add /tmp/before <commit> && python -m compileall -q /tmp/before/src` then `--src /tmp/before/src`.

(a) `import naver_sms.handler` in a fresh interpreter (what Lambda's init phase pays before the first
    event), measured inside the process with perf_counter around the import; with --importtime, the
    heaviest modules of one `python -X importtime` run are listed;
(b) the first invocation in a fresh process: the handler imported, then one sandbox invocation over the
    example bookings (SQLite in a temp directory, every SMS to the outbox) - what the first event pays on
    top of the import: the runner, the wiring, the configuration and the state backend;
(c) the image's size, with bench/image_size.sh, when a Docker daemon and the image are there (make
    image-test prints it too);
(d) `import naver_sms.cli` in a fresh interpreter: what every `naver-sms` command pays before it starts.

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _import(module: str) -> str:
    """Code that imports `module` and prints the seconds it took."""
    return f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


_FIRST = """
import os, sys, time
t0 = time.perf_counter()
import naver_sms.handler as h
t1 = time.perf_counter()
result = h.LambdaHandler()({}, None)
t2 = time.perf_counter()
assert result["ok"], result
print(t1 - t0, t2 - t1)
"""


SRC: str | None = None  # --src


def _python(code: str, env: dict[str, str] | None = None) -> str:
    env = dict(os.environ if env is None else env)
    if SRC:
        env["PYTHONPATH"] = SRC
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    return done.stdout.strip().splitlines()[-1]


def _ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"median {statistics.median(ms):.0f} ms (min {min(ms):.0f}, max {max(ms):.0f}, n={len(ms)})"


def import_times(runs: int, module: str = "naver_sms.handler") -> list[float]:
    return [float(_python(_import(module))) for _ in range(runs)]


def first_invocations(runs: int) -> tuple[list[float], list[float]]:
    imports, invocations = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="naver-sms-coldstart-") as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("NAVER_SMS_", "POWERTOOLS_"))}
            env.update(
                NAVER_SMS_DB=str(Path(tmp) / "state.sqlite3"),
                NAVER_SMS_BOOKINGS_PATH=str(ROOT / "examples" / "bookings"),
                NAVER_SMS_CONFIG_DIR=str(ROOT / "config"),
                NAVER_SMS_TELEGRAM_ENABLED="false",
                POWERTOOLS_METRICS_NAMESPACE="NaverSmsBench",
            )
            first_import, invocation = (float(x) for x in _python(_FIRST, env).split())
            imports.append(first_import)
            invocations.append(invocation)
    return imports, invocations


def heaviest(limit: int = 12) -> list[str]:
    env = {**os.environ, **({"PYTHONPATH": SRC} if SRC else {})}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import naver_sms.handler"],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )  # fmt: skip
    rows = []
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[0].isdigit():
            rows.append((int(parts[1]), int(parts[0]), parts[2]))
    rows.sort(reverse=True)
    return [f"{c / 1000:7.1f} ms cumulative {s / 1000:6.1f} ms self  {n}" for c, s, n in rows[:limit]]


def image_size(tag: str) -> str:
    script = ROOT / "bench" / "image_size.sh"
    docker = os.environ.get("DOCKER", "/usr/bin/docker")
    if not shutil.which(docker) or not os.environ.get("DOCKER_HOST"):
        return "image: no Docker daemon here (make image-test prints the size: bench/image_size.sh)"
    done = subprocess.run([str(script), tag], capture_output=True, text=True, check=False)
    return done.stdout.strip() or f"image {tag}: not found ({done.stderr.strip()})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--importtime", action="store_true", help="list the heaviest modules of one import")
    parser.add_argument("--image", default="naver-sms:test")
    parser.add_argument("--src", help="measure the package under this src/ directory instead")
    args = parser.parse_args()
    global SRC
    SRC = args.src
    where = f" of {SRC}" if SRC else ""
    print(f"python {sys.version.split()[0]}, {args.runs} fresh processes each{where}")
    print(f"(a) import naver_sms.handler: {_ms(import_times(args.runs))}")
    imports, invocations = first_invocations(args.runs)
    print(f"(b) first invocation (sandbox, example bookings): {_ms(invocations)}; its import {_ms(imports)}")
    print(f"    import + first invocation: {_ms([a + b for a, b in zip(imports, invocations, strict=True)])}")
    if args.importtime:
        print("    heaviest modules of the import (python -X importtime):")
        for row in heaviest():
            print("     ", row)
    print(f"(c) {image_size(args.image)}")
    cli = _ms(import_times(args.runs, "naver_sms.cli"))
    print(f"(d) import naver_sms.cli (every naver-sms command, --help included): {cli}")


if __name__ == "__main__":
    main()
