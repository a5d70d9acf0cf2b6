"""The steps of the daily runs, assembled from the environment: what the DAG tasks and the CLI call.

Each function reads its configuration at call time (never at import), opens what it needs and
closes it again, so it can run in any worker process.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from extractors.lake import RawLake, new_run_id
from shengliang import settings as paths
from shengliang.daily import RunWindow, check_results, read_staged, staged_folder, write_staged
from shengliang.registry import Registry, SecretLookup, env_lookup, load_registry
from shengliang.settings import PipelineSettings
from shengliang.weibo_pipeline import PLATFORM, extract_weibo_batch, plan_weibo_run, transform_weibo_day
from warehouse.db import open_warehouse, safe_url
from warehouse.load import LoadCounts, load_day

log = logging.getLogger(__name__)


def _registry(lookup: SecretLookup | None) -> Registry:
    return load_registry(paths.accounts_file(), lookup=lookup)


def _window(data_date: date) -> RunWindow:
    return RunWindow.for_date(data_date, PipelineSettings.from_env().tracking_days)


def weibo_plan(data_date: date, lookup: SecretLookup = env_lookup) -> list[list[dict[str, Any]]]:
    """Validate the registry (every token must resolve) and plan the accounts in batches."""
    settings = PipelineSettings.from_env()
    registry = _registry(lookup)
    with open_warehouse(paths.warehouse_url()) as engine:
        batches = plan_weibo_run(registry, engine, _window(data_date), settings.accounts_per_batch)
    log.info("weibo %s: %d accounts in %d batches", data_date, sum(map(len, batches)), len(batches))
    return batches


def weibo_extract(
    batch: list[dict[str, Any]], data_date: date, run_id: str | None = None, lookup: SecretLookup = env_lookup
) -> list[dict[str, Any]]:
    """Read one batch of accounts into the raw lake."""
    return extract_weibo_batch(
        batch,
        registry=_registry(None),
        window=_window(data_date),
        settings=PipelineSettings.from_env(),
        lake=RawLake(paths.lake_dir()),
        lookup=lookup,
        run_id=run_id or new_run_id(),
    )


def weibo_transform(
    data_date: date, plan: list[dict[str, Any]] | None = None, results: list[dict[str, Any]] | None = None
) -> str:
    """Turn the date's raw responses into warehouse rows, staged as Parquet; returns the folder."""
    lake = RawLake(paths.lake_dir())
    day = transform_weibo_day(
        lake.read(PLATFORM, data_date),
        registry=_registry(None),
        window=_window(data_date),
        plan=plan or [],
        results=results or [],
    )
    folder = write_staged(day, staged_folder(paths.staging_dir(), PLATFORM, data_date))
    log.info(
        "weibo %s: transformed %d posts, %d engagement rows, %d term rows",
        data_date,
        len(day.posts),
        len(day.engagement),
        len(day.terms),
    )
    return str(folder)


def load_staged(folder: str) -> LoadCounts:
    """Load a staged platform-day into the warehouse in one transaction."""
    day = read_staged(Path(folder))
    with open_warehouse(paths.warehouse_url()) as engine:
        counts = load_day(engine, day)
    log.info(
        "%s %s: loaded %d posts, %d engagement rows, %d articles, %d article-day rows, %d term rows into %s",
        day.platform,
        day.data_date,
        counts.posts,
        counts.engagement_rows,
        counts.articles,
        counts.article_daily_rows,
        counts.term_rows,
        safe_url(paths.warehouse_url()),
    )
    return counts


def weibo_check(results: list[dict[str, Any]], data_date: date) -> list[str]:
    """Fail the run (after the load) when accounts must re-authorize; return warnings otherwise."""
    warnings = check_results(results, data_date)
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


def weibo_rebuild(data_date: date) -> LoadCounts:
    """Rebuild one date in the warehouse from the raw lake alone, without calling the API."""
    return load_staged(weibo_transform(data_date))


def run_weibo_day(data_date: date, lookup: SecretLookup = env_lookup) -> LoadCounts:
    """The whole daily run in this process, without Airflow: the same steps the DAG wires."""
    batches = weibo_plan(data_date, lookup)
    plan = [task for batch in batches for task in batch]
    run_id = new_run_id()
    results = [r for batch in batches for r in weibo_extract(batch, data_date, run_id, lookup)]
    counts = load_staged(weibo_transform(data_date, plan, results))
    weibo_check(results, data_date)
    return counts
