"""Warehouse loads: idempotent per day, a re-run touches only its own date, the lake can rebuild it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import create_engine, select, text

from shengliang import jobs, settings
from shengliang.daily import RunWindow
from tests.conftest import DATA_DATE
from warehouse.connect import open_warehouse
from warehouse.load import replace_snapshot, upsert
from warehouse.marts import load_models, warehouse_dictionary_markdown
from warehouse.migrate import head_revision, upgrade_url
from warehouse.schema import ALL_TABLES, dim_account

# Columns that record when (and how much) a run read or wrote, not what the data is.
RUN_COLUMNS = {"updated_at", "finished_at", "observed_at", "posts_fetched", "api_calls"}


def dump(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the columns that record when a load ran."""
    with open_warehouse(url) as engine, engine.connect() as conn:
        tables = {}
        for table in ALL_TABLES:
            columns = [c for c in table.columns if c.name not in RUN_COLUMNS]
            tables[table.name] = sorted(conn.execute(select(*columns)).all(), key=repr)
        return tables


def run_day(sandbox, day) -> None:
    sandbox.set_now(RunWindow.for_date(day, 7).interval_end + timedelta(hours=1))
    jobs.run_day("weibo", day)


def test_loading_the_same_day_twice_leaves_the_same_rows(pipeline_env: Path, sandbox) -> None:
    run_day(sandbox, DATA_DATE)
    first = dump(settings.warehouse_url())
    assert len(first["fct_post"]) > 100 and len(first["fct_post_engagement_daily"]) > 50
    run_day(sandbox, DATA_DATE)
    assert dump(settings.warehouse_url()) == first


def test_rerunning_a_past_date_touches_no_other_date(pipeline_env: Path, sandbox) -> None:
    day_one, day_two = DATA_DATE, DATA_DATE + timedelta(days=1)
    run_day(sandbox, day_one)
    run_day(sandbox, day_two)
    url = settings.warehouse_url()
    query = "SELECT * FROM fct_post_engagement_daily WHERE snapshot_date = :d ORDER BY post_id"
    with open_warehouse(url) as engine, engine.connect() as conn:
        before_one = conn.execute(text(query), {"d": day_one}).all()
        before_two = conn.execute(text(query), {"d": day_two}).all()
    assert before_one and before_two
    # Later reads show larger numbers: the same post gained engagement between the two snapshots.
    one = {r.post_id: r.engagement for r in before_one}
    two = {r.post_id: r.engagement for r in before_two}
    shared = set(one) & set(two)
    assert shared and all(two[p] >= one[p] for p in shared) and any(two[p] > one[p] for p in shared)

    run_day(sandbox, day_one)  # a backfill of the earlier date, after the later one ran
    with open_warehouse(url) as engine, engine.connect() as conn:
        after_one = conn.execute(text(query), {"d": day_one}).all()
        after_two = conn.execute(text(query), {"d": day_two}).all()
        bookmarks = conn.execute(text("SELECT count(*) FROM etl_extraction_state")).scalar_one()
    assert after_two == before_two
    with open_warehouse(url) as engine, engine.connect() as conn:
        followers = conn.execute(
            text(
                "SELECT a.followers AS latest, f.followers FROM dim_account a JOIN fct_account_daily f "
                "USING (account_key) WHERE f.stat_date = :d"
            ),
            {"d": day_two},
        ).all()
    assert followers and all(latest == on_day_two for latest, on_day_two in followers)  # not the backfill's
    assert [(r.post_id, r.engagement) for r in after_one] == [(r.post_id, r.engagement) for r in before_one]
    assert bookmarks == len(sandbox.world.accounts)  # one since_id bookmark per Weibo account


def test_the_lake_rebuilds_the_warehouse_without_the_api(pipeline_env: Path, sandbox, monkeypatch) -> None:
    day_two = DATA_DATE + timedelta(days=1)
    run_day(sandbox, DATA_DATE)
    run_day(sandbox, day_two)  # refreshes day one's posts through statuses/count
    original = dump(settings.warehouse_url())
    assert sandbox.call_counts["statuses/count"] > 0
    sandbox.reset_counts()
    jobs.rebuild("weibo", day_two)  # in place: the same rows come back
    assert dump(settings.warehouse_url()) == original
    monkeypatch.setenv("WAREHOUSE_URL", f"duckdb:///{pipeline_env / 'rebuilt.duckdb'}")
    upgrade_url(settings.warehouse_url())
    jobs.rebuild("weibo", DATA_DATE)  # from scratch, in date order
    jobs.rebuild("weibo", day_two)
    assert sum(sandbox.call_counts.values()) == 0
    rebuilt = dump(settings.warehouse_url())
    for table in (
        "fct_post",
        "fct_post_term",
        "fct_post_engagement_daily",
        "dim_account",
        "fct_account_daily",
    ):
        assert rebuilt[table] == original[table], table


