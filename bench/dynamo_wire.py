"""One conditional write, through boto3 and through the rows' wire (database/dynamo_wire.py), against dynalite.

    .venv/bin/python bench/dynamo_wire.py               # 2,000 calls of each kind
    .venv/bin/python bench/dynamo_wire.py --calls 500

Per call, one thread, one after the other: the client process's CPU time (what botocore's pipeline costs) and the
wall time (dynalite's own work included). The calls are a run's two writes per SMS: a new row put with its claim
(`PutItem` with `attribute_not_exists`), and the commit (`UpdateItem` conditional on the claim, SET and REMOVE).
Nothing is asserted; VALIDATION.md quotes the output.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.standins.dynamo import dynalite, new_target

from naver_sms.database.dynamo_target import make_client
from naver_sms.database.dynamo_wire import DynamoWire


def calls(table: str, prefix: str, n: int) -> list[tuple[str, dict[str, Any]]]:
    made: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        key = {"booking_num": {"S": f"{prefix}{i}"}, "phone": {"S": "01000000000"}}
        claim = {"confirm_sms_claim_run": {"S": "run-1"}, "confirm_sms_claim_until": {"N": "1790000000"}}
        made.append(
            (
                "put_item",
                {
                    "TableName": table,
                    "Item": {
                        **key,
                        "name": {"S": "홍길동"},
                        "booking_time": {"S": "2026-11-27 10:00"},
                        **claim,
                    },
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": "booking_num"},
                },
            )
        )
        made.append(
            (
                "update_item",
                {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": "SET #a = :a, #b = :b REMOVE #c, #d",
                    "ConditionExpression": "attribute_exists(#k) AND #c = :r",
                    "ExpressionAttributeNames": {
                        "#a": "confirm_sms",
                        "#b": "confirm_sms_request_id",
                        "#c": "confirm_sms_claim_run",
                        "#d": "confirm_sms_claim_until",
                        "#k": "booking_num",
                    },
                    "ExpressionAttributeValues": {
                        ":a": {"BOOL": True},
                        ":b": {"S": "req-0001"},
                        ":r": {"S": "run-1"},
                    },
                    "ReturnValues": "NONE",
                },
            )
        )
    return made


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--calls", type=int, default=2000, help="writes of each kind (put, update) per client"
    )
    args = parser.parse_args()
    with dynalite() as endpoint:
        target = new_target(endpoint)
        client = make_client(target)
        wire = DynamoWire.of(client)
        assert wire is not None
        senders = {
            "boto3": lambda op, kw: getattr(client, op)(**kw),
            "wire": lambda op, kw: wire.call(op, **kw),
        }
        print(f"bench/dynamo_wire.py: {args.calls} PutItem + {args.calls} UpdateItem per client, dynalite")
        for name, send in senders.items():
            for operation in ("put_item", "update_item"):
                todo = [kw for op, kw in calls(target.sms_table, name, args.calls) if op == operation]
                cpu, wall = time.process_time(), time.perf_counter()
                for kwargs in todo:
                    send(operation, kwargs)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(
                    f"  {name:<6} {operation:<12} cpu {1000 * cpu / len(todo):5.2f} ms/call"
                    f"  wall {1000 * wall / len(todo):5.2f} ms/call"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
