"""
### weibo_daily

Reads every registered Weibo account for one day (Beijing time) and loads the warehouse:

1. **plan**: validate the registry, read since_id bookmarks and the posts still being tracked;
2. **extract** (mapped over batches of accounts, pool `weibo_api`): new posts, engagement
   refresh, follower counts; raw responses go to the lake first;
3. **transform**: clean, segment and shape the day's rows from the lake;
4. **load** (pool `warehouse_writer`, one slot): one idempotent transaction;
5. **build_marts** and **test_marts** (same pool): rebuild the metric marts from the facts and run
   their data tests; test_marts then emits the asset `shengliang-warehouse-weibo` (extra: the data
   date), which schedules the daily_report DAG;
6. **check**: fail the run, after the load, if accounts must re-authorize.

The data date is the Beijing date of the run's data interval start. Backfill with
`airflow backfill create --dag-id weibo_daily --from-date 2026-11-01 --to-date 2026-11-07`.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from shengliang.airflow_glue import (
    airflow_secret_lookup,
    data_date_of,
    fail_fast_on_config_errors,
    warehouse_asset,
)

PLATFORM = "weibo"
LOADED = warehouse_asset(PLATFORM)
WEIBO_API_POOL = "weibo_api"
WAREHOUSE_POOL = "warehouse_writer"


@dag(
    dag_id="weibo_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=3,
    tags=["shengliang", "weibo"],
    default_args={
        "owner": "shengliang",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
    },
    doc_md=__doc__,
)
def weibo_daily():
    @task(pool=WAREHOUSE_POOL)
    def plan(data_interval_start=None) -> list[list[dict]]:
        """Validate the account registry and split the accounts into batches with their bookmarks."""
        from shengliang import jobs

        with fail_fast_on_config_errors():
            return jobs.plan(PLATFORM, data_date_of(data_interval_start), lookup=airflow_secret_lookup)

    @task(pool=WEIBO_API_POOL)
    def extract(batch: list[dict], data_interval_start=None) -> list[dict]:
        """Read one batch of accounts from the Weibo API into the raw lake."""
        from shengliang import jobs

        with fail_fast_on_config_errors():
            return jobs.extract(
                PLATFORM, batch, data_date_of(data_interval_start), lookup=airflow_secret_lookup
            )

    @task
    def transform(batches: list[list[dict]], results: list[list[dict]], data_interval_start=None) -> str:
        """Clean and segment the day's raw responses into staged warehouse rows."""
        from shengliang import jobs

        with fail_fast_on_config_errors():
            return jobs.transform(
                PLATFORM,
                data_date_of(data_interval_start),
                plan=[t for batch in batches for t in batch],
                results=[r for batch in results for r in batch],
            )

    @task(pool=WAREHOUSE_POOL)
    def load(staged_folder: str) -> dict:
        """Load the staged day into the warehouse in one transaction."""
        from shengliang import jobs

        with fail_fast_on_config_errors():
            return dataclasses.asdict(jobs.load_staged(staged_folder))

    @task(pool=WAREHOUSE_POOL)
    def build_marts(loaded: dict) -> dict:
        """Rebuild the marts (warehouse/marts/) from the facts just loaded."""
        from shengliang import jobs

        with fail_fast_on_config_errors():
            return jobs.build_marts()

    @task(pool=WAREHOUSE_POOL, retries=0, outlets=[LOADED])
    def test_marts(built: dict, data_interval_start=None, outlet_events=None) -> int:
        """Run the marts' data tests; a failure names the model, the test and the offending rows. Then
        emit the warehouse asset of the date, which the daily_report DAG waits for."""
        from shengliang import jobs

        with fail_fast_on_config_errors():
            tested = jobs.test_marts()
        outlet_events[LOADED].extra = {"data_date": data_date_of(data_interval_start).isoformat()}
        return tested

    @task(retries=0)
    def check(results: list[list[dict]], tested: int, data_interval_start=None) -> list[str]:
        """Fail the run if any account must re-authorize; the others are already loaded."""
        from shengliang import jobs

        with fail_fast_on_config_errors():
            return jobs.check(
                PLATFORM, [r for batch in results for r in batch], data_date_of(data_interval_start)
            )

    batches = plan()
    results = extract.expand(batch=batches)
    staged = transform(batches, results)
    check(results, test_marts(build_marts(load(staged))))


weibo_daily()