def test_published_at_is_utc_and_dates_are_beijing(pipeline_env: Path, sandbox) -> None:
    run_day(sandbox, DATA_DATE)
    with open_warehouse(settings.warehouse_url()) as engine, engine.connect() as conn:
        rows = conn.execute(text("SELECT post_id, published_at, publish_date FROM fct_post")).all()
    world_posts = {
        s["idstr"]: s for a in sandbox.world.accounts for s in sandbox.world.posts(a.uid, sandbox.now())
    }
    from transforms.weibo_status import parse_created_at

    for row in rows:
        created = parse_created_at(world_posts[row.post_id]["created_at"])
        assert row.published_at == created.replace(tzinfo=None)  # parse_created_at returns UTC
        assert row.publish_date == (created + timedelta(hours=8)).date()


def test_data_dictionary_is_current() -> None:
    path = settings.PROJECT_ROOT / "docs" / "warehouse.md"
    assert path.read_text(encoding="utf-8") == warehouse_dictionary_markdown() + "\n", "run `make docs`"
    for table in ALL_TABLES:
        assert table.info["grain"].startswith("one row per")
    for model in load_models():
        assert model.grain.startswith("one row per"), model.name
        assert f"## {model.name} ({model.materialized})" in path.read_text(encoding="utf-8")


def test_bad_warehouse_urls_give_one_clear_message(tmp_path: Path) -> None:
    from warehouse.db import WarehouseError

    cases = {
        "not a url": "is not a database URL",
        "mysql://user:pw@127.0.0.1/db": "driver module",
        "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/none": "cannot open the warehouse",
    }
    for url, expected in cases.items():
        with pytest.raises(WarehouseError) as caught:
            with open_warehouse(url):
                pass
        assert expected in str(caught.value) and "secret-pw" not in str(caught.value)


def test_a_warehouse_behind_the_code_is_refused_until_upgraded(tmp_path: Path) -> None:
    from warehouse.db import WarehouseError

    url = f"duckdb:///{tmp_path / 'new.duckdb'}"
    with pytest.raises(WarehouseError, match="has no schema yet; run `shengliang db upgrade`"):
        with open_warehouse(url):
            pass
    assert upgrade_url(url) == (None, head_revision())
    assert upgrade_url(url) == (head_revision(), head_revision())  # a second upgrade is a no-op
    with open_warehouse(url) as engine, engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fct_post")).scalar_one() == 0


def test_a_warehouse_made_before_migrations_gets_a_clear_message(tmp_path: Path) -> None:
    import duckdb

    from warehouse.db import WarehouseError

    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE dim_account (account_key VARCHAR PRIMARY KEY)")
    old.close()
    with pytest.raises(WarehouseError, match="created before versioned migrations.*make clean"):
        upgrade_url(f"duckdb:///{path}")


def test_two_dates_loading_at_once_lose_nothing(warehouse_url: str) -> None:
    """Two loads for different dates, sharing accounts and posts, in parallel threads (PostgreSQL)."""
    if warehouse_url.startswith("duckdb"):
        pytest.skip("DuckDB takes one writer at a time; the warehouse_writer pool serializes its loads")
    import threading
    from datetime import date, datetime

    from warehouse.load import DayLoad, load_day

    accounts = [
        {
            "account_key": f"weibo:{n}",
            "platform": "weibo",
            "account_id": str(n),
            "brand_id": "b",
            "brand_name": "B",
            "display_name": f"a{n}",
            "screen_name": None,
            "account_kind": "brand",
            "department": None,
            "followers": None,
        }
        for n in range(50)
    ]

    def day_load(day: date) -> DayLoad:
        load = DayLoad(
            platform="weibo", data_date=day, accounts=list(reversed(accounts)) if day.day % 2 else accounts
        )
        load.engagement = [
            {
                "post_id": str(p),
                "snapshot_date": day,
                "account_key": f"weibo:{p % 50}",
                "reposts": p,
                "comments": 0,
                "likes": 0,
                "engagement": p,
                "engagement_rate": None,
                "observed_at": datetime(2026, 11, 1),
            }
            for p in range(2000)
        ]
        return load

    with open_warehouse(warehouse_url) as engine:
        errors: list[BaseException] = []

        def run(day: date) -> None:
            try:
                for _ in range(3):
                    load_day(engine, day_load(day))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=run, args=(date(2026, 11, d),)) for d in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with engine.connect() as conn:
            counts = conn.execute(
                text("SELECT snapshot_date, count(*) FROM fct_post_engagement_daily GROUP BY 1 ORDER BY 1")
            ).all()
            assert conn.execute(text("SELECT count(*) FROM dim_account")).scalar_one() == 50
    assert [tuple(row) for row in counts] == [(date(2026, 11, 1), 2000), (date(2026, 11, 2), 2000)]


