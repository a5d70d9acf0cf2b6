"""What every platform's daily run shares: the run window, account results, staging, the final check."""

from __future__ import annotations

import logging
import re
import traceback
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from extractors.errors import ShengliangError
from extractors.lake import Quarantine, RawLake, RawRecord
from shengliang.registry import Account
from shengliang.settings import BEIJING, ConfigError
from transforms.confidential import CONFIDENTIAL_TERMS_ENV, ConfidentialMatcher
from transforms.keywords import KeywordExtractor
from transforms.post_text import PostTextAnalyzer
from transforms.segment import DEFAULT_STOPWORDS_PATH, Segmenter, load_stopwords
from transforms.sentiment import configured_scorer
from warehouse.load import DayLoad

log = logging.getLogger(__name__)

STATUS_OK = "ok"
STATUS_REAUTHORIZE = "reauthorize"
STATUS_RATE_LIMITED = "rate_limited"
STATUS_ERROR = "error"


class RunIncomplete(ShengliangError):
    """Some accounts could not be read; the message lists them and what to do."""


_SECRET_IN_TEXT = re.compile(r"\b(access_token|secret|appsecret|client_secret)=[^&\s\"']+")


def unexpected_failure(platform: str, account: str, data_date: date | str, error: BaseException) -> str:
    """The result message of an account that failed in a way no handler expected (logged with its
    traceback); secrets in URLs are redacted."""
    text = _SECRET_IN_TEXT.sub(r"\1=***", f"{type(error).__name__}: {error}")
    log.error(
        "%s, account %s, date %s: unexpected failure; the other accounts go on\n%s",
        platform,
        account,
        data_date,
        _SECRET_IN_TEXT.sub(r"\1=***", traceback.format_exc()),
    )
    return f"{platform}, account {account}, date {data_date}: unexpected failure ({text})"


def quarantine_summary(results: Sequence[dict[str, Any]], data_date: date, platform: str) -> str | None:
    """ "N records quarantined" for the run summary, by account; None when there were none."""
    counts = {r["account_id"]: int(r.get("quarantined") or 0) for r in results}
    total = sum(counts.values())
    if not total:
        return None
    by_account = ", ".join(f"{account} {n}" for account, n in sorted(counts.items()) if n)
    return (
        f"{platform} run for {data_date}: {total} records quarantined (could not be read; skipped) - "
        f"by account: {by_account}; they are kept under platform={platform}/_quarantine/ in the lake"
    )


def parse_data_date(text: str) -> date:
    """A YYYY-MM-DD date, or a clear error naming the input."""
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ConfigError(f"date {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-01") from None


def yesterday_in_beijing(now: datetime | None = None) -> date:
    now = now or datetime.now(UTC)
    return now.astimezone(BEIJING).date() - timedelta(days=1)


@dataclass(frozen=True)
class RunWindow:
    """The run's data date (Beijing) and the UTC instants that bound it."""

    data_date: date
    interval_start: datetime
    interval_end: datetime
    tracking_from: datetime

    @classmethod
    def for_date(cls, data_date: date, tracking_days: int) -> RunWindow:
        start = datetime.combine(data_date, time(0), BEIJING).astimezone(UTC)
        end = datetime.combine(data_date + timedelta(days=1), time(0), BEIJING).astimezone(UTC)
        return cls(data_date, start, end, end - timedelta(days=tracking_days))


@lru_cache(maxsize=32)
def segmenter_for(dictionary: Path | None) -> Segmenter:
    return Segmenter(user_dictionaries=[dictionary] if dictionary else [])


@lru_cache(maxsize=32)
def analyzer_for(dictionary: Path | None) -> PostTextAnalyzer:
    """The text transform of one brand (its dictionary); scorer, keywords and lexicon are shared."""
    return PostTextAnalyzer(
        segmenter_for(dictionary), configured_scorer(), _keyword_extractor(), _confidential_matcher()
    )


