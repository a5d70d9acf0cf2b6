"""The Weibo daily run as plain functions: plan, extract, transform, load, check.

The DAG calls these one task each; the CLI's rebuild calls transform and load straight from
the lake. Nothing here knows about Airflow. Everything handed between steps is JSON-friendly.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from extractors.errors import ApiError, RateLimitedError, ReauthorizeError
from extractors.http import HttpResponse, RetryPolicy
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
    TransformQuarantine,
    account_row,
    add_run_results,
    analyzer_for,
    brand_rows,
    keyword_rows,
    quarantine_lake,
    term_rows,
    unexpected_failure,
    utc_naive,
)
from shengliang.registry import Account, Registry, SecretLookup
from shengliang.settings import BEIJING, ConfigError, PipelineSettings
from transforms.post_text import PostTextAnalyzer
from transforms.weibo_status import MalformedRecord, check_status, parse_count, parse_post_id, status_id
from transforms.weibo_text import CleanText, clean_weibo_text
from warehouse.load import DayLoad, read_bookmarks, read_tracked_posts
from warehouse.schema import fct_post_engagement_daily

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
        if since_id is not None:
            try:
                since_id = parse_post_id(since_id)
            except MalformedRecord as error:
                # An id no post can have (an older run stored it): asking since it would fetch nothing,
                # for good. Read the tracking window instead until a valid bookmark replaces it.
                log.warning(
                    "weibo %s, account %s: the since_id bookmark is not a valid id (%s); reading the "
                    "tracking window instead",
                    TIMELINE,
                    account.label(),
                    error,
                )
                since_id, bookmark_at = None, None
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
    """Read one account into the lake. Failures are recorded in the result, never raised.

    A record that cannot be read (a post without a valid id or created_at, a count entry without a
    valid id) is skipped, logged, counted in `quarantined` and kept in the lake's quarantine; it
    never becomes a bookmark and never fails the account."""
    day = window.data_date.isoformat()
    result: dict[str, Any] = {
        "account_id": account.account_id,
        "status": STATUS_OK,
        "message": None,
        "posts_fetched": 0,
        "api_calls": 0,
        "bookmark": None,
        "bookmark_at": None,
        "quarantined": 0,
    }
    if not token:
        result.update(
            status=STATUS_REAUTHORIZE,
            message=f"weibo, account {account.label()}, date {day}: no token found in "
            f"{account.token.describe()}; set it or re-authorize the account",
        )
        return result
    buffer = lake.buffer(PLATFORM, window.data_date, account.account_id, run_id)
    quarantine = lake.quarantine(PLATFORM, window.data_date, account.account_id, "extract", run_id)
    last_response: dict[str, Any] = {}

    def on_response(endpoint: str, params: dict[str, Any], response: HttpResponse) -> None:
        last_response.update(params=params, requested_at=datetime.fromtimestamp(response.requested_at, UTC))
        buffer.add(endpoint, params, response)

    def on_malformed(endpoint: str, record: Any, reason: str) -> None:
        log.warning(
            "weibo %s, account %s, date %s: skipped and quarantined a malformed record (%s)",
            endpoint,
            account.label(),
            day,
            reason,
        )
        quarantine.add(endpoint, record, reason, **last_response)

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
            on_response=on_response,
            on_malformed=on_malformed,
        ):
            for status in page:
                post_id, created = check_status(status)  # the page holds only readable posts
                seen.add(post_id)
                if created < window.interval_end and (newest is None or int(post_id) > newest[0]):
                    newest = (int(post_id), created)
            result["posts_fetched"] = len(seen)
        if newest is not None and not task["backfill"]:
            result["bookmark"] = str(newest[0])
            result["bookmark_at"] = newest[1].astimezone(UTC).replace(tzinfo=None).isoformat()
        refresh = [post_id for post_id, _ in task["tracked"] if post_id not in seen]
        fetch_counts(
            client,
            uid=account.account_id,
            token=token,
            post_ids=refresh,
            on_response=on_response,
            on_malformed=on_malformed,
        )
        fetch_user(client, uid=account.account_id, token=token, on_response=on_response)
    except ReauthorizeError as error:
        result.update(status=STATUS_REAUTHORIZE, message=str(error.with_context(data_date=day)))
    except RateLimitedError as error:
        result.update(status=STATUS_RATE_LIMITED, message=str(error.with_context(data_date=day)))
    except ApiError as error:
        result.update(
            status=STATUS_ERROR, message=str(error.with_context(account=account.account_id, data_date=day))
        )
    except Exception as error:  # the promise: one account's surprise never fails its batch
        result.update(
            status=STATUS_ERROR,
            message=unexpected_failure(PLATFORM, account.label(), day, error),
            bookmark=None,
            bookmark_at=None,
        )
    finally:
        buffer.flush()
        quarantine.flush()
    result["quarantined"] = quarantine.count
    result["api_calls"] = sum(client.http.call_counts.values()) - calls_before
    if result["status"] == STATUS_OK:
        log.info(
            "weibo %s %s: %d posts fetched, %d known posts refreshed, %d records quarantined, %d API calls",
            account.label(),
            day,
            result["posts_fetched"],
            len(task["tracked"]),
            result["quarantined"],
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
    """Read a batch of accounts; each account's failure is its own result, the others go on.

    A token lookup that raises (a secrets backend that failed, or refused access) is not an
    account's failure: the other accounts are read, then it is raised, so the task is retried or
    fails as the lookup means."""
    client = weibo_client(settings)
    lookup_failure: Exception | None = None
    try:
        results = []
        for position, task in enumerate(batch, start=1):
            account = registry.account(PLATFORM, task["account_id"])
            log.info("weibo %s: account %d/%d %s", window.data_date, position, len(batch), account.label())
            try:
                token = lookup(account.token)
            except Exception as error:
                log.warning(
                    "weibo %s: the token lookup of account %s raised %s; the other accounts go on, "
                    "then the task fails with it",
                    window.data_date,
                    account.label(),
                    type(error).__name__,
                )
                lookup_failure = lookup_failure or error
                continue
            results.append(extract_weibo_account(client, lake, account, task, token, window, run_id))
    finally:
        client.close()
    if lookup_failure is not None:
        raise lookup_failure
    return results


# --- transform ------------------------------------------------------------------------------------


def _post_row(
    status: dict[str, Any], account: Account, observed_at: datetime
) -> tuple[dict[str, Any], CleanText]:
    post_id, created = check_status(status)
    text = status.get("text")
    if text is not None and not isinstance(text, str):
        raise MalformedRecord(f"text is a {type(text).__name__}, not a string")
    clean = clean_weibo_text(text or "")
    original = status.get("retweeted_status") if isinstance(status.get("retweeted_status"), dict) else None
    user: dict[str, Any] = status["user"] if isinstance(status.get("user"), dict) else {}
    original_user = original.get("user") if original and isinstance(original.get("user"), dict) else {}
    return {
        "post_id": post_id,
        "account_key": account.account_key,
        "published_at": utc_naive(created),
        "publish_date": created.astimezone(BEIJING).date(),
        "text": text or "",
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


COUNT_FIELDS = (("reposts", "reposts"), ("comments", "comments"), ("likes", "attitudes"))


class CountWarnings:
    """Counts that were missing or unparseable (stored as NULL), one warning per account and field."""

    def __init__(self, day: date) -> None:
        self.day = day
        self.seen: dict[tuple[str, str], list[tuple[str, Any]]] = defaultdict(list)

    def parse(self, value: Any, *, account_id: str, field: str, record_id: str) -> int | None:
        number = parse_count(value)
        if number is None:
            self.seen[(account_id, field)].append((record_id, value))
        return number

    def log(self, endpoint: str) -> None:
        for (account_id, field), examples in sorted(self.seen.items()):
            log.warning(
                "weibo %s, account %s, date %s: %d %s count(s) missing or unparseable, stored as NULL "
                "(e.g. %s)",
                endpoint,
                account_id,
                self.day,
                len(examples),
                field,
                ", ".join(f"post {post} {value!r}" for post, value in examples[:3]),
            )


def _merged_counts(observations: list[tuple[datetime, dict[str, Any]]]) -> dict[str, Any]:
    """The latest value of each count over the day's observations, oldest first: a later partial
    answer (a missing or null count) does not erase an earlier known one."""
    merged: dict[str, Any] = {}
    for _, counts in sorted(observations, key=lambda observation: observation[0]):
        for _, field in COUNT_FIELDS:
            if parse_count(counts.get(field)) is not None or field not in merged:
                merged[field] = counts.get(field)
    return merged


# fct_post_engagement_daily columns that take NULL (a count that is not known). Until the warehouse allows
# NULL there, a snapshot with an unknown count is left out rather than stored as a made-up 0.
_NULLABLE = {column.name for column in fct_post_engagement_daily.columns if column.nullable}


def _engagement_row(
    post_id: str,
    account_key: str,
    counts: dict[str, int | None],
    followers: int | None,
    day: date,
    observed_at: datetime,
) -> dict[str, Any]:
    reposts, comments, likes = (counts[column] for column, _ in COUNT_FIELDS)
    parts = (reposts, comments, likes)
    engagement = None if any(part is None for part in parts) else sum(parts)  # type: ignore[arg-type]
    return {
        "post_id": post_id,
        "snapshot_date": day,
        "account_key": account_key,
        "reposts": reposts,
        "comments": comments,
        "likes": likes,
        "engagement": engagement,
        "engagement_rate": round(engagement / followers * 100, 6)
        if followers and engagement is not None
        else None,
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
    lake: RawLake | None = None,
) -> DayLoad:
    """Build the day's warehouse rows from its raw responses (every run of that date, latest wins).

    What cannot be read (a response of the wrong shape, a post without a valid id or created_at) is
    skipped and quarantined in `lake` (by default the lake the records were read from), so a bad
    answer kept in the lake never fails the day, nor a rebuild of it."""
    day = window.data_date
    quarantine = TransformQuarantine(PLATFORM, day, quarantine_lake(records, lake))
    accounts = {a.account_id: a for a in registry.for_platform(PLATFORM)}
    followers_known = {post_id: followers for task in plan for post_id, followers in task["tracked"]}
    statuses: dict[str, tuple[datetime, dict[str, Any], str]] = {}
    counts: dict[str, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    count_owner: dict[str, str] = {}
    users: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for record in records:
        if record.account_id not in accounts:
            continue  # an account removed from the registry since
        try:
            payload = record.payload()
        except ValueError as error:
            quarantine.add(record, record.body, f"body is not JSON ({error})")
            continue
        if record.endpoint == TIMELINE:
            page = payload.get("statuses") if isinstance(payload, dict) else None
            if not isinstance(page, list):
                quarantine.add(record, payload, "not an object with a 'statuses' list")
                continue
            for status in page:
                try:
                    post_id, _ = check_status(status)
                except MalformedRecord as error:
                    quarantine.add(record, status, str(error))
                    continue
                statuses[post_id] = (record.requested_at, status, record.account_id)
                counts[post_id].append(
                    (
                        record.requested_at,
                        {
                            "reposts": status.get("reposts_count"),
                            "comments": status.get("comments_count"),
                            "attitudes": status.get("attitudes_count"),
                        },
                    )
                )
                count_owner[post_id] = record.account_id
        elif record.endpoint == COUNTS:
            if not isinstance(payload, list):
                quarantine.add(record, payload, f"expected a list of counts, got {type(payload).__name__}")
                continue
            for item in payload:
                try:
                    post_id = status_id(item)
                except MalformedRecord as error:
                    quarantine.add(record, item, str(error))
                    continue
                counts[post_id].append((record.requested_at, item))
                count_owner[post_id] = record.account_id
        elif record.endpoint == USERS_SHOW:
            if not isinstance(payload, dict):
                quarantine.add(record, payload, f"expected a user object, got {type(payload).__name__}")
                continue
            users[record.account_id] = (record.requested_at, payload)

    out = DayLoad(platform=PLATFORM, data_date=day)
    out.brands = brand_rows(accounts.values())
    for account in accounts.values():
        observed = users.get(account.account_id)
        user = observed[1] if observed else {}
        followers = parse_count(user.get("followers_count"))
        if observed and followers is None:
            log.warning(
                "weibo %s, account %s, date %s: followers_count %r missing or unparseable, stored as NULL",
                USERS_SHOW,
                account.label(),
                day,
                user.get("followers_count"),
            )
        screen_name = user.get("screen_name")
        out.accounts.append(
            account_row(account, screen_name if isinstance(screen_name, str) else None, followers)
        )
        if observed:
            out.account_daily.append(
                {
                    "account_key": account.account_key,
                    "stat_date": day,
                    "followers": followers,
                    "new_followers": None,
                    "lost_followers": None,
                    "observed_at": utc_naive(observed[0]),
                }
            )

    published: dict[str, datetime] = {}
    for post_id, (observed_at, status, account_id) in sorted(statuses.items()):
        account = accounts[account_id]
        try:
            row, clean = _post_row(status, account, observed_at)
            original = status.get("retweeted_status")
            original_text = original.get("text") if isinstance(original, dict) else None
            original_clean = (
                clean_weibo_text(original_text) if isinstance(original_text, str) and original_text else None
            )
        except (MalformedRecord, KeyError, TypeError, ValueError, AttributeError) as error:
            source = next(r for r in records if r.account_id == account_id and r.requested_at == observed_at)
            quarantine.add(source, status, f"{type(error).__name__}: {error}")
            counts.pop(post_id, None)
            continue
        if row["published_at"] >= utc_naive(window.interval_end):
            continue  # after the data interval: the next day's run loads it
        out.posts.append(row)
        published[post_id] = row["published_at"]
        followers_known.setdefault(post_id, row["author_followers_at_publish"])
        text = analyzer(account.brand.dictionary).analyze_clean(
            clean,
            check_confidential=account.kind == "employee",
            original=original_clean,
        )
        row["sentiment_score"] = text.sentiment.score
        row["sentiment_label"] = text.sentiment.label
        found = text.confidential_terms
        row["confidential_terms"] = None if found is None else json.dumps(found, ensure_ascii=False)
        row["is_flagged_confidential"] = bool(text.confidential_terms)
        out.terms += term_rows(PLATFORM, post_id, text.term_counts)
        out.keywords += keyword_rows(PLATFORM, post_id, text.keywords)

    tracked = {post_id for task in plan for post_id, _ in task["tracked"]}
    warnings = CountWarnings(day)
    for post_id, observations in sorted(counts.items()):
        in_window = post_id in tracked or (
            post_id in published and published[post_id] >= utc_naive(window.tracking_from)
        )
        if not in_window:
            continue
        account_id = count_owner[post_id]
        merged = _merged_counts(observations)
        values = {
            column: warnings.parse(merged.get(field), account_id=account_id, field=field, record_id=post_id)
            for column, field in COUNT_FIELDS
        }
        row = _engagement_row(
            post_id,
            accounts[account_id].account_key,
            values,
            followers_known.get(post_id),
            day,
            max(moment for moment, _ in observations),
        )
        refused = sorted(k for k, v in row.items() if v is None and k not in _NULLABLE)
        if refused:
            log.warning(
                "weibo post %s, account %s, date %s: engagement snapshot left out: %s unknown and the "
                "warehouse column does not take NULL",
                post_id,
                account_id,
                day,
                ", ".join(refused),
            )
            continue
        out.engagement.append(row)
    warnings.log(COUNTS)

    quarantine.flush()
    add_run_results(out, results, stream=TIMELINE)
    return out
