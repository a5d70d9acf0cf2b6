"""The steps of the daily runs, assembled from the environment: what the DAG tasks and the CLI call.

Each function reads its configuration at call time (never at import), opens what it needs and
closes it again, so it can run in any worker process. `platform` is "weibo" or "wechat".
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from extractors.lake import RawLake, new_run_id
from shengliang import settings as paths
from shengliang import wechat_pipeline, weibo_pipeline
from shengliang.daily import (
    RunWindow,
    check_results,
    check_text_configuration,
    read_staged,
    staged_folder,
    write_staged,
)
from shengliang.registry import PLATFORMS, Registry, SecretLookup, env_lookup, load_registry
from shengliang.settings import ConfigError, PipelineSettings
from warehouse.connect import open_warehouse
from warehouse.db import safe_url
from warehouse.load import LoadCounts, load_day

log = logging.getLogger(__name__)


def _registry(lookup: SecretLookup | None) -> Registry:
    return load_registry(paths.accounts_file(), lookup=lookup)


def _window(data_date: date) -> RunWindow:
    return RunWindow.for_date(data_date, PipelineSettings.from_env().tracking_days)


def _check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise ConfigError(f"platform {platform!r} is unknown; use one of: {', '.join(PLATFORMS)}")


def plan(platform: str, data_date: date, lookup: SecretLookup = env_lookup) -> list[list[dict[str, Any]]]:
    """Validate the registry (every token must resolve) and plan the platform's accounts in batches."""
    _check_platform(platform)
    settings = PipelineSettings.from_env()
    registry = _registry(lookup)
    check_text_configuration(account.brand.dictionary for account in registry.for_platform(platform))
    planner = weibo_pipeline.plan_weibo_run if platform == "weibo" else wechat_pipeline.plan_wechat_run
    with open_warehouse(paths.warehouse_url()) as engine:
        batches = planner(registry, engine, _window(data_date), settings.accounts_per_batch)
    log.info("%s %s: %d accounts in %d batches", platform, data_date, sum(map(len, batches)), len(batches))
    return batches


def extract(
    platform: str,
    batch: list[dict[str, Any]],
    data_date: date,
    run_id: str | None = None,
    lookup: SecretLookup = env_lookup,
) -> list[dict[str, Any]]:
    """Read one batch of accounts into the raw lake."""
    _check_platform(platform)
    common = {
        "registry": _registry(None),
        "window": _window(data_date),
        "settings": PipelineSettings.from_env(),
        "lake": RawLake(paths.lake_dir()),
        "lookup": lookup,
        "run_id": run_id or new_run_id(),
    }
    if platform == "weibo":
        return weibo_pipeline.extract_weibo_batch(batch, **common)
    return wechat_pipeline.extract_wechat_batch(batch, token_dir=paths.token_dir(), **common)


def transform(
    platform: str,
    data_date: date,
    plan: list[dict[str, Any]] | None = None,
    results: list[dict[str, Any]] | None = None,
) -> str:
    """Turn the date's raw responses into warehouse rows, staged as Parquet; returns the folder."""
    _check_platform(platform)
    records = RawLake(paths.lake_dir()).read(platform, data_date)
    registry, window = _registry(None), _window(data_date)
    if platform == "weibo" and plan is None:
        # A rebuild: the posts tracked that day are the ones the warehouse holds in its window.
        with open_warehouse(paths.warehouse_url()) as engine:
            batches = weibo_pipeline.plan_weibo_run(registry, engine, window, accounts_per_batch=1000)
        plan = [task for batch in batches for task in batch]
    if platform == "weibo":
        day = weibo_pipeline.transform_weibo_day(
            records, registry=registry, window=window, plan=plan or [], results=results or []
        )
    else:
        day = wechat_pipeline.transform_wechat_day(
            records, registry=registry, window=window, results=results or []
        )
    folder = write_staged(day, staged_folder(paths.staging_dir(), platform, data_date))
    log.info(
        "%s %s: transformed %d posts, %d engagement rows, %d articles, %d article-day rows, %d term rows",
        platform,
        data_date,
        len(day.posts),
        len(day.engagement),
        len(day.articles),
        len(day.article_daily),
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


def build_marts() -> dict[str, Any]:
    """Rebuild every mart from the facts (after a load); returns {model: rows} and the seconds taken."""
    from warehouse import marts

    with open_warehouse(paths.warehouse_url()) as engine:
        result = marts.build_marts(engine, privacy_k=paths.privacy_k(), progress=log.debug)
    log.info(
        "built %d marts in %.1fs in %s", len(result.models), result.seconds, safe_url(paths.warehouse_url())
    )
    return {"models": {name: rows for name, _kind, rows in result.models}, "seconds": result.seconds}


def test_marts() -> int:
    """Run every mart's data tests; raise naming each failing model, test and row count."""
    from warehouse import marts

    with open_warehouse(paths.warehouse_url()) as engine:
        results = marts.check_marts(engine)
    log.info("%d mart data tests passed", len(results))
    return len(results)


test_marts.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def check(platform: str, results: list[dict[str, Any]], data_date: date) -> list[str]:
    """Fail the run (after the load) when accounts must re-authorize or failed; return warnings."""
    warnings = check_results(results, data_date, platform)
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


def rebuild(platform: str, data_date: date) -> LoadCounts:
    """Rebuild one date in the warehouse from the raw lake alone, without calling the API."""
    return load_staged(transform(platform, data_date))


def run_day(platform: str, data_date: date, lookup: SecretLookup = env_lookup) -> LoadCounts:
    """The whole daily run in this process, without Airflow: the same steps the DAGs wire."""
    batches = plan(platform, data_date, lookup)
    tasks = [task for batch in batches for task in batch]
    run_id = new_run_id()
    results = [r for batch in batches for r in extract(platform, batch, data_date, run_id, lookup)]
    counts = load_staged(transform(platform, data_date, tasks, results))
    check(platform, results, data_date)
    return counts
