"""The DAGs: every file imports cleanly, and weibo_daily runs end to end with dag.test()."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from shengliang import settings
from shengliang.airflow_local import init_metadata_db, run_dag
from shengliang.daily import RunWindow
from tests.conftest import DATA_DATE
from transforms.weibo_status import parse_created_at
from warehouse.connect import open_warehouse

DAGS = settings.PROJECT_ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS))


@pytest.fixture(scope="module")
def metadata_db() -> None:
    init_metadata_db()


def test_every_dag_file_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "weibo_daily" in dagbag.dag_ids
    assert {p.stem for p in DAGS.glob("*.py")} <= set(dagbag.dag_ids)


def test_weibo_daily_wiring(dagbag) -> None:
    dag = dagbag.dags["weibo_daily"]
    assert dag.catchup is False
    assert {"shengliang", "weibo"} <= set(dag.tags)
    assert str(dag.timezone) in ("Asia/Shanghai", "Timezone('Asia/Shanghai')")
    assert dag.timetable.summary == "0 0 * * *"
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {"plan", "extract", "transform", "load", "build_marts", "test_marts", "check"}
    assert all(t.retries >= 2 for name, t in tasks.items() if name not in ("check", "test_marts"))
    assert tasks["extract"].pool == "weibo_api" and tasks["load"].pool == "warehouse_writer"
    assert all(t.doc_md or t.doc for t in tasks.values()) or all(
        getattr(t, "python_callable", None).__doc__ for t in tasks.values()
    )
    assert tasks["transform"].upstream_task_ids == {"plan", "extract"}
    assert tasks["build_marts"].upstream_task_ids == {"load"}
    assert tasks["test_marts"].upstream_task_ids == {"build_marts"}
    assert tasks["build_marts"].pool == tasks["test_marts"].pool == "warehouse_writer"
    assert tasks["check"].upstream_task_ids == {"extract", "test_marts"}


def test_dag_files_do_no_work_at_import() -> None:
    for path in DAGS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        head = source.split("@dag(", 1)[0]
        for forbidden in ("Variable.get", "requests.", "open_warehouse", "load_registry"):
            assert forbidden not in head, f"{path.name} does {forbidden} at import"


def test_weibo_daily_end_to_end_against_the_sandbox(metadata_db, pipeline_env: Path, sandbox) -> None:
    state = run_dag("weibo_daily", DATA_DATE)
    assert state == "success"

    window = RunWindow.for_date(DATA_DATE, 7)
    world, now = sandbox.world, sandbox.now()
    in_window = {}
    for account in world.accounts:
        for status in world.posts(account.uid, now):
            created = parse_created_at(status["created_at"])
            if window.tracking_from <= created < window.interval_end:
                in_window[status["idstr"]] = status
    with open_warehouse(settings.warehouse_url()) as engine, engine.connect() as conn:
        snapshot = conn.execute(
            text("SELECT * FROM fct_post_engagement_daily WHERE snapshot_date = :d"), {"d": DATA_DATE}
        ).all()
        posts_in_window = conn.execute(
            text("SELECT count(*) FROM fct_post WHERE published_at >= :f AND published_at < :e"),
            {"f": window.tracking_from.replace(tzinfo=None), "e": window.interval_end.replace(tzinfo=None)},
        ).scalar_one()
        accounts_ok = conn.execute(
            text("SELECT count(*) FROM etl_account_run WHERE data_date = :d AND status = 'ok'"),
            {"d": DATA_DATE},
        ).scalar_one()
        bci = conn.execute(
            text(
                "SELECT account_key, bci FROM mart_account_daily WHERE stat_date = :d AND platform = 'weibo'"
            ),
            {"d": DATA_DATE},
        ).all()
        built = conn.execute(text("SELECT privacy_k FROM mart_build")).scalar_one()
    assert accounts_ok == len(world.accounts)  # every account in the registry and the sandbox read
    # The run built the marts after its load: a BCI for every account read that day.
    assert len(bci) == len(world.accounts) and all(value is not None for _, value in bci) and built == 5
    assert posts_in_window == len(in_window) > 50
    assert len(snapshot) == len(in_window)

    # One post's numbers, checked against the sandbox's own model at the moment it was read.
    top = max(snapshot, key=lambda r: r.engagement)
    reposts, comments, likes = world.engagement(int(top.post_id), now)
    assert (top.reposts, top.comments, top.likes) == (reposts, comments, likes)
    assert top.engagement == reposts + comments + likes > 0
    followers = int(in_window[top.post_id]["user"]["followers_count"])
    assert top.engagement_rate == pytest.approx(top.engagement / followers * 100)


def test_weibo_daily_second_run_changes_no_row_counts(metadata_db, pipeline_env: Path, sandbox) -> None:
    counts = []
    for _ in range(2):
        assert run_dag("weibo_daily", DATA_DATE) == "success"
        with open_warehouse(settings.warehouse_url()) as engine, engine.connect() as conn:
            counts.append(
                [
                    conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("fct_post", "fct_post_engagement_daily", "fct_post_term", "dim_account")
                ]
            )
    assert counts[0] == counts[1] and counts[0][0] > 0
    sandbox.set_now(sandbox.now() + timedelta(days=1))


def test_wechat_daily_wiring(dagbag) -> None:
    dag = dagbag.dags["wechat_daily"]
    assert dag.catchup is False and {"shengliang", "wechat"} <= set(dag.tags)
    assert dag.timetable.summary == "30 8 * * *"
    tasks = {t.task_id: t for t in dag.tasks}
    assert tasks["extract"].pool == "wechat_api" and tasks["load"].pool == "warehouse_writer"
    assert all(t.retries >= 2 for name, t in tasks.items() if name not in ("check", "test_marts"))


def test_wechat_daily_end_to_end_against_the_sandbox(metadata_db, pipeline_env: Path, sandbox) -> None:
    world = sandbox.wechat_world
    apps = [app.appid for app in world.apps]
    counts = []
    for _ in range(2):
        assert run_dag("wechat_daily", DATA_DATE) == "success"
        with open_warehouse(settings.warehouse_url()) as engine, engine.connect() as conn:
            counts.append(
                [
                    conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("fct_article", "fct_article_daily", "fct_account_daily", "fct_post_term")
                ]
            )
            articles = conn.execute(text("SELECT msgid, publish_date FROM fct_article")).all()
            followers = conn.execute(
                text("SELECT account_key, followers FROM fct_account_daily WHERE stat_date = :d"),
                {"d": DATA_DATE},
            ).all()
            one = conn.execute(
                text(
                    "SELECT d.msgid, d.reads, d.readers, d.shares FROM fct_article_daily d "
                    "WHERE d.stat_date = :d ORDER BY d.reads DESC LIMIT 1"
                ),
                {"d": DATA_DATE},
            ).one()
    assert counts[0] == counts[1], "a second run must not change row counts"

    window = RunWindow.for_date(DATA_DATE, 7)
    expected = {
        f"{item['article_id']}/{n}"
        for appid in apps
        for item in world.messages(appid, window.interval_end)
        if window.tracking_from.timestamp() <= int(item["update_time"]) < window.interval_end.timestamp()
        for n, _ in enumerate(item["content"]["news_item"])
    }
    in_window = [a for a in articles if a.publish_date >= (window.tracking_from + timedelta(hours=8)).date()]
    assert len(in_window) == len(expected) > 0
    assert {row.account_key: row.followers for row in followers} == {
        f"wechat:{appid}": world.followers(appid, DATA_DATE) for appid in apps
    }
    total = world.article_total(one.msgid, DATA_DATE)
    assert (one.reads, one.readers, one.shares) == (
        total["int_page_read_count"],
        total["int_page_read_user"],
        total["share_count"],
    )
