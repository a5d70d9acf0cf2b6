"""Shared fixtures. Airflow is pointed at a throw-away home before anything imports it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shengliang.airflow_local import use_project_airflow

# Before any test module imports airflow: a temporary home, never ~/airflow.
AIRFLOW_TEST_HOME = Path(tempfile.mkdtemp(prefix="shengliang-airflow-"))
use_project_airflow(AIRFLOW_TEST_HOME)

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

# A fixed data date for tests that talk to the sandbox; its clock is frozen relative to it.
DATA_DATE = date(2026, 11, 10)


@pytest.fixture
def sandbox():
    """A sandbox on 127.0.0.1 whose clock stands at 09:30 Beijing the day after DATA_DATE, as in the demo."""
    from sandbox.server import SandboxServer
    from shengliang.daily import RunWindow
    from shengliang.demo import SANDBOX_CLOCK_AFTER_DATE

    window = RunWindow.for_date(DATA_DATE, tracking_days=7)
    with SandboxServer(now=window.interval_end + SANDBOX_CLOCK_AFTER_DATE).start() as server:
        yield server


# PostgreSQL for the warehouse tests: a server where CI and the development machines have one.
POSTGRES_URL = os.environ.get("SHENGLIANG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("SHENGLIANG_REQUIRE_POSTGRES") == "1"


@contextmanager
def fresh_warehouse(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh warehouse at head: a DuckDB file, or a PostgreSQL database created here and dropped after."""
    from warehouse.migrate import upgrade_url

    if backend == "duckdb":
        url = f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}"
        upgrade_url(url)
        yield url
        return
    import uuid

    import psycopg
    from sqlalchemy import make_url

    admin = make_url(POSTGRES_URL)
    conninfo = {
        "host": admin.host,
        "port": admin.port or 5432,
        "user": admin.username,
        "dbname": admin.database,
    }
    if admin.password:
        conninfo["password"] = admin.password
    try:
        connection = psycopg.connect(**conninfo, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        reason = (
            f"PostgreSQL is not reachable at {admin.render_as_string(hide_password=True)} "
            f"({error.__class__.__name__}); "
            "start it, or point SHENGLIANG_TEST_POSTGRES at one, to run the PostgreSQL warehouse tests"
        )
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    name = f"shengliang_test_{uuid.uuid4().hex[:10]}"
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            url = admin.set(database=name).render_as_string(hide_password=False)
            upgrade_url(url)
            yield url
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty warehouse: a DuckDB file, or a PostgreSQL database created and dropped here."""
    with fresh_warehouse(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def pipeline_env(
    tmp_path: Path, sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Environment for a pipeline run: temp warehouse (DuckDB or PostgreSQL) and lake, sandbox URL and
    tokens, fast retries."""
    from shengliang.demo import sandbox_environment

    monkeypatch.setenv("SHENGLIANG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    monkeypatch.delenv("SHENGLIANG_LAKE_DIR", raising=False)
    monkeypatch.delenv("SHENGLIANG_ACCOUNTS", raising=False)
    monkeypatch.setenv("SHENGLIANG_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("SHENGLIANG_HTTP_TIMEOUT", "0.5")
    for name, value in sandbox_environment(sandbox).items():
        monkeypatch.setenv(name, value)
    yield tmp_path / "data"


def shared_data_or_skip(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is absent (the shared evaluation data lives beside the repository in CI)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return path


def env_is_ci() -> bool:
    return os.environ.get("CI") == "true"


class FailingSecretsBackend:
    """A secrets backend that is down (say, Vault unreachable); its message holds a would-be secret."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def _set_connection_class(self, connection_class: Any) -> None:
        pass

    def get_connection(self, conn_id: str, **kwargs: Any) -> Any:
        raise ConnectionError("vault.internal:8200 unreachable, token=RELSECRETvaultvalue")

    def get_variable(self, key: str, **kwargs: Any) -> None:
        return None

    def get_config(self, key: str) -> None:
        return None


@pytest.fixture
def failing_secrets_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Airflow's secrets backend set to FailingSecretsBackend for the test."""
    from airflow.sdk.configuration import clear_secrets_backends_cache

    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", f"{__name__}.FailingSecretsBackend")
    clear_secrets_backends_cache()
    try:
        yield
    finally:
        monkeypatch.delenv("AIRFLOW__SECRETS__BACKEND")
        clear_secrets_backends_cache()
