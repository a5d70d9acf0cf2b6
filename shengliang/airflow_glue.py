"""The little the DAG files share: how a task finds its data date and its secrets under Airflow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from shengliang.registry import RegistryError, TokenRef, env_lookup
from shengliang.settings import BEIJING, ConfigError
from warehouse.db import WarehouseError


@contextmanager
def fail_fast_on_config_errors() -> Iterator[None]:
    """Configuration mistakes fail the task at once: retrying cannot fix a bad registry or URL."""
    try:
        yield
    except (ConfigError, RegistryError, WarehouseError) as error:
        from airflow.exceptions import AirflowFailException

        raise AirflowFailException(str(error)) from None


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
    """Environment variables first, then the Airflow connection's password."""
    secret = env_lookup(ref)
    if secret or not ref.connection:
        return secret
    from airflow.sdk import Connection

    try:
        return Connection.get(ref.connection).password or None
    except Exception:  # an unknown connection id: the registry check reports it by name
        return None
