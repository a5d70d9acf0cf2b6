"""`make demo`: the Weibo daily DAG against the local sandbox, into the embedded DuckDB warehouse.

The sandbox runs in a background thread of this process and stops at the end. Its clock is set to
one hour after the data date ends, as if the DAG had run on schedule, so a past date gives the
numbers that day would have given.
"""

from __future__ import annotations

import logging
import os
import time as clock
from datetime import date, timedelta

from shengliang import settings
from shengliang.airflow_local import init_metadata_db, run_dag, use_project_airflow
from shengliang.weibo_pipeline import RunWindow, yesterday_in_beijing

log = logging.getLogger(__name__)


def sandbox_environment(server) -> dict[str, str]:
    """The variables that point the pipeline at a sandbox: base URL and one token per account."""
    env = {"WEIBO_API_BASE": f"{server.base_url}/2/"}
    for account in server.world.accounts:
        env[f"WEIBO_TOKEN_{account.uid}"] = server.world.token_for(account.uid)
    return env


def run_demo(data_date: date | None) -> int:
    from sandbox.server import SandboxServer
    from shengliang.report import format_weibo_summary, weibo_day_summary
    from warehouse.db import open_warehouse, safe_url

    data_date = data_date or yesterday_in_beijing()
    started = clock.monotonic()
    print(f"[1/4] preparing Airflow (metadata DB under {settings.data_dir() / 'airflow'})", flush=True)
    use_project_airflow()
    init_metadata_db()

    window = RunWindow.for_date(data_date, tracking_days=7)
    with SandboxServer(now=window.interval_end + timedelta(hours=1)).start() as server:
        os.environ.update(sandbox_environment(server))
        print(
            f"[2/4] sandbox on {server.base_url} with {len(server.world.accounts)} Weibo accounts", flush=True
        )
        print(f"[3/4] running DAG weibo_daily for {data_date} (Beijing time)", flush=True)
        state = run_dag("weibo_daily", data_date)
        calls = dict(server.call_counts)

    url = settings.warehouse_url()
    print(f"[4/4] summary (DAG run state: {state})\n", flush=True)
    with open_warehouse(url) as engine:
        print(format_weibo_summary(weibo_day_summary(engine, data_date, safe_url(url))))
    per_endpoint = ", ".join(f"{endpoint} {n}" for endpoint, n in sorted(calls.items()))
    print(f"  API calls to the sandbox: {sum(calls.values())} ({per_endpoint})")
    print(f"  wall time: {clock.monotonic() - started:.1f}s")
    return 0 if state == "success" else 1
