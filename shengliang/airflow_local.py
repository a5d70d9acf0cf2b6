"""Running the project's DAGs locally with the project's airflow.cfg (the demo and the tests).

Importing Airflow reads its configuration once, so `use_project_airflow` must run before any
`airflow` import in the process.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from pathlib import Path

from shengliang.settings import BEIJING, PROJECT_ROOT, data_dir

LOCAL_RETRY_DELAY_SECONDS = 2
POOLS = {
    "weibo_api": (2, "Concurrent Weibo API extract tasks (per-token limits are per hour)"),
    "wechat_api": (2, "Concurrent WeChat API extract tasks (daily quotas are per app)"),
    "warehouse_writer": (1, "The warehouse has one writer at a time (DuckDB allows a single writer)"),
}


def use_project_airflow(home: Path | None = None) -> Path:
    """Point Airflow at airflow.cfg and a home under the project's data folder (never ~/airflow)."""
    home = Path(home or data_dir() / "airflow")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW_CONFIG"] = str(PROJECT_ROOT / "airflow.cfg")
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_ROOT / "dags")
    return home


def init_metadata_db() -> None:
    """Create or migrate the Airflow metadata DB and make sure the project's pools exist."""
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.initdb()
    for name, (slots, description) in POOLS.items():
        Pool.create_or_update_pool(name, slots=slots, description=description, include_deferred=False)


def logical_date_for(dag, data_date: date) -> datetime:
    """The instant at which a manual run of `dag` gets the data interval starting on `data_date`
    (Beijing): Airflow gives a manual run the last complete interval before it."""
    import pendulum

    run_after = pendulum.instance(datetime.combine(data_date + timedelta(days=1), time(0), BEIJING))
    for _ in range(3):
        interval = dag.timetable.infer_manual_data_interval(run_after=run_after)
        start_date = interval.start.astimezone(BEIJING).date()
        if start_date == data_date:
            return run_after
        run_after = interval.end + timedelta(days=(data_date - start_date).days)
    raise RuntimeError(f"cannot find a run of {dag.dag_id} whose data interval starts on {data_date}")


def run_dag(dag_id: str, data_date: date) -> str:
    """`dag.test()` the DAG for one data date; returns the run's state."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    for task in dag.tasks:  # local runs: retry after seconds, not the production 5 minutes
        task.retry_delay = timedelta(seconds=LOCAL_RETRY_DELAY_SECONDS)
        task.retry_exponential_backoff = False
    run = dag.test(logical_date=logical_date_for(dag, data_date))
    return str(run.state)
