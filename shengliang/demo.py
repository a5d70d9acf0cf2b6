"""`make demo`: the Weibo daily DAG against the local sandbox, into the embedded DuckDB warehouse.

The sandbox runs in a background thread of this process and stops at the end. Its clock is set to
one hour after the data date ends, as if the DAG had run on schedule, so a past date gives the
numbers that day would have given.
"""

from __future__ import annotations

import logging
import os
import sys
import time as clock
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from shengliang import settings
from shengliang.airflow_local import init_metadata_db, run_dag, use_project_airflow
from shengliang.daily import RunWindow, yesterday_in_beijing

log = logging.getLogger(__name__)


def sandbox_environment(server) -> dict[str, str]:
    """The variables that point the pipeline at a sandbox: base URL and one token per account."""
    env = {"WEIBO_API_BASE": f"{server.base_url}/2/"}
    for account in server.world.accounts:
        env[f"WEIBO_TOKEN_{account.uid}"] = server.world.token_for(account.uid)
    return env


@contextmanager
def airflow_output_to(log_path: Path) -> Iterator[None]:
    """Send Airflow's own (very chatty) output to a file; keep Shengliang's progress on the console."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    progress = logging.StreamHandler(console)
    progress.setFormatter(logging.Formatter("      %(message)s"))
    progress.setLevel(logging.INFO)
    ours = logging.getLogger("shengliang")
    ours.addHandler(progress)
    ours.setLevel(logging.INFO)
    with open(log_path, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            ours.removeHandler(progress)
            console.close()


def run_demo(data_date: date | None) -> int:
    from sandbox.server import SandboxServer
    from shengliang.report import format_weibo_summary, weibo_day_summary
    from warehouse.db import open_warehouse, safe_url

    data_date = data_date or yesterday_in_beijing()
    started = clock.monotonic()
    print(f"[1/4] preparing Airflow (metadata DB under {settings.data_dir() / 'airflow'})", flush=True)
    home = use_project_airflow()
    airflow_log = home / "demo.log"
    with airflow_output_to(airflow_log):
        init_metadata_db()

    window = RunWindow.for_date(data_date, tracking_days=7)
    with SandboxServer(now=window.interval_end + timedelta(hours=1)).start() as server:
        os.environ.update(sandbox_environment(server))
        print(
            f"[2/4] sandbox on {server.base_url} with {len(server.world.accounts)} Weibo accounts", flush=True
        )
        print(f"[3/4] running DAG weibo_daily for {data_date} (Beijing time); Airflow's log: {airflow_log}")
        with airflow_output_to(airflow_log):
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
