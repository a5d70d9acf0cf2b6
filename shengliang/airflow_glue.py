"""The little the DAG files share: how a task finds its data date and its secrets under Airflow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import NoReturn

from extractors.errors import ShengliangError
from shengliang.registry import RegistryError, TokenRef, env_lookup
from shengliang.settings import BEIJING, ConfigError
from warehouse.db import WarehouseError


def _fail_exception() -> type[Exception]:
    """Airflow 3's task SDK exception; airflow.exceptions' one is deprecated (3.3 warns on every use)."""
    import importlib

    try:
        found = getattr(importlib.import_module("airflow.sdk.exceptions"), "AirflowFailException", None)
    except ImportError:
        found = None
    if found is None:  # an Airflow older than the task SDK's exceptions
        found = importlib.import_module("airflow.exceptions").AirflowFailException
    return found


@contextmanager
def fail_fast_on_config_errors() -> Iterator[None]:
    """Configuration mistakes fail the task at once: retrying cannot fix a bad registry or URL.
    Everything else (a DuckDB file another process holds, a secrets backend that is down, an API
    outage) propagates, and Airflow retries the task."""
    try:
        yield
    except (ConfigError, RegistryError, WarehouseError) as error:
        raise _fail_exception()(str(error)) from None


class SecretBackendError(ShengliangError):
    """Asking the secrets backend for a connection failed (Vault unreachable, a timeout): transient,
    so the task is retried. Never a RegistryError, which would ask a person to re-authorize."""


# Emitted by each platform's DAG once the date's load is in the warehouse and its marts are built and
# tested; the daily_report DAG runs when both have been (or at its deadline). extra: {"data_date": ...}.
WAREHOUSE_ASSET_NAMES = {"weibo": "shengliang-warehouse-weibo", "wechat": "shengliang-warehouse-wechat"}


def warehouse_asset(platform: str):
    from airflow.sdk import Asset

    return Asset(WAREHOUSE_ASSET_NAMES[platform])


def data_date_of(data_interval_start: datetime) -> date:
    """A run's data date: the Beijing calendar date its data interval starts on."""
    return data_interval_start.astimezone(BEIJING).date()


def airflow_secret_lookup(ref: TokenRef) -> str | None:
    """Environment variables first, then the Airflow connection's password.

    None means "not found": no such variable or connection, or one without a password; the registry
    check then names it and a person must act. A secrets backend that failed raises
    SecretBackendError naming the connection id (never a value, nor the backend's message, which may
    hold one), so the task is retried; one that denies access is a ConfigError (a person must grant
    it)."""
    secret = env_lookup(ref)
    if secret or not ref.connection:
        return secret
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = Connection.get(ref.connection)
    except AirflowNotFoundException:
        # Connection.get reports a backend that raised like one without the connection: ask again.
        failure = secrets_backend_failure(ref.connection)
        if failure is None:
            return None
        backend, error = failure
        _raise_lookup_failure(ref.connection, error, f"the secrets backend {backend} raised")
    except Exception as error:
        _raise_lookup_failure(ref.connection, error, "it raised")
    return connection.password or None


def _raise_lookup_failure(conn_id: str, error: Exception, how: str) -> NoReturn:
    """Access denied is an authoritative "no" (a person must grant it: fail fast); anything else is
    the backend failing (retried). Only class names are shown: a backend's message may hold a value."""
    if isinstance(error, PermissionError):  # AirflowSecretsBackendAccessDenied
        raise ConfigError(
            f"looking up Airflow connection {conn_id}: {how} {type(error).__name__}, access denied. "
            "Grant this worker access to the connection in the secrets backend"
        ) from None
    raise SecretBackendError(
        f"looking up Airflow connection {conn_id} failed: {how} {type(error).__name__}; "
        "the task will be retried"
    ) from None


def secrets_backend_failure(conn_id: str) -> tuple[str, Exception] | None:
    """(backend class name, error) for the first configured secrets backend that raises on `conn_id`;
    None if every backend answered (with or without the connection)."""
    try:
        from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

        backends = ensure_secrets_backend_loaded()
    except Exception:
        return None
    for backend in backends:
        try:
            backend.get_connection(conn_id=conn_id)
        except Exception as error:
            return type(backend).__name__, error
    return None
