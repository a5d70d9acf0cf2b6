"""Versioned schema: `shengliang db upgrade` brings a DuckDB file or a PostgreSQL database to head,
and the pipeline refuses a warehouse that is behind."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from warehouse.db import WarehouseError, safe_url


class DuckDBImpl(DefaultImpl):
    """Alembic has no DuckDB dialect implementation; duckdb-engine documents this subclass as the fix."""

    __dialect__ = "duckdb"


logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise in the demo and CLI

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = "shengliang db upgrade"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise WarehouseError(f"no migrations found in {MIGRATIONS}: the installation is incomplete")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to head; returns (revision before, revision after)."""
    before = current_revision(engine)
    if before is None and "dim_account" in _table_names(engine):
        raise WarehouseError(
            f"the warehouse at {safe_url(str(engine.url))} was created before versioned migrations and "
            "cannot be upgraded in place; for the local demo file run `make clean`, otherwise load into "
            "a new database and `shengliang rebuild` from the lake"
        )
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, head_revision()


def require_current(engine: Engine) -> None:
    """Refuse to run against a warehouse whose schema is behind the code."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no schema yet" if current is None else f"is at revision {current}, the code needs {head}"
        raise WarehouseError(
            f"the warehouse at {safe_url(str(engine.url))} {state}; run `{UPGRADE_COMMAND}` "
            "(with the same WAREHOUSE_URL) first"
        )


def _table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        try:
            return set(inspect(conn).get_table_names())
        except Exception:  # duckdb-engine's inspector: fall back to the information schema
            from sqlalchemy import text

            return {row[0] for row in conn.execute(text("SELECT table_name FROM information_schema.tables"))}


def upgrade_url(url: str) -> tuple[str | None, str]:
    """`shengliang db upgrade`: migrate the warehouse at `url` to head."""
    from sqlalchemy.exc import DBAPIError

    from warehouse.db import create_warehouse_engine

    engine = create_warehouse_engine(url)
    try:
        return upgrade(engine)
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise WarehouseError(f"cannot upgrade the warehouse at {safe_url(url)}: {reason}") from None
    finally:
        engine.dispose()
