"""Alembic environment: one migration history for DuckDB and PostgreSQL.

Run through `shengliang db upgrade` (warehouse.migrate), which hands over an open connection.
"""

from alembic import context

from warehouse.migrate import DuckDBImpl  # noqa: F401  (registers Alembic's DuckDB implementation)
from warehouse.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
