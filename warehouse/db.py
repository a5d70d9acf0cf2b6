"""Opening the warehouse: one path for every caller, so DuckDB sees one configuration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from extractors.errors import ShengliangError
from warehouse.schema import metadata


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
            f"WAREHOUSE_URL {url!r} is not a database URL; use duckdb:///path/file.duckdb or "
            "postgresql+psycopg://user@host:5432/db"
        ) from None
    if parsed.get_backend_name() == "duckdb" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        return create_engine(parsed)
    except NoSuchModuleError:
        raise WarehouseError(
            f"WAREHOUSE_URL {safe_url(url)}: no driver for {parsed.drivername!r}; "
            "use duckdb:/// or postgresql+psycopg://"
        ) from None


def ensure_schema(engine: Engine) -> None:
    metadata.create_all(engine)


@contextmanager
def open_warehouse(url: str) -> Iterator[Engine]:
    """The engine for `url` with the schema in place; closed (DuckDB file released) on exit."""
    engine = create_warehouse_engine(url)
    try:
        ensure_schema(engine)
        yield engine
    finally:
        engine.dispose()
