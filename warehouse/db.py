"""Opening the warehouse: one path for every caller, so DuckDB sees one configuration."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from extractors.errors import ShengliangError


class WarehouseError(ShengliangError):
    """The warehouse cannot be opened or written; the message names the URL (without password)."""


class WarehouseLockedError(ShengliangError):
    """Another process holds the DuckDB file (an analyst's session, even a read-only one, or another
    load). Waiting fixes it, not configuration: this is deliberately not a WarehouseError, so the DAG
    task fails and is retried instead of failing at once."""

    def __init__(self, path: str, holder: str | None = None) -> None:
        self.path = path
        self.holder = holder
        by = f" ({holder})" if holder else ""
        super().__init__(
            f"the DuckDB file {path} is locked: another process holds it{by}, e.g. an analyst's "
            "session (read-only ones included) or another load. Retry once it is closed (under Airflow "
            "the task is retried by itself); analysts can query a copy of the file while loads run"
        )


_DUCKDB_LOCK = re.compile(r'Could not set lock on file "(?P<path>[^"]+)"(?:.*?\(PID (?P<pid>\d+)\))?', re.S)


def lock_error(error: BaseException) -> WarehouseLockedError | None:
    """A WarehouseLockedError if `error` (a DBAPIError or the driver's own) is DuckDB refusing a file
    that another process holds; None otherwise."""
    original = getattr(error, "orig", None) or error
    match = _DUCKDB_LOCK.search(str(original))
    if match is None:
        return None
    return WarehouseLockedError(match["path"], f"PID {match['pid']}" if match["pid"] else None)


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
