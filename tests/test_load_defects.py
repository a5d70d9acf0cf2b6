"""Defects of the load path (issue 13), each reproduced before it was fixed: a partial observation
never erases a known value, WeChat's 45009 loses no day, a DuckDB file held by another process is
retriable, and a failing secrets backend is not "no token"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Double, Integer, SmallInteger, Table, select, text

from shengliang import jobs, settings
from shengliang.daily import RunWindow
from shengliang.demo import SANDBOX_CLOCK_AFTER_DATE
from tests.conftest import DATA_DATE, FailingSecretsBackend
from warehouse.connect import open_warehouse
from warehouse.load import NULL_IS_A_VALUE, DayLoad, load_day
from warehouse.schema import (
    dim_account,
    etl_account_run,
    etl_extraction_state,
    fct_account_daily,
    fct_article,
    fct_article_daily,
    fct_post,
)


def _set_clock(sandbox, day: date) -> None:
    sandbox.set_now(RunWindow.for_date(day, 7).interval_end + SANDBOX_CLOCK_AFTER_DATE)


def _rows(url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    with open_warehouse(url) as engine, engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


# --- 1. a later partial observation never erases a known value ----------------------------------


def test_a_rate_limited_day_keeps_the_screen_names_of_the_day_before(pipeline_env: Path, sandbox) -> None:
    _set_clock(sandbox, DATA_DATE)
    jobs.run_day("weibo", DATA_DATE)
    url = settings.warehouse_url()
    query = "SELECT account_key, screen_name, followers FROM dim_account WHERE platform = 'weibo'"
    before = sorted((r["account_key"], r["screen_name"], r["followers"]) for r in _rows(url, query))
    assert before and all(name for _, name, _ in before)

    day_two = DATA_DATE + timedelta(days=1)
    _set_clock(sandbox, day_two)
    sandbox.rate_limit_per_window = 0  # every call of day two is refused: users/show never answers
    jobs.run_day("weibo", day_two)

    runs = _rows(url, "SELECT status FROM etl_account_run WHERE data_date = :d", d=day_two)
    assert runs and {r["status"] for r in runs} == {"rate_limited"}
    after = sorted((r["account_key"], r["screen_name"], r["followers"]) for r in _rows(url, query))
    assert after == before


def _value(table: Table, column_name: str, day: date, n: int) -> Any:
    column = table.c[column_name]
    sql_type = column.type
    if isinstance(sql_type, Boolean):
        return True
    if isinstance(sql_type, BigInteger | Integer | SmallInteger):
        return 1000 + n
    if isinstance(sql_type, Double):
        return 0.5
    if isinstance(sql_type, DateTime):
        return datetime(day.year, day.month, day.day, 1, 0, n)
    if isinstance(sql_type, Date):
        return day
    value = f"{column_name}-{n}"
    length = getattr(sql_type, "length", None)
    return value if length is None or len(value) <= length else f"v{n}"


def _full_row(table: Table, day: date, n: int, **fixed: Any) -> dict[str, Any]:
    row = {c.name: _value(table, c.name, day, n) for c in table.columns}
    row.update(fixed)
    return row


def _nullable(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.nullable and not c.primary_key]


def _partial(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """The same row as a partial observation would give it: every nullable column empty."""
    return {**row, **dict.fromkeys(_nullable(table))}


def _day_load(day: date, n: int, *, partial: bool) -> DayLoad:
    def shape(table: Table, row: dict[str, Any]) -> dict[str, Any]:
        return _partial(table, row) if partial else row

    account = {"account_key": "weibo:1", "platform": "weibo", "account_id": "1", "account_kind": "employee"}
    stat = {"account_key": "weibo:1", "stat_date": DATA_DATE}
    published = {"publish_date": DATA_DATE, "published_at": datetime(2026, 11, 10, 2)}
    load = DayLoad(platform="weibo", data_date=day)
    load.accounts = [shape(dim_account, _full_row(dim_account, day, n, **account))]
    load.posts = [shape(fct_post, _full_row(fct_post, day, n, post_id="1", **published, **stat))]
    load.articles = [shape(fct_article, _full_row(fct_article, day, n, msgid="9_1", **published, **stat))]
    load.article_daily = [shape(fct_article_daily, _full_row(fct_article_daily, day, n, msgid="9_1", **stat))]
    load.account_daily = [shape(fct_account_daily, _full_row(fct_account_daily, day, n, **stat))]
    bookmark = {"platform": "weibo", "account_id": "1", "stream": "s", "bookmark": str(n)}
    load.bookmarks = [shape(etl_extraction_state, _full_row(etl_extraction_state, day, n, **bookmark))]
    run = {"platform": "weibo", "account_id": "1", "data_date": DATA_DATE}
    load.runs = [shape(etl_account_run, _full_row(etl_account_run, day, n, **run))]
    return load


LOADED_TABLES = (
    dim_account,
    fct_post,
    fct_article,
    fct_article_daily,
    fct_account_daily,
    etl_extraction_state,
    etl_account_run,
)


def test_no_upsert_of_load_day_puts_null_over_a_known_value(warehouse_url: str) -> None:
    """Every nullable column of every table load_day merges, on both backends: a second load of the
    same keys with the column empty keeps what the first one stored, unless NULL is itself what was
    observed (NULL_IS_A_VALUE, e.g. an ok run has no message)."""
    with open_warehouse(warehouse_url) as engine:
        load_day(engine, _day_load(DATA_DATE, 1, partial=False))
        with engine.connect() as conn:
            first = {t.name: dict(conn.execute(select(t)).one()._mapping) for t in LOADED_TABLES}
        load_day(engine, _day_load(DATA_DATE + timedelta(days=1), 2, partial=True))
        with engine.connect() as conn:
            second = {t.name: dict(conn.execute(select(t)).one()._mapping) for t in LOADED_TABLES}
    checked = 0
    for table in LOADED_TABLES:
        for name in _nullable(table):
            assert first[table.name][name] is not None, (table.name, name)
            expected = None if name in NULL_IS_A_VALUE.get(table.name, ()) else first[table.name][name]
            assert second[table.name][name] == expected, (table.name, name)
            checked += 1
    assert checked > 40
    assert second["etl_account_run"]["message"] is None  # the latest run wins, its NULL included
    assert second["dim_account"]["department"] is None  # the registry is read whole


# --- 2. WeChat 45009: the rest of the day loads -------------------------------------------------

ARTICLE_TOTAL_FIGURES = ("publish_date", "readers", "reads", "shares", "share_users", "target_users")


def test_a_45009_on_getarticletotal_loads_the_rest_of_the_wechat_day(pipeline_env: Path, sandbox) -> None:
    for app in sandbox.wechat_world.apps:
        sandbox.wechat_daily_quota[(app.appid, "getarticletotal")] = 0
    _set_clock(sandbox, DATA_DATE)
    jobs.run_day("wechat", DATA_DATE)  # before the fix: TypeError in load_day, on every attempt
    url = settings.warehouse_url()

    runs = _rows(url, "SELECT status, message FROM etl_account_run WHERE platform = 'wechat'")
    assert runs and all(r["status"] == "rate_limited" and "45009" in r["message"] for r in runs)
    assert _rows(url, "SELECT count(*) AS n FROM fct_article")[0]["n"] > 0
    assert _rows(url, "SELECT count(*) AS n FROM fct_account_daily WHERE followers IS NOT NULL")[0]["n"] > 0
    daily = _rows(url, "SELECT * FROM fct_article_daily")
    assert daily and any(r["day_reads"] is not None for r in daily)  # getarticlesummary's figures
    assert all(r[name] is None for r in daily for name in ARTICLE_TOTAL_FIGURES)  # unknown, not 0
    jobs.build_marts()
    jobs.test_marts()

    # The quota is back: a re-run of the date fills in what was missing, and keeps the day figures.
    sandbox.wechat_daily_quota.clear()
    jobs.run_day("wechat", DATA_DATE)
    refilled = {(r["msgid"], r["stat_date"]): r for r in _rows(url, "SELECT * FROM fct_article_daily")}
    assert all(refilled[(r["msgid"], r["stat_date"])]["day_reads"] == r["day_reads"] for r in daily)
    assert any(r["publish_date"] is not None and r["reads"] is not None for r in refilled.values())


# --- 3. a DuckDB file held by another process is retriable --------------------------------------


@pytest.fixture
def duckdb_held_read_only(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A warehouse DuckDB file that another process (an analyst, read-only) has open."""
    from warehouse.migrate import upgrade_url

    path = tmp_path / "warehouse.duckdb"
    url = f"duckdb:///{path}"
    upgrade_url(url)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, duckdb
                connection = duckdb.connect({str(path)!r}, read_only=True)
                print("open", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield url, path
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_a_duckdb_file_held_by_another_process_is_retriable_not_a_config_error(
    duckdb_held_read_only: tuple[str, Path],
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from shengliang.airflow_glue import fail_fast_on_config_errors
    from shengliang.settings import ConfigError
    from warehouse.db import WarehouseError, WarehouseLockedError

    url, path = duckdb_held_read_only
    with pytest.raises(WarehouseLockedError) as caught:
        with fail_fast_on_config_errors(), open_warehouse(url):
            pass
    error = caught.value
    assert not isinstance(error, WarehouseError | ConfigError | AirflowFailException)
    message = str(error)
    assert str(path) in message and "another process holds it" in message
    assert "retr" in message  # says the task is retried
    assert error.path == str(path)


def test_a_job_meeting_a_held_file_fails_as_retriable(duckdb_held_read_only, monkeypatch) -> None:
    """What a DAG task calls (here the marts build) sees the same retriable error."""
    from warehouse.db import WarehouseLockedError

    url, path = duckdb_held_read_only
    monkeypatch.setenv("WAREHOUSE_URL", url)
    with pytest.raises(WarehouseLockedError, match="another process holds it"):
        jobs.build_marts()


# --- 5. a failing secrets backend is retried, not "no token" ------------------------------------


def test_airflow_secret_lookup_tells_not_found_from_a_failing_backend(
    failing_secrets_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shengliang.airflow_glue import SecretBackendError, airflow_secret_lookup
    from shengliang.registry import RegistryError, TokenRef

    monkeypatch.delenv("AIRFLOW_CONN_WEIBO_XIAOLI", raising=False)
    with pytest.raises(SecretBackendError) as caught:
        airflow_secret_lookup(TokenRef(connection="weibo_xiaoli"))
    error = caught.value
    assert not isinstance(error, RegistryError)
    assert "weibo_xiaoli" in str(error) and "retr" in str(error)
    assert "RELSECRETvaultvalue" not in str(error) and "vault.internal" not in str(error)

    # What the environment holds is found first, without asking the backend.
    monkeypatch.setenv("AIRFLOW_CONN_WEIBO_XIAOLI", '{"conn_type": "generic", "password": "tok-b"}')
    assert airflow_secret_lookup(TokenRef(connection="weibo_xiaoli")) == "tok-b"


class DenyingSecretsBackend(FailingSecretsBackend):
    """A secrets backend that answers, and refuses this worker."""

    def get_connection(self, conn_id: str, **kwargs: Any) -> Any:
        from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

        raise AirflowSecretsBackendAccessDenied(f"policy denies {conn_id}, token=RELSECRETvaultvalue")


def test_a_backend_that_denies_access_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.configuration import clear_secrets_backends_cache
    from airflow.sdk.exceptions import AirflowFailException

    from shengliang.airflow_glue import airflow_secret_lookup, fail_fast_on_config_errors
    from shengliang.registry import TokenRef

    monkeypatch.delenv("AIRFLOW_CONN_WEIBO_XIAOLI", raising=False)
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", f"{__name__}.DenyingSecretsBackend")
    clear_secrets_backends_cache()
    try:
        with pytest.raises(AirflowFailException) as caught:
            with fail_fast_on_config_errors():
                airflow_secret_lookup(TokenRef(connection="weibo_xiaoli"))
    finally:
        monkeypatch.delenv("AIRFLOW__SECRETS__BACKEND")
        clear_secrets_backends_cache()
    assert "weibo_xiaoli" in str(caught.value) and "access denied" in str(caught.value)
    assert "RELSECRETvaultvalue" not in str(caught.value)


def test_airflow_secret_lookup_returns_none_when_the_connection_does_not_exist(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shengliang.airflow_glue import airflow_secret_lookup
    from shengliang.registry import TokenRef

    monkeypatch.delenv("AIRFLOW__SECRETS__BACKEND", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_NOBODY_HAS_THIS", raising=False)
    monkeypatch.delenv("NOBODY_HAS_THIS_TOKEN", raising=False)
    assert airflow_secret_lookup(TokenRef(connection="nobody_has_this")) is None
    assert airflow_secret_lookup(TokenRef(env="NOBODY_HAS_THIS_TOKEN")) is None
    monkeypatch.setenv("AIRFLOW_CONN_NO_PASSWORD", '{"conn_type": "generic"}')
    assert airflow_secret_lookup(TokenRef(connection="no_password")) is None


def test_a_failing_backend_during_plan_is_not_a_registry_error(
    failing_secrets_backend: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DAG's plan task: a backend outage is retried, never turned into AirflowFailException."""
    from shengliang.airflow_glue import SecretBackendError, airflow_secret_lookup, fail_fast_on_config_errors
    from shengliang.registry import load_registry

    registry = tmp_path / "accounts.yml"
    registry.write_text(
        textwrap.dedent(
            """
            brands:
              - id: shanhai
                name: 山海茶饮
            accounts:
              - brand: shanhai
                platform: weibo
                account_id: "6000000101"
                display_name: 小李
                kind: employee
                department: 市场部
                token_connection: weibo_xiaoli
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.delenv("AIRFLOW_CONN_WEIBO_XIAOLI", raising=False)
    with pytest.raises(SecretBackendError, match="weibo_xiaoli"):
        with fail_fast_on_config_errors():
            load_registry(registry, lookup=airflow_secret_lookup)


def test_fail_fast_uses_the_task_sdk_exception(tmp_path: Path) -> None:
    import warnings

    from airflow.sdk.exceptions import AirflowFailException

    from shengliang.airflow_glue import fail_fast_on_config_errors
    from shengliang.settings import ConfigError

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AirflowFailException, match="bad value"):
            with fail_fast_on_config_errors():
                raise ConfigError("bad value")


def test_a_stored_bookmark_that_is_not_a_valid_id_is_replaced_not_kept_for_good(warehouse_url: str) -> None:
    """A since_id of 99999999999999999999 (loaded before ids were validated) would make every real
    id look older, so no new bookmark could ever replace it."""
    from warehouse.load import _advancing_bookmarks
    from warehouse.schema import etl_extraction_state

    now = datetime(2026, 11, 11, 1, 0)
    key = {"platform": "weibo", "account_id": "6000000001", "stream": "statuses/user_timeline"}
    with open_warehouse(warehouse_url) as engine, engine.begin() as conn:
        conn.execute(
            etl_extraction_state.insert().values(**key, bookmark="99999999999999999999", updated_at=now)
        )
        fresh = [{**key, "bookmark": "4901961761950000"}]
        assert _advancing_bookmarks(conn, fresh) == fresh
        conn.execute(etl_extraction_state.update().values(bookmark="4901961761950001"))
        assert _advancing_bookmarks(conn, fresh) == []  # a valid newer bookmark still wins
