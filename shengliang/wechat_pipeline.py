"""The WeChat daily run as plain functions: plan, extract, transform (load and check are shared).

For data date D it lists newly published articles (freepublish/batchget, incremental by
update_time), pulls D's statistics, and re-pulls what the platform still revises: follower and
read figures for D-1 as well, and article totals for articles published D-6..D.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from extractors.errors import (
    ApiError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitedError,
    ReauthorizeError,
)
from extractors.http import HttpResponse, RetryPolicy
from extractors.lake import RawLake, RawRecord
from extractors.wechat import (
    BATCHGET,
    DATACUBE,
    PLATFORM,
    FileTokenStore,
    WeChatClient,
    WeChatSettings,
    iter_published,
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
from transforms.wechat import (
    article_summary_rows,
    article_total_rows,
    check_datacube_row,
    check_published_item,
    follower_days,
    merge_article_daily,
    msgid_from_url,
    read_days,
)
from transforms.weibo_status import MalformedRecord
from transforms.weibo_text import clean_weibo_text
from warehouse.load import DayLoad, read_bookmarks
from warehouse.schema import fct_article_daily

log = logging.getLogger(__name__)

ARTICLE_TOTAL_DAYS = 7  # getarticletotal follows an article for 7 days after publishing
# The newer article endpoints answer like the older ones (assumed, see extractors.wechat).
FAMILY_KEY = {"getarticletotaldetail": "getarticletotal", "getarticleread": "getarticlesummary"}


def wechat_client(
    settings: PipelineSettings, secret_for: Callable[[str], str | None], token_dir: Path
) -> WeChatClient:
    return WeChatClient(
        WeChatSettings(
            base_url=settings.wechat_base_url,
            timeout_seconds=settings.http_timeout_seconds,
            retry=RetryPolicy(
                max_attempts=settings.http_max_attempts, base_delay_seconds=settings.http_backoff_seconds
            ),
        ),
        secret_for,
        FileTokenStore(token_dir),
    )


def stats_requests(data_date: date) -> list[tuple[str, date, date]]:
    """The datacube calls for data date D: D plus the trailing days the platform still revises."""
    day_before = data_date - timedelta(days=1)
    return [
        ("getusersummary", day_before, data_date),
        ("getusercumulate", day_before, data_date),
        ("getuserread", day_before, data_date),
        ("getusershare", day_before, data_date),
        ("getarticlesummary", data_date, data_date),
        ("getarticletotal", data_date - timedelta(days=ARTICLE_TOTAL_DAYS - 1), data_date),
    ]


# --- plan -----------------------------------------------------------------------------------------


def plan_wechat_run(
    registry: Registry, engine: Engine, window: RunWindow, accounts_per_batch: int
) -> list[list[dict[str, Any]]]:
    accounts = registry.for_platform(PLATFORM)
    if not accounts:
        raise ConfigError(f"{registry.path}: no wechat accounts registered; add some under 'accounts:'")
    bookmarks = read_bookmarks(engine, PLATFORM, BATCHGET)
    tasks = []
    for account in accounts:
        since, bookmark_at = bookmarks.get(account.account_id, (None, None))
        backfill = bookmark_at is not None and utc_naive(window.interval_end) <= bookmark_at
        tasks.append(
            {
                "account_id": account.account_id,
                "since_update_time": None if backfill else since,
                "backfill": backfill,
            }
        )
    return [tasks[i : i + accounts_per_batch] for i in range(0, len(tasks), accounts_per_batch)]


# --- extract --------------------------------------------------------------------------------------


def extract_wechat_account(
    client: WeChatClient,
    lake: RawLake,
    account: Account,
    task: dict[str, Any],
    window: RunWindow,
    run_id: str,
    today: date,
) -> dict[str, Any]:
    """Read one Official Account into the lake. Failures are recorded in the result, never raised.

    A record that cannot be read (an item without update_time, a datacube row whose ref_date is not
    YYYY-MM-DD) is skipped, logged, counted in `quarantined` and kept in the lake's quarantine."""
    day = window.data_date.isoformat()
    appid = account.account_id
    result: dict[str, Any] = {
        "account_id": appid,
        "status": STATUS_OK,
        "message": None,
        "posts_fetched": 0,
        "api_calls": 0,
        "bookmark": None,
        "bookmark_at": None,
        "quarantined": 0,
    }
    buffer = lake.buffer(PLATFORM, window.data_date, appid, run_id)
    quarantine = lake.quarantine(PLATFORM, window.data_date, appid, "extract", run_id)
    last_response: dict[str, Any] = {}

    def on_response(endpoint: str, params: dict[str, Any], response: HttpResponse) -> None:
        last_response.update(params=params, requested_at=datetime.fromtimestamp(response.requested_at, UTC))
        buffer.add(endpoint, params, response)

    def on_malformed(endpoint: str, record: Any, reason: str) -> None:
        log.warning(
            "wechat %s, account %s, date %s: skipped and quarantined a malformed record (%s)",
            endpoint,
            account.label(),
            day,
            reason,
        )
        quarantine.add(endpoint, record, reason, **last_response)

    calls_before = sum(client.http.call_counts.values())
    warnings: list[str] = []
    try:
        newest: int | None = None
        since = int(task["since_update_time"]) if task["since_update_time"] else None
        end_ts = int(window.interval_end.timestamp())
        for page in iter_published(
            client,
            appid=appid,
            since_update_time=since,
            stop_before_update_time=int(window.tracking_from.timestamp()),
            on_response=on_response,
            on_malformed=on_malformed,
        ):
            for item in page:
                _, update_time = check_published_item(item)  # the page holds only readable items
                if since is not None and update_time <= since:
                    continue
                result["posts_fetched"] += len((item.get("content") or {}).get("news_item") or [])
                if update_time < end_ts and (newest is None or update_time > newest):
                    newest = update_time
        if newest is not None and not task["backfill"]:
            result["bookmark"] = str(newest)
            result["bookmark_at"] = datetime.fromtimestamp(newest, UTC).replace(tzinfo=None).isoformat()
        for name, begin, end in stats_requests(window.data_date):
            try:
                rows = client.datacube(name, begin, end, appid=appid, today=today, on_response=on_response)
            except QuotaExhaustedError as error:
                warnings.append(str(error.with_context(data_date=day)))
                continue
            for row in rows:
                try:
                    check_datacube_row(name, row)
                except MalformedRecord as error:
                    on_malformed(DATACUBE + name, row, str(error))
    except ReauthorizeError as error:
        result.update(
            status=STATUS_REAUTHORIZE, message=str(error.with_context(account=appid, data_date=day))
        )
    except PermissionDeniedError as error:
        result.update(status=STATUS_ERROR, message=f"{account.label()}: {error.with_context(data_date=day)}")
    except RateLimitedError as error:
        result.update(status=STATUS_RATE_LIMITED, message=str(error.with_context(data_date=day)))
    except ApiError as error:
        result.update(status=STATUS_ERROR, message=str(error.with_context(account=appid, data_date=day)))
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
    if warnings and result["status"] == STATUS_OK:
        result.update(status=STATUS_RATE_LIMITED, message="; ".join(warnings))
    result["quarantined"] = quarantine.count
    result["api_calls"] = sum(client.http.call_counts.values()) - calls_before
    if result["status"] == STATUS_OK:
        log.info(
            "wechat %s %s: %d new articles, %d records quarantined, %d API calls",
            account.label(),
            day,
            result["posts_fetched"],
            result["quarantined"],
            result["api_calls"],
        )
    else:
        log.warning("%s", result["message"])
    return result


