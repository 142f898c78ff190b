"""What one SENS send costs the client, in instructions (callgrind): steady where CPU seconds are not.

    .venv/bin/python bench/send_instructions.py [--sends 300] [--src PATH]

A first run sends one POST per SMS (70,000 for 100,000 new bookings); this machine's CPU seconds for the same
work move by a third from hour to hour, so a change to the send path is measured here in instructions, as
bench/page_instructions.py measures a Naver page: a fresh process sends `--sends` SMS with `SensClient.send` (the
run's own client, as `build_runtime` makes it) to the SENS stand-in (bench/sens_server.py, signatures checked),
under `valgrind --tool=callgrind`, and once with one send only; the difference over `--sends` is one send's
instructions: the signature, the request, the answer and its receipt. The same in the same process for a bare
`urllib3` POST of the same body with the same headers, for the floor under it.

`--src PATH` measures another checkout's package (its `src/`), e.g. `git worktree add /tmp/before <commit>`, then
`--src /tmp/before/src`. Needs `valgrind` (Debian: `apt-get install valgrind`). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.page_instructions import instructions  # noqa: E402

CHILD = """
import sys, time
sys.path.insert(0, {src!r})
from naver_sms.notifications.sms_service import SensClient
from naver_sms.ports import SmsMessage
creds, url, sends, mode = {creds!r}, {url!r}, {sends}, {mode!r}
sms = SensClient(base_url=url, service_id=creds["sens_service_id"], access_key=creds["sens_access_key"],
                 secret_key=creds["sens_secret_key"])
message = SmsMessage(to="01000000000", sender="0200000000", type="SMS", subject="",
                     content="[스튜디오] 예약이 확정되었습니다. 11월 27일 14:00")
if mode == "client":
    for _ in range(sends + 1):
        sms.send(message)
else:  # a bare urllib3 POST of the same body, signed, with the headers httpx would send
    import httpx, urllib3
    from naver_sms.notifications.sens_wire import make_signature
    body, path = message.sens_bytes(), sms._messages_path
    defaults = list(httpx.Client().headers.multi_items())
    pool = urllib3.PoolManager(maxsize=4)
    for _ in range(sends + 1):
        stamp = str(int(time.time() * 1000))
        headers = urllib3.HTTPHeaderDict(defaults)
        headers.add("x-ncp-apigw-timestamp", stamp)
        headers.add("x-ncp-iam-access-key", creds["sens_access_key"])
        headers.add("x-ncp-apigw-signature-v2",
                    make_signature("POST", path, stamp, creds["sens_access_key"], creds["sens_secret_key"]))
        headers.add("Content-Type", "application/json; charset=utf-8")
        pool.urlopen("POST", url + path, body=body, headers=headers, redirect=False, retries=False,
                     preload_content=True, decode_content=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument(
        "--src", default=str(ROOT / "src"), help="the package to measure (default: this checkout)"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    from bench.counters import SensProcess

    with SensProcess() as sens:
        print(f"one SENS send, {args.sends} sends, the package at {args.src}:")
        for mode, label in (("client", "SensClient.send"), ("bare", "urllib3 POST")):
            counts = [
                instructions(
                    CHILD.format(src=args.src, creds=sens.credentials, url=sens.url, sends=n, mode=mode)
                )
                for n in (0, args.sends)
            ]
            print(f"  {label:22s} {(counts[1] - counts[0]) // args.sends:>12,} instructions a send")


if __name__ == "__main__":
    main()
