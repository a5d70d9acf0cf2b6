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


# The sandbox clock during the demo: 09:30 Beijing on the day after the data date, as if both DAGs
# (weibo_daily at 00:00, wechat_daily at 08:30 after WeChat publishes yesterday's figures) had run.
SANDBOX_CLOCK_AFTER_DATE = timedelta(hours=9, minutes=30)
WECHAT_CALL_PREFIXES = ("cgi-bin/", "datacube/")


def sandbox_environment(server) -> dict[str, str]:
    """The variables that point the pipeline at a sandbox: base URLs, Weibo tokens, WeChat secrets."""
    env = {"WEIBO_API_BASE": f"{server.base_url}/2/", "WECHAT_API_BASE": f"{server.base_url}/"}
    for account in server.world.accounts:
        env[f"WEIBO_TOKEN_{account.uid}"] = server.world.token_for(account.uid)
    for app in server.wechat_world.apps:
        env[f"WECHAT_SECRET_{app.appid.upper()}"] = server.wechat_world.secret_for(app.appid)
    return env


def calls_by_platform(call_counts: dict[str, int]) -> dict[str, dict[str, int]]:
    split: dict[str, dict[str, int]] = {"weibo": {}, "wechat": {}}
    for endpoint, count in sorted(call_counts.items()):
        platform = "wechat" if endpoint.startswith(WECHAT_CALL_PREFIXES) else "weibo"
        split[platform][endpoint] = count
    return split


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
    from shengliang.report import day_summary
    from shengliang.reporting import describe, render_reports
    from warehouse.connect import open_warehouse
    from warehouse.db import safe_url

    data_date = data_date or yesterday_in_beijing()
    started = clock.monotonic()
    print(f"[1/5] preparing Airflow (metadata DB under {settings.data_dir() / 'airflow'})", flush=True)
    home = use_project_airflow()
    airflow_log = home / "demo.log"
    with airflow_output_to(airflow_log):
        init_metadata_db()

    window = RunWindow.for_date(data_date, tracking_days=7)
    states = {}
    with SandboxServer(now=window.interval_end + SANDBOX_CLOCK_AFTER_DATE).start() as server:
        os.environ.update(sandbox_environment(server))
        _check_configuration()
        print(
            f"[2/5] sandbox on {server.base_url}: {len(server.world.accounts)} Weibo accounts, "
            f"{len(server.wechat_world.apps)} WeChat Official Accounts",
            flush=True,
        )
        for dag_id in ("weibo_daily", "wechat_daily"):
            print(f"[3/5] running DAG {dag_id} for {data_date} (Beijing time); Airflow's log: {airflow_log}")
            with airflow_output_to(airflow_log):
                states[dag_id] = run_dag(dag_id, data_date)
        calls = calls_by_platform(dict(server.call_counts))

    url = settings.warehouse_url()
    run_states = ", ".join(f"{dag_id} {state}" for dag_id, state in states.items())
    print(f"[4/5] summary (DAG runs: {run_states})", flush=True)
    if any(state != "success" for state in states.values()):
        print(f"  A run failed; the reason is in {airflow_log}. What the warehouse holds for the date:")
    print(flush=True)
    with open_warehouse(url) as engine:
        print(day_summary(engine, data_date, safe_url(url)))
        run = render_reports(engine, data_date)
    print(_calls_line("Weibo", calls["weibo"]))
    print(_calls_line("WeChat", calls["wechat"]))
    print(
        f"KPI table: .venv/bin/shengliang metrics --date {data_date}  (--format csv|xlsx|json --output FILE)"
    )
    print(f"[5/5] daily report for {data_date}, HTML with charts and xlsx (open the HTML in a browser):")
    print("\n".join(describe(run)))
    print(f"send it: .venv/bin/shengliang report --date {data_date} --send  (README: the daily report)")
    print(f"wall time: {clock.monotonic() - started:.1f}s")
    return 0 if all(state == "success" for state in states.values()) else 1


def _check_configuration() -> None:
    """Fail before Airflow starts on what no retry can fix: the registry, settings, warehouse URL."""
    from shengliang.daily import check_text_configuration
    from shengliang.registry import env_lookup, load_registry
    from shengliang.settings import PipelineSettings
    from warehouse.connect import open_warehouse
    from warehouse.migrate import upgrade_url

    registry = load_registry(settings.accounts_file(), lookup=env_lookup)
    PipelineSettings.from_env()
    check_text_configuration(account.brand.dictionary for account in registry.accounts)
    before, after = upgrade_url(settings.warehouse_url())
    if before != after:
        print(f"      warehouse schema migrated: {before or 'empty'} -> {after} (shengliang db upgrade)")
    with open_warehouse(settings.warehouse_url()):
        pass


def _calls_line(platform: str, calls: dict[str, int]) -> str:
    per_endpoint = ", ".join(f"{endpoint} {n}" for endpoint, n in calls.items())
    return f"{platform} API calls to the sandbox: {sum(calls.values())} ({per_endpoint})"
