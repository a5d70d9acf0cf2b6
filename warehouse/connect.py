"""Opening the warehouse for use: an engine whose schema is at the code's migration head.

Above both warehouse.db (engines, URLs, errors) and warehouse.migrate (Alembic), so that neither
imports the other's caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from warehouse.db import WarehouseError, create_warehouse_engine, lock_error, safe_url
from warehouse.migrate import require_current


@contextmanager
def open_warehouse(url: str) -> Iterator[Engine]:
    """The engine for `url`, refused unless its schema is at the code's migration head; closed (DuckDB
    file released) on exit."""
    engine = create_warehouse_engine(url)
    try:
        try:
            require_current(engine)
        except DBAPIError as error:
            locked = lock_error(error)
            if locked is not None:
                raise locked from None
            reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
            raise WarehouseError(
                f"cannot open the warehouse at {safe_url(url)}: {reason}. Check WAREHOUSE_URL and that "
                "the server is up"
            ) from None
        try:
            yield engine
        except DBAPIError as error:  # a connection opened later met the lock
            locked = lock_error(error)
            if locked is not None:
                raise locked from None
            raise
    finally:
        engine.dispose()