@lru_cache(maxsize=1)
def _keyword_extractor() -> KeywordExtractor:
    return KeywordExtractor(stopwords=load_stopwords(DEFAULT_STOPWORDS_PATH))


@lru_cache(maxsize=1)
def _confidential_matcher() -> ConfidentialMatcher:
    return ConfidentialMatcher.from_config()


def check_text_configuration(dictionaries: Iterable[Path | None]) -> None:
    """Build every brand's text transform now, so a bad segmenter setting, brand dictionary,
    confidential lexicon or sentiment model is one ConfigError before any API call."""
    try:
        for dictionary in dict.fromkeys(dictionaries):
            analyzer_for(dictionary).segmenter.tokenize("配置检查")
    except ConfigError:
        raise
    except FileNotFoundError as error:
        raise ConfigError(
            f"{error.filename}: no such file. Check {CONFIDENTIAL_TERMS_ENV} (confidential lexicon) and "
            "the dictionary paths in the account registry."
        ) from None
    except (ShengliangError, ValueError, OSError) as error:
        raise ConfigError(f"{error} (fix the file, or the setting that points at it)") from None


def keyword_rows(platform: str, post_id: str, keywords: Sequence[tuple[str, float]]) -> list[dict[str, Any]]:
    return [
        {"platform": platform, "post_id": post_id, "keyword": keyword, "weight": weight, "keyword_rank": rank}
        for rank, (keyword, weight) in enumerate(keywords, start=1)
    ]


