"""Opening the warehouse: one path for every caller, so DuckDB sees one configuration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from extractors.errors import ShengliangError


class WarehouseError(ShengliangError):
    """The warehouse cannot be opened or written; the message names the URL (without password)."""


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and reports."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable WAREHOUSE_URL>"


def create_warehouse_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise WarehouseError(
            "WAREHOUSE_URL is not a database URL (the value is not shown: it may hold a password); "
            "use duckdb:///path/file.duckdb or "
            "postgresql+psycopg://user@host:5432/db"
        ) from None
    if parsed.get_backend_name() == "duckdb" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        return create_engine(parsed)
    except ModuleNotFoundError as error:
        raise WarehouseError(
            f"WAREHOUSE_URL {safe_url(url)}: the driver module {error.name!r} is not installed; "
            "use duckdb:/// or postgresql+psycopg://"
        ) from None
    except NoSuchModuleError:
        raise WarehouseError(
            f"WAREHOUSE_URL {safe_url(url)}: no driver for {parsed.drivername!r}; "
            "use duckdb:/// or postgresql+psycopg://"
        ) from None


@contextmanager
def open_warehouse(url: str) -> Iterator[Engine]:
    """The engine for `url`, refused unless its schema is at the code's migration head; closed (DuckDB
    file released) on exit."""
    from warehouse.migrate import require_current

    engine = create_warehouse_engine(url)
    try:
        try:
            require_current(engine)
        except DBAPIError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
            raise WarehouseError(
                f"cannot open the warehouse at {safe_url(url)}: {reason}. Check WAREHOUSE_URL, that the "
                "server is up, or that no other process holds the DuckDB file"
            ) from None
        yield engine
    finally:
        engine.dispose()