def _engagement(post_id: str, day, account: str, likes: int) -> dict:
    return {
        "post_id": post_id,
        "snapshot_date": day,
        "account_key": account,
        "reposts": 1,
        "comments": 2,
        "likes": likes,
        "engagement": 3 + likes,
        "engagement_rate": None,
        "observed_at": datetime(2026, 11, 11, 1, 30),
    }


def test_a_snapshot_replaces_exactly_its_accounts_rows_of_its_date(warehouse_url: str) -> None:
    upgrade_url(warehouse_url)
    engine = create_engine(warehouse_url)
    day, other_day = DATA_DATE, DATA_DATE - timedelta(days=1)
    with engine.begin() as conn:
        replace_snapshot(
            conn,
            day,
            [
                _engagement("1", day, "weibo:a", 10),
                _engagement("2", day, "weibo:a", 20),
                _engagement("3", day, "weibo:b", 30),
            ],
        )
        replace_snapshot(conn, other_day, [_engagement("1", other_day, "weibo:a", 5)])
    # Account a again for `day`: post 2 is gone (deleted on the platform), post 1 changed, post 4 is new.
    with engine.begin() as conn:
        replace_snapshot(
            conn, day, [_engagement("1", day, "weibo:a", 11), _engagement("4", day, "weibo:a", 40)]
        )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT post_id, snapshot_date, account_key, likes, engagement_rate"
                " FROM fct_post_engagement_daily ORDER BY snapshot_date, post_id"
            )
        ).all()
    engine.dispose()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("1", other_day, "weibo:a", 5),
        ("1", day, "weibo:a", 11),
        ("3", day, "weibo:b", 30),
        ("4", day, "weibo:a", 40),
    ]
    assert all(r[4] is None for r in rows)


def test_upsert_takes_an_arrow_table_with_nulls_and_empty_strings(warehouse_url: str) -> None:
    upgrade_url(warehouse_url)
    engine = create_engine(warehouse_url)
    now = datetime(2026, 11, 11, 1, 30)
    first = pa.table(
        {
            "account_key": ["weibo:1", "weibo:2"],
            "platform": ["weibo", "weibo"],
            "account_id": ["1", "2"],
            "brand_id": ["shanhai", "shanhai"],
            "brand_name": ["山海", "山海"],
            "display_name": ['含"引号",逗号', ""],
            "account_kind": ["brand", "employee"],
            "followers": pa.array([100, None], pa.int64()),
            "updated_at": [now, now],
        }
    )
    second = pa.table(
        {
            "account_key": ["weibo:1"],
            "platform": ["weibo"],
            "account_id": ["1"],
            "brand_id": ["shanhai"],
            "brand_name": ["山海"],
            "display_name": ["新名字\n第二行"],
            "account_kind": ["brand"],
            "followers": pa.array([None], pa.int64()),
            "updated_at": [now],
        }
    )
    with engine.begin() as conn:
        upsert(conn, dim_account, first)
    with engine.begin() as conn:
        upsert(conn, dim_account, second, fill=("followers",))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT account_key, display_name, screen_name, department, followers"
                " FROM dim_account ORDER BY account_key"
            )
        ).all()
    engine.dispose()
    # Missing columns (screen_name, department) are NULL; "" stays "", not NULL; a null fill keeps 100.
    assert [tuple(r) for r in rows] == [
        ("weibo:1", "新名字\n第二行", None, None, 100),
        ("weibo:2", "", None, None, None),
    ]
