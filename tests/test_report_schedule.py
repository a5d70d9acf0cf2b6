"""When the daily_report DAG reports what: the dates of its asset events, or yesterday at the deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from shengliang.reporting import report_dates, report_deadline
from shengliang.settings import BEIJING


def test_an_asset_triggered_run_reports_the_dates_of_its_events() -> None:
    extras = [{"data_date": "2026-11-10"}, {"data_date": "2026-11-10"}, {"data_date": "2026-11-09"}, {}]
    assert report_dates(extras, None) == [(date(2026, 11, 9), False), (date(2026, 11, 10), False)]


def test_the_deadline_run_reports_yesterday_in_beijing() -> None:
    assert report_dates([], datetime(2026, 11, 11, 9, 30, tzinfo=BEIJING)) == [(date(2026, 11, 10), True)]
    # 20:00 UTC on 11-10 is already 04:00 on 11-11 in Beijing: the day before is 11-10, not 11-09.
    assert report_dates([], datetime(2026, 11, 10, 20, 0, tzinfo=UTC)) == [(date(2026, 11, 10), True)]
    with pytest.raises(ValueError, match="run_after"):
        report_dates([], None)


def test_the_deadline_is_read_from_the_report_configuration(tmp_path: Path) -> None:
    config = tmp_path / "reports.yml"
    config.write_text('defaults:\n  deadline: "10:15"\n  base_url: http://x\nbrands: {}\n', encoding="utf-8")
    assert report_deadline(config) == time(10, 15)
    config.write_text("defaults: [not, a, mapping]\n", encoding="utf-8")
    assert report_deadline(config) == time(9, 30)  # the render task names the configuration error
    assert report_deadline(tmp_path / "absent.yml") == time(9, 30)


def test_the_daily_report_dag_waits_for_both_warehouse_assets_or_the_deadline() -> None:
    from shengliang.airflow_local import use_project_airflow

    use_project_airflow()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(Path(__file__).resolve().parent.parent / "dags"))
    assert bag.import_errors == {}
    report = bag.dags["daily_report"]
    assert [t.task_id for t in report.tasks] == ["plan", "render", "deliver"]
    schedule = report.timetable
    assert schedule.summary == "Asset or 30 9 * * *"
    condition = schedule.asset_condition
    assert type(condition).__name__.endswith("AssetAll")  # both, not either
    names = {asset.name for asset in condition.objects}
    assert names == {"shengliang-warehouse-weibo", "shengliang-warehouse-wechat"}
    for dag_id, platform in (("weibo_daily", "weibo"), ("wechat_daily", "wechat")):
        outlets = bag.dags[dag_id].get_task("test_marts").outlets
        assert [o.name for o in outlets] == [f"shengliang-warehouse-{platform}"]