def term_rows(platform: str, post_id: str, term_counts: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    return [
        {"platform": platform, "post_id": post_id, "term": term, "term_kind": kind, "term_count": count}
        for (term, kind), count in sorted(term_counts.items())
    ]


def account_row(account: Account, screen_name: str | None, followers: int | None) -> dict[str, Any]:
    """The dim_account row of a registered account."""
    return {
        "account_key": account.account_key,
        "platform": account.platform,
        "account_id": account.account_id,
        "brand_id": account.brand.brand_id,
        "brand_name": account.brand.name,
        "display_name": account.display_name,
        "screen_name": screen_name,
        "account_kind": account.kind,
        "department": account.department,
        "followers": followers,
    }


def brand_rows(accounts: Iterable[Account]) -> list[dict[str, Any]]:
    """The dim_brand rows of the brands these accounts belong to."""
    brands = {account.brand.brand_id: account.brand for account in accounts}
    return [
        {
            "brand_id": brand.brand_id,
            "brand_name": brand.name,
            "is_leaderboard_opt_in": brand.advocate_leaderboard,
        }
        for _, brand in sorted(brands.items())
    ]


def utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


# --- staging between transform and load ------------------------------------------------------------


def staged_folder(root: Path, platform: str, data_date: date) -> Path:
    return root / platform / f"date={data_date.isoformat()}"


def write_staged(day: DayLoad, folder: Path) -> Path:
    """The transformed day as Parquet files, one per table, so the load task can run elsewhere."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in DayLoad.TABLES:
        rows = getattr(day, name)
        # Columns are the union of the rows' keys (from_pylist would take the first row's keys only).
        columns = list(dict.fromkeys(key for row in rows for key in row))
        table = pa.Table.from_pydict({key: [row.get(key) for row in rows] for key in columns})
        pq.write_table(table, folder / f"{name}.parquet")
    (folder / "day.txt").write_text(f"{day.platform} {day.data_date.isoformat()}")
    return folder


def read_staged(folder: Path) -> DayLoad:
    platform, day_text = (folder / "day.txt").read_text().split()
    day = DayLoad(platform=platform, data_date=date.fromisoformat(day_text))
    for name in DayLoad.TABLES:
        setattr(day, name, pq.read_table(folder / f"{name}.parquet").to_pylist())
    return day


# --- quarantine in the transform -----------------------------------------------------------------


def quarantine_lake(records: Sequence[RawRecord], lake: RawLake | None) -> RawLake | None:
    """Where a transform quarantines: the lake given, else the one the records were read from."""
    return lake if lake is not None else getattr(records, "lake", None)


class TransformQuarantine:
    """The transform's quarantine of one platform-day: records it cannot read, by account."""

    def __init__(self, platform: str, day: date, lake: RawLake | None) -> None:
        self.platform = platform
        self.day = day
        self.lake = lake
        self.by_account: dict[str, Quarantine] = {}
        self.fallback: dict[str, int] = defaultdict(int)

    def add(self, record: RawRecord, item: Any, reason: str) -> None:
        log.warning(
            "%s %s, account %s, date %s: skipped and quarantined a record the transform cannot read (%s)",
            self.platform,
            record.endpoint,
            record.account_id,
            self.day,
            reason,
        )
        if self.lake is None:
            self.fallback[record.account_id] += 1
            return
        quarantine = self.by_account.get(record.account_id)
        if quarantine is None:
            quarantine = self.lake.quarantine(self.platform, self.day, record.account_id, "transform")
            self.by_account[record.account_id] = quarantine
        quarantine.add(record.endpoint, item, reason, params=record.params, requested_at=record.requested_at)

    def counts(self) -> dict[str, int]:
        found = dict(self.fallback)
        for account_id, quarantine in self.by_account.items():
            found[account_id] = found.get(account_id, 0) + quarantine.count
        return found

    def flush(self) -> dict[str, int]:
        """Write the quarantine (replacing the transform's earlier files of the day); the counts."""
        counts = self.counts()
        if self.lake is not None:
            self.lake.clear_quarantine(self.platform, self.day, "transform")
            for quarantine in self.by_account.values():
                quarantine.flush()
        if counts:
            log.warning(
                "%s %s: %d records quarantined by the transform (%s)",
                self.platform,
                self.day,
                sum(counts.values()),
                ", ".join(f"account {a} {n}" for a, n in sorted(counts.items())),
            )
        return counts


# --- check ----------------------------------------------------------------------------------------


def add_run_results(day: DayLoad, results: Sequence[dict[str, Any]], *, stream: str) -> None:
    """The run log rows and the bookmarks (advanced only by complete reads) of the accounts read."""
    finished = datetime.now(UTC).replace(tzinfo=None)
    for result in results:
        day.runs.append(
            {
                "platform": day.platform,
                "account_id": result["account_id"],
                "data_date": day.data_date,
                "status": result["status"],
                "message": result["message"],
                "posts_fetched": result["posts_fetched"],
                "api_calls": result["api_calls"],
                "finished_at": finished,
            }
        )
        if result.get("bookmark"):
            day.bookmarks.append(
                {
                    "platform": day.platform,
                    "account_id": result["account_id"],
                    "stream": stream,
                    "bookmark": result["bookmark"],
                    "bookmark_at": datetime.fromisoformat(result["bookmark_at"]),
                }
            )


def check_results(results: Sequence[dict[str, Any]], data_date: date, platform: str = "weibo") -> list[str]:
    """Raise RunIncomplete when accounts must re-authorize or failed; return rate-limit warnings and
    the count of quarantined records."""
    reauthorize = [r for r in results if r["status"] == STATUS_REAUTHORIZE]
    failed = [r for r in results if r["status"] == STATUS_ERROR]
    warnings = [r["message"] for r in results if r["status"] == STATUS_RATE_LIMITED]
    quarantined = quarantine_summary(results, data_date, platform)
    if quarantined:
        warnings.append(quarantined)
    if reauthorize or failed:
        lines = [f"{platform} run for {data_date}: the other accounts loaded, but"]
        if reauthorize:
            lines.append(
                f"{len(reauthorize)} account(s) must re-authorize or fix credentials (then re-run this date):"
            )
            lines += [f"  - {r['message']}" for r in reauthorize]
        if failed:
            lines.append(f"{len(failed)} account(s) failed:")
            lines += [f"  - {r['message']}" for r in failed]
        if quarantined:
            lines.append(quarantined)
        raise RunIncomplete("\n".join(lines))
    return warnings
