"""A process fetching through the cmflow HTTP kit, for the shared budget tests.

``python budget_client.py BASE_URL TOKEN COUNT [PATH]`` makes COUNT GET requests to PATH
(``/items``) with TOKEN, through one ``make_client`` (its budgets shared in Redis when
``CMFLOW_SHARED_BUDGETS`` is set), and prints one JSON line: the answers it got and the errors.
The budget's limits come from ``BUDGET_LIMITS`` (JSON of :class:`BudgetLimits` fields); the
lease of shared slots from ``BUDGET_LEASE`` (seconds); ``BUDGET_CLOCK_OFFSET`` (seconds) sets
this process's clock that far off true time, as a machine's badly set clock is. Prints ``holding`` before each request
so that a test knows when a slot is held.
"""

from __future__ import annotations

import json
import os
import sys
import time

from cmflow.http import BudgetLimits, PlatformError, RetryPolicy, make_client


def main(base_url: str, token: str, count: int, path: str = "/items") -> None:
    limits = BudgetLimits(**json.loads(os.environ.get("BUDGET_LIMITS", "{}")))
    offset = float(os.environ.get("BUDGET_CLOCK_OFFSET", "0"))
    client = make_client(allow_private_network=True, retry=RetryPolicy(max_attempts=8, max_total_wait=120),
                         clock=lambda: time.time() + offset)
    if os.environ.get("BUDGET_LEASE"):
        client.budgets.lease = float(os.environ["BUDGET_LEASE"])
    session = client.session("loopback", base_url=base_url, token=token, budget=limits)
    if os.environ.get("BUDGET_WAIT_FOR_GO"):  # start together with the others: say so, wait for the go
        print("ready", flush=True)
        sys.stdin.readline()
    answers, errors = 0, []
    for number in range(count):
        try:
            session.get_json(f"{path}?n={number}")
            answers += 1
        except PlatformError as exc:
            errors.append(str(exc))
    client.close()
    print(json.dumps({"answers": answers, "errors": errors}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
