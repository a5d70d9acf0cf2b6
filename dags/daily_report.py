"""
### daily_report

Renders each brand's daily report (HTML with charts, and xlsx, under `data/reports/<date>/`) and
delivers it by e-mail (`smtp_default`) and to the IM robots of `config/reports.yml`:

1. **plan**: the data dates to report. The DAG runs when both `weibo_daily` and `wechat_daily`
   have emitted their warehouse asset (the date is in the assets' events), or at the deadline
   (`defaults.deadline` of config/reports.yml, 09:30 Beijing by default) for yesterday, whatever
   has loaded: the report then says which platform is missing. The deadline's run skips brands
   whose report of the date was already delivered.
2. **render** (pool `warehouse_writer`): one report per brand and date; a date already reported
   keeps its files and gets a new revision that lists the figures that changed.
3. **deliver** (mapped per report, retried; pool `warehouse_writer`, as it reads the compliance
   list from the warehouse): every channel is tried; a failure names the channel and the brand,
   and the report file stays. A retry sends only the channels that failed.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from shengliang.airflow_glue import fail_fast_on_config_errors, warehouse_asset
from shengliang.reporting import report_deadline

WAREHOUSE_POOL = "warehouse_writer"
DEADLINE = report_deadline()


@dag(
    dag_id="daily_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(f"{DEADLINE.minute} {DEADLINE.hour} * * *", timezone="Asia/Shanghai"),
        assets=(warehouse_asset("weibo") & warehouse_asset("wechat")),
    ),
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["shengliang", "report"],
    default_args={"owner": "shengliang", "retries": 2, "retry_delay": timedelta(minutes=2)},
    doc_md=__doc__,
)
def daily_report():
    @task(retries=0)
    def plan(triggering_asset_events=None, dag_run=None) -> list[dict]:
        """The dates to report: those of the triggering asset events, else yesterday (deadline run)."""
        from shengliang.reporting import report_dates

        extras = [e.extra for events in (triggering_asset_events or {}).values() for e in events]
        return [
            {"date": day.isoformat(), "deadline": deadline}
            for day, deadline in report_dates(extras, dag_run.run_after)
        ]

    @task(pool=WAREHOUSE_POOL)
    def render(dates: list[dict]) -> list[dict]:
        """Render every brand's report of each date into data/reports/<date>/."""
        from shengliang import reporting

        with fail_fast_on_config_errors():
            return reporting.render_planned(dates)

    @task(pool=WAREHOUSE_POOL)
    def deliver(report: dict) -> list[str]:
        """Send one brand's report by e-mail and to its robots."""
        from shengliang import reporting

        with fail_fast_on_config_errors():
            return reporting.deliver_rendered(report)

    deliver.expand(report=render(plan()))


daily_report()
