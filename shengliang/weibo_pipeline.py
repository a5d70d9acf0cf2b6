"""The Weibo daily run as plain functions: plan, extract, transform, load, check.

The DAG calls these one task each; the CLI's rebuild calls transform and load straight from
the lake. Nothing here knows about Airflow. Everything handed between steps is JSON-friendly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from extractors.errors import ApiError, RateLimitedError, ReauthorizeError
from extractors.http import RetryPolicy
from extractors.lake import RawLake, RawRecord
from extractors.weibo import (
    COUNTS,
    PLATFORM,
    TIMELINE,
    USERS_SHOW,
    WeiboClient,
    WeiboSettings,
    fetch_counts,
    fetch_user,
    iter_timeline,
)
from shengliang.daily import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_RATE_LIMITED,
    STATUS_REAUTHORIZE,
    RunWindow,
    account_row,
    add_run_results,
    analyzer_for,
    brand_rows,
    keyword_rows,
    term_rows,
    utc_naive,
)
from shengliang.registry import Account, Registry, SecretLookup
from shengliang.settings import BEIJING, ConfigError, PipelineSettings
from transforms.post_text import PostTextAnalyzer
from transforms.weibo_status import parse_count, parse_created_at
from transforms.weibo_text import clean_weibo_text
from warehouse.load import DayLoad, read_bookmarks, read_tracked_posts

log = logging.getLogger(__name__)


def weibo_client(settings: PipelineSettings) -> WeiboClient:
    return WeiboClient(
        WeiboSettings(
            base_url=settings.weibo_base_url,
            timeout_seconds=settings.http_timeout_seconds,
            retry=RetryPolicy(
                max_attempts=settings.http_max_attempts, base_delay_seconds=settings.http_backoff_seconds
            ),
            max_rate_limit_wait_seconds=settings.max_rate_limit_wait_seconds,
        )
    )


# --- plan -----------------------------------------------------------------------------------------


def plan_weibo_run(
    registry: Registry, engine: Engine, window: RunWindow, accounts_per_batch: int
) -> list[list[dict[str, Any]]]:
    """Batches of account tasks: since_id bookmark (or backfill) and the posts to refresh."""
    accounts = registry.for_platform(PLATFORM)
    if not accounts:
        raise ConfigError(f"{registry.path}: no weibo accounts registered; add some under 'accounts:'")
    bookmarks = read_bookmarks(engine, PLATFORM, TIMELINE)
    tracked = read_tracked_posts(
        engine,
        [a.account_key for a in accounts],
        window.tracking_from.replace(tzinfo=None),
        window.interval_end.replace(tzinfo=None),
    )
    tasks = []
    for account in accounts:
        since_id, bookmark_at = bookmarks.get(account.account_id, (None, None))
        # A date whose end lies before the newest post already loaded is a backfill: read the
        # timeline back to the tracking window instead of from the bookmark.
        backfill = bookmark_at is not None and window.interval_end.replace(tzinfo=None) <= bookmark_at
        tasks.append(
            {
                "account_id": account.account_id,
                "since_id": None if backfill else since_id,
                "backfill": backfill,
                "tracked": [[post_id, followers] for post_id, followers in tracked[account.account_key]],
            }
        )
    return [tasks[i : i + accounts_per_batch] for i in range(0, len(tasks), accounts_per_batch)]


# --- extract --------------------------------------------------------------------------------------


def extract_weibo_account(
    client: WeiboClient,
    lake: RawLake,
    account: Account,
    task: dict[str, Any],
    token: str | None,
    window: RunWindow,
    run_id: str,
) -> dict[str, Any]:
    """Read one account into the lake. Failures are recorded in the result, never raised."""
    day = window.data_date.isoformat()
    result: dict[str, Any] = {
        "account_id": account.account_id,
        "status": STATUS_OK,
        "message": None,
        "posts_fetched": 0,
        "api_calls": 0,
        "bookmark": None,
        "bookmark_at": None,
    }
    if not token:
        result.update(
            status=STATUS_REAUTHORIZE,
            message=f"weibo, account {account.label()}, date {day}: no token found in "
            f"{account.token.describe()}; set it or re-authorize the account",
        )
        return result
    buffer = lake.buffer(PLATFORM, window.data_date, account.account_id, run_id)
    calls_before = sum(client.http.call_counts.values())
    newest: tuple[int, datetime] | None = None
    try:
        seen: set[str] = set()
        for page in iter_timeline(
            client,
            uid=account.account_id,
            token=token,
            since_id=task["since_id"],
            stop_before=window.tracking_from,
            on_response=buffer.add,
        ):
            for status in page:
                seen.add(str(status.get("idstr") or status["id"]))
                created = parse_created_at(status["created_at"])
                if created < window.interval_end and (newest is None or int(status["id"]) > newest[0]):
                    newest = (int(status["id"]), created)
            result["posts_fetched"] = len(seen)
        if newest is not None and not task["backfill"]:
            result["bookmark"] = str(newest[0])
            result["bookmark_at"] = newest[1].astimezone(UTC).replace(tzinfo=None).isoformat()
        refresh = [post_id for post_id, _ in task["tracked"] if post_id not in seen]
        fetch_counts(client, uid=account.account_id, token=token, post_ids=refresh, on_response=buffer.add)
        fetch_user(client, uid=account.account_id, token=token, on_response=buffer.add)
    except ReauthorizeError as error:
        result.update(status=STATUS_REAUTHORIZE, message=str(error.with_context(data_date=day)))
    except RateLimitedError as error:
        result.update(status=STATUS_RATE_LIMITED, message=str(error.with_context(data_date=day)))
    except ApiError as error:
        result.update(
            status=STATUS_ERROR, message=str(error.with_context(account=account.account_id, data_date=day))
        )
    finally:
        buffer.flush()
    result["api_calls"] = sum(client.http.call_counts.values()) - calls_before
    if result["status"] == STATUS_OK:
        log.info(
            "weibo %s %s: %d posts fetched, %d known posts refreshed, %d API calls",
            account.label(),
            day,
            result["posts_fetched"],
            len(task["tracked"]),
            result["api_calls"],
        )
    else:
        log.warning("%s", result["message"])
    return result


def extract_weibo_batch(
    batch: Sequence[dict[str, Any]],
    *,
    registry: Registry,
    window: RunWindow,
    settings: PipelineSettings,
    lake: RawLake,
    lookup: SecretLookup,
    run_id: str,
) -> list[dict[str, Any]]:
    client = weibo_client(settings)
    try:
        results = []
        for position, task in enumerate(batch, start=1):
            account = registry.account(PLATFORM, task["account_id"])
            log.info("weibo %s: account %d/%d %s", window.data_date, position, len(batch), account.label())
            token = lookup(account.token)
            results.append(extract_weibo_account(client, lake, account, task, token, window, run_id))
        return results
    finally:
        client.close()


# --- transform ------------------------------------------------------------------------------------


def _post_row(status: dict[str, Any], account: Account, observed_at: datetime) -> dict[str, Any]:
    created = parse_created_at(status["created_at"])
    clean = clean_weibo_text(str(status.get("text") or ""))
    original = status.get("retweeted_status") if isinstance(status.get("retweeted_status"), dict) else None
    user = status.get("user") if isinstance(status.get("user"), dict) else {}
    original_user = original.get("user") if original and isinstance(original.get("user"), dict) else {}
    return {
        "post_id": str(status.get("idstr") or status["id"]),
        "account_key": account.account_key,
        "published_at": utc_naive(created),
        "publish_date": created.astimezone(BEIJING).date(),
        "text": str(status.get("text") or ""),
        "clean_text": clean.text,
        "own_text": clean.own_text,
        "is_repost": original is not None,
        "original_post_id": str(original.get("idstr") or original.get("id")) if original else None,
        "original_author_id": str(original_user.get("idstr") or original_user.get("id") or "") or None,
        "repost_chain_depth": len(clean.chain),
        "topics": json.dumps(list(clean.topics), ensure_ascii=False),
        "mentions": json.dumps(list(clean.mentions), ensure_ascii=False),
        "emoticons": json.dumps(list(clean.emoticons), ensure_ascii=False),
        "links": json.dumps(list(clean.links), ensure_ascii=False),
        "is_long_text": bool(status.get("isLongText")),
        "text_length": parse_count(status.get("textLength")),
        "author_followers_at_publish": parse_count(user.get("followers_count")),
        "first_seen_at": utc_naive(observed_at),
    }, clean


def _engagement_row(
    post_id: str,
    account_key: str,
    counts: dict[str, Any],
    followers: int | None,
    day: date,
    observed_at: datetime,
) -> dict[str, Any]:
    reposts = parse_count(counts.get("reposts")) or 0
    comments = parse_count(counts.get("comments")) or 0
    likes = parse_count(counts.get("attitudes")) or 0
    engagement = reposts + comments + likes
    return {
        "post_id": post_id,
        "snapshot_date": day,
        "account_key": account_key,
        "reposts": reposts,
        "comments": comments,
        "likes": likes,
        "engagement": engagement,
        "engagement_rate": round(engagement / followers * 100, 6) if followers else None,
        "observed_at": utc_naive(observed_at),
    }


def transform_weibo_day(
    records: Sequence[RawRecord],
    *,
    registry: Registry,
    window: RunWindow,
    plan: Sequence[dict[str, Any]] = (),
    results: Sequence[dict[str, Any]] = (),
    analyzer: Callable[[Path | None], PostTextAnalyzer] = analyzer_for,
) -> DayLoad:
    """Build the day's warehouse rows from its raw responses (every run of that date, latest wins)."""
    day = window.data_date
    accounts = {a.account_id: a for a in registry.for_platform(PLATFORM)}
    followers_known = {post_id: followers for task in plan for post_id, followers in task["tracked"]}
    statuses: dict[str, tuple[datetime, dict[str, Any], str]] = {}
    counts: dict[str, tuple[datetime, dict[str, Any], str]] = {}
    users: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for record in records:
        if record.account_id not in accounts:
            continue  # an account removed from the registry since
        payload = record.payload()
        if record.endpoint == TIMELINE:
            for status in payload.get("statuses", []):
                try:
                    post_id = str(status.get("idstr") or status["id"])
                    parse_created_at(status["created_at"])
                except (KeyError, TypeError, ValueError) as error:
                    log.warning(
                        "weibo %s, account %s, date %s: skipped a malformed post (%s: %s)",
                        TIMELINE,
                        record.account_id,
                        day,
                        type(error).__name__,
                        error,
                    )
                    continue
                statuses[post_id] = (record.requested_at, status, record.account_id)
                counts[post_id] = (
                    record.requested_at,
                    {
                        "reposts": status.get("reposts_count"),
                        "comments": status.get("comments_count"),
                        "attitudes": status.get("attitudes_count"),
                    },
                    record.account_id,
                )
        elif record.endpoint == COUNTS:
            for item in payload:
                post_id = str(item.get("idstr") or item.get("id"))
                if post_id not in counts or counts[post_id][0] <= record.requested_at:
                    counts[post_id] = (record.requested_at, item, record.account_id)
        elif record.endpoint == USERS_SHOW:
            users[record.account_id] = (record.requested_at, payload)

    out = DayLoad(platform=PLATFORM, data_date=day)
    out.brands = brand_rows(accounts.values())
    for account in accounts.values():
        observed = users.get(account.account_id)
        user = observed[1] if observed else {}
        out.accounts.append(
            account_row(account, user.get("screen_name"), parse_count(user.get("followers_count")))
        )
        if observed:
            out.account_daily.append(
                {
                    "account_key": account.account_key,
                    "stat_date": day,
                    "followers": parse_count(user.get("followers_count")),
                    "new_followers": None,
                    "lost_followers": None,
                    "observed_at": utc_naive(observed[0]),
                }
            )

    published: dict[str, datetime] = {}
    for post_id, (observed_at, status, account_id) in sorted(statuses.items()):
        account = accounts[account_id]
        row, clean = _post_row(status, account, observed_at)
        if row["published_at"] >= utc_naive(window.interval_end):
            continue  # after the data interval: the next day's run loads it
        out.posts.append(row)
        published[post_id] = row["published_at"]
        followers_known.setdefault(post_id, row["author_followers_at_publish"])
        original = status.get("retweeted_status")
        original_text = str(original.get("text") or "") if isinstance(original, dict) else ""
        text = analyzer(account.brand.dictionary).analyze_clean(
            clean,
            check_confidential=account.kind == "employee",
            original=clean_weibo_text(original_text) if original_text else None,
        )
        row["sentiment_score"] = text.sentiment.score
        row["sentiment_label"] = text.sentiment.label
        found = text.confidential_terms
        row["confidential_terms"] = None if found is None else json.dumps(found, ensure_ascii=False)
        row["is_flagged_confidential"] = bool(text.confidential_terms)
        out.terms += term_rows(PLATFORM, post_id, text.term_counts)
        out.keywords += keyword_rows(PLATFORM, post_id, text.keywords)

    tracked = {post_id for task in plan for post_id, _ in task["tracked"]}
    for post_id, (observed_at, item, account_id) in sorted(counts.items()):
        in_window = post_id in tracked or (
            post_id in published and published[post_id] >= utc_naive(window.tracking_from)
        )
        if not in_window:
            continue
        out.engagement.append(
            _engagement_row(
                post_id,
                accounts[account_id].account_key,
                item,
                followers_known.get(post_id),
                day,
                observed_at,
            )
        )

    add_run_results(out, results, stream=TIMELINE)
    return out