def extract_wechat_batch(
    batch: Sequence[dict[str, Any]],
    *,
    registry: Registry,
    window: RunWindow,
    settings: PipelineSettings,
    lake: RawLake,
    lookup: SecretLookup,
    run_id: str,
    token_dir: Path,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """Read a batch of accounts; each account's failure is its own result, the others go on.

    An app-secret lookup that raises (a secrets backend that failed, or refused access) is not an
    account's failure: the other accounts are read, then it is raised, so the task is retried or
    fails as the lookup means."""
    lookup_failures: list[Exception] = []

    def secret_for(appid: str) -> str | None:
        try:
            return lookup(registry.account(PLATFORM, appid).token)
        except Exception as error:
            lookup_failures.append(error)
            raise

    today = today or datetime.now(UTC).astimezone(BEIJING).date()
    client = wechat_client(settings, secret_for, token_dir)
    try:
        results = []
        for position, task in enumerate(batch, start=1):
            account = registry.account(PLATFORM, task["account_id"])
            log.info("wechat %s: account %d/%d %s", window.data_date, position, len(batch), account.label())
            results.append(extract_wechat_account(client, lake, account, task, window, run_id, today))
    finally:
        client.close()
    if lookup_failures:
        raise lookup_failures[0]
    return results


# --- transform ------------------------------------------------------------------------------------


ARTICLE_DAILY_COLUMNS = [c.name for c in fct_article_daily.columns]


def _article_rows(
    item: dict[str, Any], account: Account, observed_at: datetime, analyzer: PostTextAnalyzer
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    articles: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    keywords: list[dict[str, Any]] = []
    published = datetime.fromtimestamp(check_published_item(item)[1], UTC)
    for position, news in enumerate((item.get("content") or {}).get("news_item") or [], start=1):
        url = str(news.get("url") or "")
        parts = msgid_from_url(url)
        if parts is None:
            log.warning(
                "wechat %s, account %s: article %s #%d has no mid/idx in its url; keyed by article_id",
                BATCHGET,
                account.account_id,
                item.get("article_id"),
                position,
            )
            parts = (str(item.get("article_id")), position)
        msgid = f"{parts[0]}_{parts[1]}"
        title, digest = str(news.get("title") or ""), str(news.get("digest") or "")
        clean = clean_weibo_text(" ".join([title, digest, str(news.get("content") or "")]))
        articles.append(
            {
                "msgid": msgid,
                "account_key": account.account_key,
                "article_id": str(item.get("article_id") or ""),
                "msg_data_id": parts[0],
                "position": parts[1],
                "title": title,
                "author": news.get("author") or None,
                "digest": digest or None,
                "url": url,
                "content_source_url": news.get("content_source_url") or None,
                "clean_text": clean.text,
                "is_deleted": bool(news.get("is_deleted")),
                "published_at": utc_naive(published),
                "publish_date": published.astimezone(BEIJING).date(),
                "first_seen_at": utc_naive(observed_at),
            }
        )
        # Official brand articles: terms and keywords; sentiment and confidential flags are for posts.
        term_counts, article_keywords = analyzer.terms_and_keywords(clean.own_text)
        terms += term_rows(PLATFORM, msgid, term_counts)
        keywords += keyword_rows(PLATFORM, msgid, article_keywords)
    return articles, terms, keywords


def transform_wechat_day(
    records: Sequence[RawRecord],
    *,
    registry: Registry,
    window: RunWindow,
    results: Sequence[dict[str, Any]] = (),
    analyzer: Callable[[Path | None], PostTextAnalyzer] = analyzer_for,
    lake: RawLake | None = None,
) -> DayLoad:
    """Build the day's warehouse rows from its raw responses (every run of that date, latest wins).

    What cannot be read (a response of the wrong shape, an item without update_time, a datacube row
    whose dates are not YYYY-MM-DD) is skipped and quarantined in `lake` (by default the lake the
    records were read from), so a bad answer kept in the lake never fails the day, nor a rebuild."""
    quarantine = TransformQuarantine(PLATFORM, window.data_date, quarantine_lake(records, lake))
    accounts = {a.account_id: a for a in registry.for_platform(PLATFORM)}
    out = DayLoad(platform=PLATFORM, data_date=window.data_date)
    out.brands = brand_rows(accounts.values())
    items: dict[tuple[str, str], tuple[datetime, dict[str, Any], RawRecord]] = {}
    # account -> (endpoint, begin_date, end_date) -> latest (observed_at, rows): a re-run of the same
    # request replaces the earlier answer instead of adding to it.
    stats: dict[str, dict[tuple[str, str, str], tuple[datetime, list[dict[str, Any]]]]] = {}
    for record in records:
        if record.account_id not in accounts:
            continue
        try:
            payload = record.payload()
        except ValueError as error:
            quarantine.add(record, record.body, f"body is not JSON ({error})")
            continue
        if record.endpoint == BATCHGET:
            page = payload.get("item") if isinstance(payload, dict) else None
            if not isinstance(page, list):
                quarantine.add(record, payload, "not an object with an 'item' list")
                continue
            for item in page:
                try:
                    article_id, _ = check_published_item(item)
                except MalformedRecord as error:
                    quarantine.add(record, item, str(error))
                    continue
                items[(record.account_id, article_id)] = (record.requested_at, item, record)
        elif record.endpoint.startswith(DATACUBE):
            rows = payload.get("list") if isinstance(payload, dict) else None
            if not isinstance(rows, list):
                quarantine.add(record, payload, "not an object with a 'list' list")
                continue
            name = record.endpoint.removeprefix(DATACUBE)
            name = FAMILY_KEY.get(name, name)
            readable = []
            for row in rows:
                try:
                    check_datacube_row(name, row)
                except MalformedRecord as error:
                    quarantine.add(record, row, str(error))
                    continue
                readable.append(row)
            key = (name, str(record.params.get("begin_date")), str(record.params.get("end_date")))
            latest = stats.setdefault(record.account_id, {})
            if key not in latest or latest[key][0] <= record.requested_at:
                latest[key] = (record.requested_at, readable)

    end = utc_naive(window.interval_end)
    for (account_id, _), (observed_at, item, record) in sorted(items.items(), key=lambda kv: kv[0]):
        account = accounts[account_id]
        if utc_naive(datetime.fromtimestamp(check_published_item(item)[1], UTC)) >= end:
            continue  # published after the data interval: the next day's run loads it
        try:
            rows, terms, keywords = _article_rows(
                item, account, observed_at, analyzer(account.brand.dictionary)
            )
        except (MalformedRecord, KeyError, TypeError, ValueError, AttributeError) as error:
            quarantine.add(record, item, f"{type(error).__name__}: {error}")
            continue
        out.articles.extend(rows)
        out.terms.extend(terms)
        out.keywords.extend(keywords)

    for account in accounts.values():
        responses = stats.get(account.account_id, {})

        def rows_of(name: str, responses: dict = responses) -> list[dict[str, Any]]:
            return [row for key, (_, rows) in sorted(responses.items()) if key[0] == name for row in rows]

        observed = [moment for moment, _ in responses.values()]
        observed_at = utc_naive(max(observed)) if observed else None
        followers = follower_days(rows_of("getusersummary"), rows_of("getusercumulate"))
        reads = read_days(rows_of("getuserread"), rows_of("getusershare"))
        latest_followers = None
        for stat_date in sorted(set(followers) | set(reads)):
            row = {"account_key": account.account_key, "stat_date": stat_date, "observed_at": observed_at}
            row.update({"followers": None, "new_followers": None, "lost_followers": None})
            row.update({"readers": None, "reads": None, "shares": None, "share_users": None})
            row.update(followers.get(stat_date, {}))
            row.update(reads.get(stat_date, {}))
            out.account_daily.append(row)
            latest_followers = row["followers"] if row["followers"] is not None else latest_followers
        for row in merge_article_daily(
            article_total_rows(rows_of("getarticletotal")), article_summary_rows(rows_of("getarticlesummary"))
        ):
            full = dict.fromkeys(ARTICLE_DAILY_COLUMNS)
            full.update(row, account_key=account.account_key, observed_at=observed_at)
            out.article_daily.append(full)
        out.accounts.append(account_row(account, None, latest_followers))

    quarantine.flush()
    add_run_results(out, results, stream=BATCHGET)
    return out
