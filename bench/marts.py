"""Mart benchmark: a year of 100 accounts, the mart build, its data tests and one brand's daily report.

    .venv/bin/python bench/marts.py [--accounts 100] [--days 365] [--backends duckdb,postgresql] [--seed 7]
    .venv/bin/python bench/marts.py --backends postgresql --explain mart_post_growth --keep

Builds a warehouse of --days days ending 2026-11-10 for --accounts accounts: 80% Weibo employee
accounts, 20% brand-side accounts (4 brands for 100 accounts, each with 3 Weibo brand accounts and 2
WeChat Official Accounts; the employees spread unevenly over 3-4 departments per brand). The fact rows
are generated directly (seeded, the same for every backend):
- a Weibo brand account posts 3-6 posts a day; an employee 0-3, about half of them reposts of its
  brand's posts (original_author_id = the brand account's uid) and some of colleagues' posts;
- every post has an engagement snapshot on each of the 8 days from its publish date (ages 0..7,
  the 7-day tracking window), counts growing then flattening; sentiment labels and scores; about 1%
  of employee posts name a confidential term;
- fct_account_daily for every account and day (Weibo: followers; WeChat: followers, new and
  cancelled followers, reads, readers, shares, share users); etl_account_run per account and day,
  status ok except a few reauthorize;
- WeChat: one message of 1-4 articles a day per account (position 1 = headline), fct_article_daily
  for the 7 days from publishing, cumulative;
- fct_term_daily (the base of v_rising_terms), written directly from a Zipf vocabulary with a few
  bursting terms a day, and fct_post_term (the base of mart_term_daily: 12 term draws a post, 60 an
  article, from the same kind of vocabulary);
- dim_date for every date, dim_brand (half the brands opt in to leaderboards), dim_account.
They go in through the loader (`upsert` with the keep/fill columns `load_day` uses, `bulk_insert`
for the engagement snapshots and term days: the database is fresh, so nothing conflicts), one
transaction per table, into a fresh DuckDB file and a fresh PostgreSQL database (created on the
server of --postgres, dropped at the end unless --keep) after `upgrade_url`. PostgreSQL is then
VACUUM ANALYZEd (what autovacuum does over a year of daily loads), DuckDB checkpointed.

Then, each in its own process (so each peak memory figure is that step's own):
- build: `build_marts` twice, cold (the first build after the load, new process and engine) then
  warm (same engine), every model timed (the `progress` callback marks each model's start);
- tests: `test_marts`;
- report: the queries one brand's daily report needs for the latest date (see REPORT_QUERIES), a
  first pass in the new process, then the best of --passes passes.
Peak memory is the client process's max RSS (DuckDB runs inside it); for PostgreSQL the server
backend's peak RSS (VmHWM, shared buffers it touched included; parallel workers not) is shown too
when the server runs on this machine. Targets: every mart built in at most 30 s on DuckDB and 120 s on
PostgreSQL; the report queries of one brand and date in at most 2 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import uuid
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from load import drop_postgres, fresh_postgres  # noqa: E402  (bench/load.py, beside this file)
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table as RichTable  # noqa: E402
from sqlalchemy import Engine, bindparam, text  # noqa: E402

from warehouse.db import create_warehouse_engine  # noqa: E402
from warehouse.load import ACCOUNT_DAILY_FILL, ARTICLE_DAILY_FILL, bulk_insert, date_rows, upsert  # noqa: E402
from warehouse.marts import build_marts, load_models, test_marts  # noqa: E402
from warehouse.migrate import upgrade_url  # noqa: E402
from warehouse.schema import (  # noqa: E402
    dim_account,
    dim_brand,
    dim_date,
    etl_account_run,
    fct_account_daily,
    fct_article,
    fct_article_daily,
    fct_post,
    fct_post_engagement_daily,
    fct_post_term,
    fct_term_daily,
)

LAST_DATE = date(2026, 11, 10)
TRACKED_AGES = 8  # snapshots at ages 0..7: the day of publishing and the 7-day tracking window
ARTICLE_DAYS = 7  # fct_article_daily rows for the publish date and the 6 days after it
RUN_AT = timedelta(hours=17, minutes=30)  # the daily run: 01:30 Beijing the next day = 17:30 UTC
BEIJING = timedelta(hours=8)
TARGETS = {"duckdb": 30.0, "postgresql": 120.0}
REPORT_TARGET = 2.0
RENDER_TARGET = 5.0
CHILD_STEPS = ("load", "build", "tests", "report", "render", "explain")
FACT_TABLES = (
    "fct_post",
    "fct_post_engagement_daily",
    "fct_article",
    "fct_article_daily",
    "fct_account_daily",
    "etl_account_run",
    "fct_term_daily",
    "fct_post_term",
    "dim_account",
    "dim_date",
)

BRANDS = [
    ("shanhai", "山海茶饮"),
    ("jiguang", "极光手机"),
    ("yunqi", "云栖家居"),
    ("qinghe", "青禾乳业"),
    ("xingyao", "星曜美妆"),
    ("beichen", "北辰汽车"),
]
DEPARTMENTS = ["市场部", "销售部", "门店运营", "研发中心", "客户服务", "供应链"]
SURNAMES = "李王张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["小雨", "阿杰", "晓晨", "子涵", "思远", "一鸣", "佳怡", "浩然", "欣怡", "俊杰", "梓萱", "宇航"]
TOPICS = ["新品上市", "周末福利", "门店活动", "会员日", "品牌故事", "限时优惠", "用户故事", "幕后花絮"]
BRAND_LINES = [
    "今天正式和大家见面",
    "限时优惠进行中，快来门店看看",
    "感谢每一位朋友一路以来的支持",
    "转发抽三位朋友送好礼",
    "你最喜欢哪一款？评论区告诉我们",
    "全国门店同步开启，等你来",
]
EMPLOYEE_LINES = [
    "今天又是忙碌的一天",
    "和同事们一起加班到很晚，终于搞定了",
    "新品试吃，真的太好吃了",
    "客户的反馈让我很感动",
    "周末去门店帮忙，人好多",
    "团队建设活动很开心",
    "这个季度的目标有点难",
    "系统又崩了，排查了一下午",
]
REPOST_LINES = ["转发微博", "支持！", "冲鸭[赞]", "我们家的新品，快来看看", "太棒了", "大家多多支持[心]"]
EMOTICONS = ["[赞]", "[心]", "[哈哈]", "[微笑]", "[泪]", "[鼓掌]"]
CONFIDENTIAL = ["Q4财报", "未发布新品", "内部价格", "组织调整"]
# Cumulative share of a post's final counts at ages 0..7, and of an article's at stat days 0..6.
POST_CURVE = np.array([0.45, 0.72, 0.85, 0.92, 0.96, 0.98, 0.99, 1.0])
ARTICLE_CURVE = np.array([0.55, 0.80, 0.90, 0.95, 0.97, 0.99, 1.0])


# --- the accounts ----------------------------------------------------------------------------------


@dataclass
class Brand:
    brand_id: str
    name: str
    departments: list[str]
    opt_in: bool


@dataclass
class Account:
    key: str
    platform: str
    account_id: str
    brand: Brand
    display_name: str
    kind: str
    department: str | None
    followers: np.ndarray  # per day index
    new_followers: np.ndarray | None = None
    lost_followers: np.ndarray | None = None
    posts_per_day: np.ndarray | None = None  # employees: probabilities of 0..3 posts
    brand_repost_share: float = 0.0
    colleague_repost_share: float = 0.0
    items: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # posts or articles a day


def plan_accounts(n_accounts: int, days: int, rng: np.random.Generator) -> tuple[list[Brand], list[Account]]:
    brand_side = max(3, round(n_accounts * 0.2))
    employees = max(0, n_accounts - brand_side)
    n_brands = max(1, min(len(BRANDS), round(brand_side / 5)))
    wechat = min(2 * n_brands, brand_side - n_brands)
    weibo_brand = brand_side - wechat
    brands = [
        Brand(bid, name, DEPARTMENTS[: 4 if i % 2 == 0 else 3], opt_in=i % 2 == 0)
        for i, (bid, name) in enumerate(BRANDS[:n_brands])
    ]
    accounts: list[Account] = []

    def log_uniform(low: float, high: float) -> float:
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    def walk(start: float, drift: float, noise: float) -> np.ndarray:
        steps = rng.normal(drift, noise, days)
        return np.maximum(np.round(start + np.cumsum(steps)), 0).astype(np.int64)

    for n in range(weibo_brand):
        brand = brands[n % n_brands]
        uid = str(6_000_000_001 + brands.index(brand) * 1000 + n // n_brands)
        start = log_uniform(80_000, 3_000_000)
        name = brand.name + (
            "官方微博" if n < n_brands else ["客服", "门店", "会员中心"][(n // n_brands - 1) % 3]
        )
        accounts.append(
            Account(
                f"weibo:{uid}",
                "weibo",
                uid,
                brand,
                name,
                "brand",
                None,
                walk(start, start * 5e-4, start * 3e-4),
            )
        )
    for n in range(wechat):
        brand = brands[n % n_brands]
        appid = "wx" + "".join(rng.choice(list("0123456789abcdef"), 16))
        start = log_uniform(20_000, 600_000)
        new = rng.poisson(start * 0.0015, days).astype(np.int64)
        cancelled = rng.poisson(start * 0.0008, days).astype(np.int64)
        followers = np.maximum(np.round(start) + np.cumsum(new - cancelled), 0).astype(np.int64)
        name = brand.name + ("服务号" if n < n_brands else "订阅号")
        account = Account(f"wechat:{appid}", "wechat", appid, brand, name, "brand", None, followers)
        account.new_followers, account.lost_followers = new, cancelled
        accounts.append(account)
    for n in range(employees):
        brand = brands[n % n_brands]
        m = n // n_brands  # the employee's number within its brand
        per_brand = employees // n_brands + (1 if n % n_brands < employees % n_brands else 0)
        # Uneven departments (weights 4:3:2:1): the smallest fall under the privacy threshold.
        weights = np.arange(len(brand.departments), 0, -1, dtype=float)
        bounds = np.cumsum(weights / weights.sum()) * per_brand
        department = brand.departments[min(int(np.searchsorted(bounds, m, side="right")), len(weights) - 1)]
        uid = str(6_000_000_101 + brands.index(brand) * 1000 + m)
        name = f"{brand.name[:2]}-{SURNAMES[n % len(SURNAMES)]}{GIVEN[n % len(GIVEN)]}"
        start = log_uniform(150, 8_000)
        account = Account(
            f"weibo:{uid}",
            "weibo",
            uid,
            brand,
            name,
            "employee",
            department,
            walk(start, start * 1e-3, start * 2e-3),
        )
        rate = rng.uniform(0.4, 2.2)
        poisson = np.array([np.exp(-rate) * rate**k / math.factorial(k) for k in range(4)])
        account.posts_per_day = poisson / poisson.sum()
        account.brand_repost_share = rng.uniform(0.3, 0.65)
        account.colleague_repost_share = rng.uniform(0.05, 0.2)
        accounts.append(account)
    return brands, accounts


# --- the fact rows ---------------------------------------------------------------------------------


def _dates(start: date, day_index: np.ndarray) -> pa.Array:
    return pa.array(np.datetime64(start, "D") + day_index.astype("timedelta64[D]"))


def _times(start: date, seconds: np.ndarray) -> pa.Array:
    return pa.array(
        np.datetime64(start, "us") + (seconds * 1_000_000).astype(np.int64).astype("timedelta64[us]")
    )


def generate(n_accounts: int, days: int, seed: int, console: Console) -> tuple[dict[str, pa.Table], str]:
    """Every table's rows as Arrow tables; also the id of the brand the report queries use."""
    rng = np.random.default_rng(seed)
    start = LAST_DATE - timedelta(days=days - 1)
    now = datetime.now(UTC).replace(tzinfo=None)
    brands, accounts = plan_accounts(n_accounts, days, rng)
    weibo = [a for a in accounts if a.platform == "weibo"]
    wechat = [a for a in accounts if a.platform == "wechat"]
    tables: dict[str, pa.Table] = {}

    tables["dim_brand"] = pa.table(
        {
            "brand_id": [b.brand_id for b in brands],
            "brand_name": [b.name for b in brands],
            "is_leaderboard_opt_in": [b.opt_in for b in brands],
            "updated_at": pa.array([now] * len(brands), pa.timestamp("us")),
        }
    )
    tables["dim_account"] = pa.table(
        {
            "account_key": [a.key for a in accounts],
            "platform": [a.platform for a in accounts],
            "account_id": [a.account_id for a in accounts],
            "brand_id": [a.brand.brand_id for a in accounts],
            "brand_name": [a.brand.name for a in accounts],
            "display_name": [a.display_name for a in accounts],
            "screen_name": [a.display_name for a in accounts],
            "account_kind": [a.kind for a in accounts],
            "department": [a.department for a in accounts],
            "followers": pa.array([int(a.followers[-1]) for a in accounts], pa.int64()),
            "updated_at": pa.array([now] * len(accounts), pa.timestamp("us")),
        }
    )
    tables["dim_date"] = pa.Table.from_pylist(date_rows(start + timedelta(days=d) for d in range(days)))

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} days"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("generating Weibo posts", total=days)
        posts = _weibo_posts(weibo, days, rng, lambda: progress.advance(task))
    tables["fct_post"], tables["fct_post_engagement_daily"], post_counts = _post_tables(
        posts, weibo, start, days, rng
    )
    console.log(
        f"generated {tables['fct_post'].num_rows:,} posts, "
        f"{tables['fct_post_engagement_daily'].num_rows:,} engagement snapshots"
    )
    tables["fct_article"], tables["fct_article_daily"], article_counts, wechat_daily = _wechat_tables(
        wechat, start, days, now, rng
    )
    console.log(
        f"generated {tables['fct_article'].num_rows:,} articles, "
        f"{tables['fct_article_daily'].num_rows:,} article-days"
    )
    tables["fct_account_daily"] = _account_daily(weibo, wechat, wechat_daily, start, days)
    tables["etl_account_run"] = _runs(weibo, wechat, post_counts, article_counts, start, days, rng)
    tables["fct_term_daily"] = _term_daily(weibo, post_counts, article_counts, start, days, rng)
    console.log(f"generated {tables['fct_term_daily'].num_rows:,} term-days")
    tables["fct_post_term"] = _post_terms(tables["fct_post"], tables["fct_article"], rng)
    console.log(f"generated {tables['fct_post_term'].num_rows:,} post terms (the base of mart_term_daily)")
    return tables, brands[0].brand_id


@dataclass
class _Posts:
    account: list[int] = field(default_factory=list)  # index into the Weibo accounts
    seconds: list[float] = field(default_factory=list)  # Beijing local time, seconds from the first day
    kind: list[int] = field(default_factory=list)  # 0 original, 1 repost of a brand post, 2 of a colleague's
    original: list[int] = field(default_factory=list)  # the original's index here, or -1

    def add(self, account: int, seconds: float, kind: int = 0, original: int = -1) -> int:
        self.account.append(account)
        self.seconds.append(seconds)
        self.kind.append(kind)
        self.original.append(original)
        return len(self.account) - 1


def _weibo_posts(
    weibo: list[Account], days: int, rng: np.random.Generator, tick: Callable[[], None]
) -> _Posts:
    """Who posts what when: brand posts first each day, then the employees' posts in time order, reposting
    brand and colleague posts of the 48 hours before them."""
    posts = _Posts()
    window = 2 * 86_400.0
    recent_brand: dict[str, list[tuple[float, int]]] = {}
    recent_colleague: dict[str, list[tuple[float, int, int]]] = {}
    for day in range(days):
        base = day * 86_400.0
        for i, account in enumerate(weibo):
            if account.kind != "brand":
                continue
            times = np.sort(rng.uniform(8 * 3600, 22.5 * 3600, int(rng.integers(3, 7))))
            for t in times:
                recent_brand.setdefault(account.brand.brand_id, []).append((base + t, posts.add(i, base + t)))
        events = []
        for i, account in enumerate(weibo):
            if account.kind == "employee":
                count = int(rng.choice(4, p=account.posts_per_day))
                events += [(base + t, i) for t in rng.uniform(7.5 * 3600, 23.5 * 3600, count)]
        events.sort()
        for brand_id, items in recent_brand.items():
            items.sort()
            recent_brand[brand_id] = [item for item in items if item[0] >= base - window]
        for brand_id, items in recent_colleague.items():
            recent_colleague[brand_id] = [item for item in items if item[0] >= base - window]
        for t, i in events:
            account = weibo[i]
            brand_id = account.brand.brand_id
            roll = rng.random()
            if roll < account.brand_repost_share:
                candidates = recent_brand.get(brand_id, [])
                end = bisect_left(candidates, (t, -1))
                begin = bisect_left(candidates, (t - window, -1))
                if end > begin:
                    # Mostly the brand's latest posts.
                    pick = candidates[max(begin, end - int(rng.geometric(0.35)))]
                    posts.add(i, t, 1, pick[1])
                    continue
            elif roll < account.brand_repost_share + account.colleague_repost_share:
                candidates = [
                    c for c in recent_colleague.get(brand_id, []) if c[2] != i and t - window <= c[0] < t
                ]
                if candidates:
                    posts.add(i, t, 2, candidates[int(rng.integers(len(candidates)))][1])
                    continue
            recent_colleague.setdefault(brand_id, []).append((t, posts.add(i, t), i))
        tick()
    return posts


def _post_tables(
    posts: _Posts,
    weibo: list[Account],
    start: date,
    days: int,
    rng: np.random.Generator,
) -> tuple[pa.Table, pa.Table, np.ndarray]:
    account = np.array(posts.account, np.int64)
    seconds = np.array(posts.seconds)
    kind = np.array(posts.kind, np.int8)
    original = np.array(posts.original, np.int64)
    n = len(account)
    order = np.argsort(seconds, kind="stable")  # Weibo ids grow with time
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    ids = (4_950_000_000_000_000 + rank * 9_973).astype(str)
    day = (seconds // 86_400).astype(np.int64)
    is_brand = np.array([weibo[a].kind == "brand" for a in account])
    followers = np.array([weibo[a].followers[d] for a, d in zip(account, day, strict=True)], np.int64)
    counts = np.zeros((len(weibo), days), np.int64)
    np.add.at(counts, (account, day), 1)

    score = np.clip(np.where(is_brand, rng.normal(0.3, 0.3, n), rng.normal(0.1, 0.4, n)), -1, 1).round(4)
    label = np.where(score > 0.15, "positive", np.where(score < -0.15, "negative", "neutral"))
    flagged = ~is_brand & (kind == 0) & (rng.random(n) < 0.02)
    texts, cleans, owns, topics, emoticons, links, confidential = [], [], [], [], [], [], []
    for p in range(n):
        author = weibo[account[p]]
        emoticon = EMOTICONS[p % len(EMOTICONS)] if p % 3 else ""
        if kind[p]:
            own = REPOST_LINES[p % len(REPOST_LINES)]
            topic, link = None, None
        elif is_brand[p]:
            topic = TOPICS[p % len(TOPICS)]
            own = f"#{topic}# {author.brand.name}{BRAND_LINES[p % len(BRAND_LINES)]}！{emoticon}"
            link = f"http://t.cn/A6{p:06x}" if p % 3 == 0 else None
        else:
            topic, link = None, None
            own = f"{EMPLOYEE_LINES[p % len(EMPLOYEE_LINES)]}{emoticon}"
        if flagged[p]:
            term = CONFIDENTIAL[p % len(CONFIDENTIAL)]
            own = f"听说{term}下周要公布了，{own}"
        owns.append(own)
        texts.append(own + (f' <a href="{link}">网页链接</a>' if link else ""))
        cleans.append(own + (" 网页链接" if link else ""))
        topics.append(json.dumps([topic] if topic else [], ensure_ascii=False))
        emoticons.append(json.dumps([emoticon] if emoticon else [], ensure_ascii=False))
        links.append(json.dumps([link] if link else []))
        if is_brand[p]:
            confidential.append(None)
        else:
            confidential.append(
                json.dumps([CONFIDENTIAL[p % len(CONFIDENTIAL)]] if flagged[p] else [], ensure_ascii=False)
            )
    published = _times(start, seconds - BEIJING.total_seconds())
    first_seen = _times(start, day * 86_400.0 + RUN_AT.total_seconds())
    updated = _times(start, np.minimum(day + TRACKED_AGES - 1, days - 1) * 86_400.0 + RUN_AT.total_seconds())
    fct = pa.table(
        {
            "post_id": ids,
            "account_key": [weibo[a].key for a in account],
            "published_at": published,
            "publish_date": _dates(start, day),
            "text": texts,
            "clean_text": cleans,
            "own_text": owns,
            "is_repost": kind > 0,
            "original_post_id": pa.array(
                np.where(original >= 0, ids[np.maximum(original, 0)], None), pa.string()
            ),
            "original_author_id": pa.array(
                [weibo[account[o]].account_id if o >= 0 else None for o in original], pa.string()
            ),
            "repost_chain_depth": pa.array(np.zeros(n, np.int16)),
            "topics": topics,
            "mentions": ["[]"] * n,
            "emoticons": emoticons,
            "links": links,
            "is_long_text": is_brand & (rng.random(n) < 0.1),
            "text_length": pa.array([len(t) for t in texts], pa.int32()),
            "author_followers_at_publish": followers,
            "first_seen_at": first_seen,
            "updated_at": updated,
            "sentiment_score": score,
            "sentiment_label": label,
            "confidential_terms": pa.array(confidential, pa.string()),
            "is_flagged_confidential": flagged,
        }
    )

    # Final counts: brand posts reach a share of their many followers, employees more of their few.
    reach = np.where(is_brand, 6e-4, np.where(kind > 0, 4e-3, 1e-2))
    likes = rng.lognormal(np.log(followers * reach + 1), 1.0)
    reposts = likes * rng.uniform(0.1, 0.5, n)
    comments = likes * rng.uniform(0.1, 0.4, n)
    speed = rng.uniform(0.6, 1.6, n)  # some posts grow faster than others
    ages = np.arange(TRACKED_AGES)
    inside = day[:, None] + ages[None, :] <= days - 1
    post, age = np.nonzero(inside)
    share = POST_CURVE[age] ** speed[post]
    r = np.floor(reposts[post] * share).astype(np.int64)
    c = np.floor(comments[post] * share).astype(np.int64)
    li = np.floor(likes[post] * share).astype(np.int64)
    engagement = r + c + li
    snapshot_day = day[post] + age
    snapshots = pa.table(
        {
            "post_id": ids[post],
            "snapshot_date": _dates(start, snapshot_day),
            "account_key": pa.array([weibo[a].key for a in range(len(weibo))]).take(pa.array(account[post])),
            "reposts": r,
            "comments": c,
            "likes": li,
            "engagement": engagement,
            "engagement_rate": engagement * 100 / np.maximum(followers[post], 1),
            "observed_at": _times(start, snapshot_day * 86_400.0 + RUN_AT.total_seconds() + 600),
        }
    )
    return fct, snapshots, counts


def _wechat_tables(
    wechat: list[Account], start: date, days: int, now: datetime, rng: np.random.Generator
) -> tuple[pa.Table, pa.Table, np.ndarray, dict[str, np.ndarray]]:
    account, day, position, msg = [], [], [], []
    for i in range(len(wechat)):
        per_day = rng.integers(1, 5, days)
        for d in range(days):
            for k in range(1, int(per_day[d]) + 1):
                account.append(i)
                day.append(d)
                position.append(k)
                msg.append(2_247_480_000 + i * 100_000 + d)  # msgid is unique over all accounts
    account_a = np.array(account, np.int64)
    day_a = np.array(day, np.int64)
    position_a = np.array(position, np.int16)
    n = len(account_a)
    msg_ids = np.array(msg, np.int64).astype(str)
    msgid = np.char.add(np.char.add(msg_ids, "_"), position_a.astype(str))
    followers = np.array([wechat[a].followers[d] for a, d in zip(account_a, day_a, strict=True)], np.int64)
    counts = np.zeros((len(wechat), days), np.int64)
    np.add.at(counts, (account_a, day_a), 1)
    seconds = day_a * 86_400.0 + 20 * 3600 + rng.uniform(0, 3600, n)  # the evening message, Beijing
    titles = [
        f"{wechat[a].brand.name}｜{TOPICS[p % len(TOPICS)]}：{BRAND_LINES[p % len(BRAND_LINES)]}"
        for p, a in enumerate(account_a)
    ]
    digests = [f"{BRAND_LINES[(p + 1) % len(BRAND_LINES)]}，点击阅读全文。" for p in range(n)]
    biz = {a: f"Mz{int(wechat[a].account_id[2:10], 16):010d}" for a in range(len(wechat))}
    first_seen = _times(start, day_a * 86_400.0 + RUN_AT.total_seconds())
    articles = pa.table(
        {
            "msgid": msgid,
            "account_key": [wechat[a].key for a in account_a],
            "article_id": [f"{wechat[a].account_id}_{m}" for a, m in zip(account_a, msg_ids, strict=True)],
            "msg_data_id": msg_ids,
            "position": position_a,
            "title": titles,
            "author": [wechat[a].brand.name for a in account_a],
            "digest": digests,
            "url": [
                f"https://mp.weixin.qq.com/s?__biz={biz[a]}&mid={m}&idx={k}"
                for a, m, k in zip(account_a, msg_ids, position_a, strict=True)
            ],
            "content_source_url": pa.nulls(n, pa.string()),
            "clean_text": [f"{t} {d} {t}。{d}" * 3 for t, d in zip(titles, digests, strict=True)],
            "is_deleted": rng.random(n) < 0.002,
            "published_at": _times(start, seconds - BEIJING.total_seconds()),
            "publish_date": _dates(start, day_a),
            "first_seen_at": first_seen,
            "updated_at": first_seen,
        }
    )
    # Cumulative figures over the 7 stat days; the headline gets most of the reads.
    reads_final = followers * np.where(position_a == 1, 0.06, 0.012) * rng.lognormal(0, 0.6, n)
    speed = rng.uniform(0.7, 1.4, n)
    offsets = np.arange(ARTICLE_DAYS)
    article, offset = np.nonzero(day_a[:, None] + offsets[None, :] <= days - 1)
    share = ARTICLE_CURVE[offset] ** speed[article]
    reads = np.floor(reads_final[article] * share).astype(np.int64)
    previous = np.where(
        offset > 0,
        np.floor(reads_final[article] * ARTICLE_CURVE[np.maximum(offset - 1, 0)] ** speed[article]),
        0,
    ).astype(np.int64)
    day_reads = reads - previous
    ratio = rng.uniform(0.8, 0.9, len(article))

    def part(values: np.ndarray, rate: float) -> np.ndarray:
        return np.floor(values * rate).astype(np.int64)

    stat_day = day_a[article] + offset
    enough = day_reads >= 3  # getarticlesummary lists articles with 3 or more events that day
    article_daily = pa.table(
        {
            "msgid": msgid[article],
            "stat_date": _dates(start, stat_day),
            "account_key": pa.array([a.key for a in wechat]).take(pa.array(account_a[article])),
            "publish_date": _dates(start, day_a[article]),
            "readers": np.floor(reads * ratio).astype(np.int64),
            "reads": reads,
            "original_page_reads": part(reads, 0.02),
            "shares": part(reads, 0.03),
            "share_users": part(reads, 0.027),
            "favourites": part(reads, 0.01),
            "favourite_users": part(reads, 0.009),
            "target_users": followers[article],
            "reads_from_session": part(reads, 0.35),
            "reads_from_hist_msg": part(reads, 0.1),
            "reads_from_feed": part(reads, 0.35),
            "reads_from_friends": part(reads, 0.15),
            "reads_from_other": reads
            - part(reads, 0.35)
            - part(reads, 0.1)
            - part(reads, 0.35)
            - part(reads, 0.15),
            "day_readers": pa.array(np.floor(day_reads * ratio).astype(np.int64), mask=~enough),
            "day_reads": pa.array(day_reads, mask=~enough),
            "day_shares": pa.array(part(day_reads, 0.03), mask=~enough),
            "day_favourites": pa.array(part(day_reads, 0.01), mask=~enough),
            "observed_at": _times(start, stat_day * 86_400.0 + RUN_AT.total_seconds() + 900),
        }
    )
    daily_reads = np.zeros((len(wechat), days), np.int64)
    daily_shares = np.zeros((len(wechat), days), np.int64)
    np.add.at(daily_reads, (account_a[article], stat_day), day_reads)
    np.add.at(daily_shares, (account_a[article], stat_day), part(day_reads, 0.03))
    history = np.array([rng.poisson(a.followers * 0.002) for a in wechat]).reshape(len(wechat), days)
    daily = {"reads": daily_reads + history, "shares": daily_shares + rng.poisson(2, (len(wechat), days))}
    return articles, article_daily, counts, daily


def _account_daily(
    weibo: list[Account], wechat: list[Account], wechat_daily: dict[str, np.ndarray], start: date, days: int
) -> pa.Table:
    day = np.arange(days)
    parts = []
    observed = _times(start, day * 86_400.0 + RUN_AT.total_seconds() + 300)
    for account in weibo:
        parts.append(
            pa.table(
                {
                    "account_key": [account.key] * days,
                    "stat_date": _dates(start, day),
                    "followers": account.followers,
                    "observed_at": observed,
                }
            )
        )
    for i, account in enumerate(wechat):
        reads = wechat_daily["reads"][i]
        shares = wechat_daily["shares"][i]
        parts.append(
            pa.table(
                {
                    "account_key": [account.key] * days,
                    "stat_date": _dates(start, day),
                    "followers": account.followers,
                    "new_followers": account.new_followers,
                    "lost_followers": account.lost_followers,
                    "readers": np.floor(reads * 0.82).astype(np.int64),
                    "reads": reads,
                    "shares": shares,
                    "share_users": np.floor(shares * 0.9).astype(np.int64),
                    "observed_at": observed,
                }
            )
        )
    return pa.concat_tables(parts, promote_options="default")


def _runs(
    weibo: list[Account],
    wechat: list[Account],
    post_counts: np.ndarray,
    article_counts: np.ndarray,
    start: date,
    days: int,
    rng: np.random.Generator,
) -> pa.Table:
    day = np.arange(days)
    parts = []
    for accounts, counts in ((weibo, post_counts), (wechat, article_counts)):
        for i, account in enumerate(accounts):
            reauthorize = rng.random(days) < 0.003
            fetched = np.where(reauthorize, 0, counts[i])
            parts.append(
                pa.table(
                    {
                        "platform": [account.platform] * days,
                        "account_id": [account.account_id] * days,
                        "data_date": _dates(start, day),
                        "status": np.where(reauthorize, "reauthorize", "ok"),
                        "message": pa.array(
                            np.where(
                                reauthorize, "access token expired (21327): re-authorize the account", None
                            ),
                            pa.string(),
                        ),
                        "posts_fetched": fetched.astype(np.int32),
                        "api_calls": (np.where(reauthorize, 1, 3 + fetched // 5)).astype(np.int32),
                        "finished_at": _times(
                            start, day * 86_400.0 + RUN_AT.total_seconds() + rng.uniform(0, 900, days)
                        ),
                    }
                )
            )
    return pa.concat_tables(parts)


def _term_daily(
    weibo: list[Account],
    post_counts: np.ndarray,
    article_counts: np.ndarray,
    start: date,
    days: int,
    rng: np.random.Generator,
) -> pa.Table:
    """Term days as `refresh_term_daily` would write them: Zipf-distributed words and topics, 3 terms a
    day bursting (the rising terms)."""
    characters = (
        "新品门店活动会员品牌故事优惠用户幕后花絮茶饮手机家居乳业美妆汽车"
        "今天周末福利同事客户反馈团队季度目标系统体验服务质量价格味道颜值续航拍照设计舒适健康"
    )
    characters = "".join(dict.fromkeys(characters))  # each character once, so every pair is a new word
    size = min(4_000, len(characters) ** 2)
    pairs = rng.choice(len(characters) ** 2, size, replace=False)
    vocabulary = np.array([characters[p // len(characters)] + characters[p % len(characters)] for p in pairs])
    kinds = np.where(np.arange(size) < size * 0.95, "word", "topic")
    weights = 1 / (np.arange(len(vocabulary)) + 10.0) ** 1.1
    weights /= weights.sum()
    is_brand = np.array([a.kind == "brand" for a in weibo])
    groups = [
        ("weibo", "brand", post_counts[is_brand].sum(axis=0), 12),
        ("weibo", "employee", post_counts[~is_brand].sum(axis=0), 10),
        ("wechat", "brand", article_counts.sum(axis=0), 150),
    ]
    parts = []
    for platform, kind, posts_per_day, tokens in groups:
        for d in range(days):
            posts = int(posts_per_day[d])
            if not posts:
                continue
            occurrences = np.bincount(
                rng.choice(len(vocabulary), posts * tokens, p=weights), minlength=len(vocabulary)
            )
            burst = rng.choice(len(vocabulary), 3, replace=False)
            occurrences[burst] += rng.poisson(15, 3)
            used = np.nonzero(occurrences)[0]
            parts.append(
                pa.table(
                    {
                        "stat_date": _dates(start, np.full(len(used), d)),
                        "platform": [platform] * len(used),
                        "account_kind": [kind] * len(used),
                        "term": vocabulary[used],
                        "term_kind": kinds[used],
                        "posts": np.clip(np.ceil(occurrences[used] * 0.85), 1, posts).astype(np.int32),
                        "occurrences": occurrences[used].astype(np.int32),
                    }
                )
            )
    return pa.concat_tables(parts)


def _post_terms(posts: pa.Table, articles: pa.Table, rng: np.random.Generator) -> pa.Table:
    """Terms per post (12 draws) and per article (60 draws) from a Zipf vocabulary of 4,000 two-character
    words, 5% of them topics: the base of mart_term_daily and the report's rising terms."""
    characters = "".join(
        dict.fromkeys("新品门店活动会员品牌故事优惠用户幕后花絮茶饮手机家居乳业美妆汽车今天周末福利同事客户")
    )
    vocabulary = np.array([a + b for a in characters for b in characters])[:4_000]
    kinds = np.where(np.arange(len(vocabulary)) % 20 == 0, "topic", "word")
    weights = 1 / (np.arange(len(vocabulary)) + 10.0) ** 1.1
    weights /= weights.sum()
    parts = []
    for platform, ids, draws in (
        ("weibo", posts.column("post_id").to_numpy(zero_copy_only=False), 12),
        ("wechat", articles.column("msgid").to_numpy(zero_copy_only=False), 60),
    ):
        owner = np.repeat(np.arange(len(ids)), draws)
        term = rng.choice(len(vocabulary), len(owner), p=weights)
        pair, counts = np.unique(owner * len(vocabulary) + term, return_counts=True)
        parts.append(
            pa.table(
                {
                    "platform": [platform] * len(pair),
                    "post_id": ids[pair // len(vocabulary)],
                    "term": vocabulary[pair % len(vocabulary)],
                    "term_kind": kinds[pair % len(vocabulary)],
                    "term_count": counts.astype(np.int32),
                }
            )
        )
    return pa.concat_tables(parts)


# --- the steps, each run in a child process ---------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _backend_pid(engine: Engine) -> int | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _server_peak_mb(engine: Engine, pid: int | None) -> float | None:
    """The PostgreSQL backend's peak RSS, when the server runs here and the pool kept the connection."""
    if pid is None or _backend_pid(engine) != pid:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def step_load(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    started = time.perf_counter()
    tables, brand_id = generate(args.accounts, args.days, args.seed, console)
    generated = time.perf_counter() - started
    upgrade_url(url)
    engine = create_warehouse_engine(url)
    plan = [
        (dim_brand, "upsert", {}),
        (dim_account, "upsert", {"fill": ("followers",)}),
        (dim_date, "upsert", {}),
        (fct_post, "upsert", {"keep": ("author_followers_at_publish", "first_seen_at")}),
        (fct_post_engagement_daily, "bulk_insert", {}),
        (fct_article, "upsert", {"keep": ("first_seen_at",)}),
        (fct_article_daily, "upsert", {"fill": ARTICLE_DAILY_FILL}),
        (fct_account_daily, "upsert", {"fill": ACCOUNT_DAILY_FILL}),
        (etl_account_run, "upsert", {}),
        (fct_term_daily, "bulk_insert", {}),
        (fct_post_term, "bulk_insert", {}),
    ]
    seconds: dict[str, float] = {}
    load_started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} tables"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("loading", total=len(plan))
        for table, how, options in plan:
            rows = tables.pop(table.name)
            progress.update(task, description=f"loading {table.name} ({rows.num_rows:,} rows, {how})")
            table_started = time.perf_counter()
            with engine.begin() as conn:
                if how == "upsert":
                    upsert(conn, table, rows, **options)
                else:
                    bulk_insert(conn, table, rows)
            seconds[table.name] = time.perf_counter() - table_started
            console.log(f"loaded {table.name}: {rows.num_rows:,} rows in {seconds[table.name]:.1f} s ({how})")
            del rows
            progress.advance(task)
    loaded = time.perf_counter() - load_started
    finish_started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
    finished = time.perf_counter() - finish_started
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()) for name in FACT_TABLES
        }
    engine.dispose()
    return {
        "generate_s": generated,
        "load_s": loaded,
        "analyze_s": finished,
        "tables_s": seconds,
        "counts": counts,
        "brand_id": brand_id,
        "peak_mb": _peak_mb(),
    }


def _timed_build(engine: Engine, console: Console, label: str) -> dict[str, Any]:
    marks: list[tuple[float, str]] = []
    with console.status(f"{label} build ...") as status:

        def progress(message: str) -> None:
            marks.append((time.perf_counter(), message.split("] ", 1)[1].split(" ", 1)[0]))
            status.update(f"{label} build: {message}")

        started = time.perf_counter()
        result = build_marts(engine, progress=progress)
        ended = time.perf_counter()
    rows = {name: count for name, _, count in result.models}
    kinds = {name: kind for name, kind, _ in result.models}
    models = []
    for n, (at, name) in enumerate(marks):
        until = marks[n + 1][0] if n + 1 < len(marks) else ended  # the last one includes the commit
        models.append({"model": name, "kind": kinds[name], "rows": rows[name], "seconds": until - at})
    total = ended - started
    console.log(f"{label} build: {total:.1f} s")
    return {"seconds": total, "setup_s": marks[0][0] - started if marks else total, "models": models}


def step_build(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    engine = create_warehouse_engine(url)
    pid = _backend_pid(engine)
    cold = _timed_build(engine, console, "cold")
    cold["peak_mb"] = _peak_mb()
    cold["server_peak_mb"] = _server_peak_mb(engine, pid)
    warm = _timed_build(engine, console, "warm")
    warm["peak_mb"] = _peak_mb()
    warm["server_peak_mb"] = _server_peak_mb(engine, pid)
    engine.dispose()
    return {"cold": cold, "warm": warm}


def step_tests(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    engine = create_warehouse_engine(url)
    pid = _backend_pid(engine)
    with console.status("test_marts ..."):
        started = time.perf_counter()
        results = test_marts(engine)
        seconds = time.perf_counter() - started
    failed = [r.describe() for r in results if not r.passed]
    server = _server_peak_mb(engine, pid)
    engine.dispose()
    return {
        "seconds": seconds,
        "tests": len(results),
        "failed": failed,
        "peak_mb": _peak_mb(),
        "server_peak_mb": server,
    }


# The daily report of one brand and date. Parameters: brand, day, previous, week_from (the 7 days before
# day), month_from (30 days ending on day), weeks_from (Monday of the 4th ISO week back), post_ids.
REPORT_QUERIES: list[tuple[str, str]] = [
    (
        "account_daily: date and previous day",
        "SELECT * FROM mart_account_daily WHERE brand_id = :brand AND stat_date IN (:day, :previous) "
        "ORDER BY account_key, stat_date",
    ),
    (
        "account_daily: trailing 7-day averages",
        "SELECT account_key, COUNT(*) AS days, AVG(posts) AS posts, AVG(engagement) AS engagement, "
        "AVG(engagement_rate) AS engagement_rate, AVG(bci) AS bci, AVG(articles) AS articles, "
        "AVG(reads) AS reads, AVG(read_rate) AS read_rate, AVG(wci) AS wci, "
        "SUM(new_followers) AS new_followers, SUM(lost_followers) AS lost_followers "
        "FROM mart_account_daily WHERE brand_id = :brand AND stat_date BETWEEN :week_from AND :previous "
        "GROUP BY account_key ORDER BY account_key",
    ),
    (
        "account_daily: 30-day trend",
        "SELECT account_key, platform, account_kind, stat_date, engagement, engagement_gain, bci, reads, wci "
        "FROM mart_account_daily WHERE brand_id = :brand AND stat_date BETWEEN :month_from AND :day "
        "ORDER BY account_key, stat_date",
    ),
    (
        "top_posts_daily: the date",
        "SELECT * FROM mart_top_posts_daily WHERE brand_id = :brand AND stat_date = :day "
        "ORDER BY ranking, rank",
    ),
    (
        "post_growth: the top posts",
        "SELECT post_id, age_days, snapshot_date, engagement, benchmark_engagement, benchmark_posts, "
        "vs_benchmark, is_ahead FROM mart_post_growth WHERE post_id IN :post_ids ORDER BY post_id, age_days",
    ),
    (
        "sentiment_daily: 30 days",
        "SELECT * FROM mart_sentiment_daily WHERE brand_id = :brand "
        "AND stat_date BETWEEN :month_from AND :day "
        "ORDER BY stat_date, account_kind",
    ),
    (
        "advocacy_daily: 30 days",
        "SELECT * FROM mart_advocacy_daily WHERE brand_id = :brand "
        "AND stat_date BETWEEN :month_from AND :day "
        "ORDER BY department, stat_date",
    ),
    (
        "advocacy_weekly: 4 weeks",
        "SELECT * FROM mart_advocacy_weekly WHERE brand_id = :brand "
        "AND stat_date BETWEEN :weeks_from AND :day "
        "ORDER BY department, stat_date",
    ),
    (
        "cross_department: 30 days summed",
        "SELECT reposting_department, original_group, MIN(original_account_kind) AS original_account_kind, "
        "SUM(reposts) AS reposts, MAX(reposting_employees) AS most_reposting_employees "
        "FROM mart_cross_department WHERE brand_id = :brand AND stat_date BETWEEN :month_from AND :day "
        "GROUP BY reposting_department, original_group "
        "ORDER BY reposts DESC, reposting_department, original_group",
    ),
    (
        "emotional_climate_weekly: 4 weeks",
        "SELECT * FROM mart_emotional_climate_weekly WHERE brand_id = :brand "
        "AND week_start BETWEEN :weeks_from AND :day ORDER BY department, week_start",
    ),
    (
        "collection_daily: the date",
        "SELECT * FROM mart_collection_daily WHERE brand_id = :brand AND stat_date = :day ORDER BY platform",
    ),
    (
        "v_rising_terms: the date",
        "SELECT platform, account_kind, term, term_kind, occurrences, rise_ratio FROM v_rising_terms "
        "WHERE stat_date = :day ORDER BY rise_ratio DESC, occurrences DESC, term LIMIT 50",
    ),
]


def _report_pass(engine: Engine, brand: str, day: date) -> tuple[list[float], list[int], float]:
    params: dict[str, Any] = {
        "brand": brand,
        "day": day,
        "previous": day - timedelta(days=1),
        "week_from": day - timedelta(days=7),
        "month_from": day - timedelta(days=29),
        "weeks_from": day - timedelta(days=day.weekday() + 21),
    }
    seconds, rows = [], []
    started = time.perf_counter()
    with engine.connect() as conn:
        for name, sql in REPORT_QUERIES:
            statement = text(sql)
            if ":post_ids" in sql:
                statement = statement.bindparams(bindparam("post_ids", expanding=True))
                params["post_ids"] = params["post_ids"] or ["none"]
            query_started = time.perf_counter()
            result = conn.execute(statement, params).all()
            seconds.append(time.perf_counter() - query_started)
            rows.append(len(result))
            if name.startswith("top_posts_daily"):
                params["post_ids"] = sorted({r.post_id for r in result if r.platform == "weibo"})
    return seconds, rows, time.perf_counter() - started


def step_report(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    engine = create_warehouse_engine(url)
    pid = _backend_pid(engine)
    with engine.connect() as conn:
        day = conn.execute(text("SELECT MAX(data_date) FROM etl_account_run")).scalar_one()
    if isinstance(day, datetime):
        day = day.date()
    first, rows, first_total = _report_pass(engine, args.brand, day)
    best, best_total = first, first_total
    for _ in range(args.passes):
        seconds, _, total = _report_pass(engine, args.brand, day)
        best = [min(a, b) for a, b in zip(best, seconds, strict=True)]
        best_total = min(best_total, total)
    server = _server_peak_mb(engine, pid)
    engine.dispose()
    return {
        "day": day.isoformat(),
        "brand": args.brand,
        "queries": [
            {"query": name, "rows": n, "first_s": f, "best_s": b}
            for (name, _), n, f, b in zip(REPORT_QUERIES, rows, first, best, strict=True)
        ],
        "first_s": first_total,
        "best_s": best_total,
        "peak_mb": _peak_mb(),
        "server_peak_mb": server,
    }


def step_render(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """One brand's whole daily report (marts read, charts drawn, HTML, xlsx and figures written), in a
    new process: the first render pays the imports of matplotlib and the font, then the best of
    --passes renders (warm: same process, same marts, each into a fresh folder)."""
    import tempfile

    started = time.perf_counter()
    from shengliang import reporting  # matplotlib, the CJK font, Jinja2, openpyxl

    imports = time.perf_counter() - started
    engine = create_warehouse_engine(url)
    with engine.connect() as conn:
        day = conn.execute(text("SELECT MAX(data_date) FROM etl_account_run")).scalar_one()
    if isinstance(day, datetime):
        day = day.date()
    seconds = []
    for _ in range(args.passes + 1):
        # A fresh folder each pass: a date already rendered with the same figures is not rendered
        # again (the earlier revision stands), which would time nothing.
        out = Path(tempfile.mkdtemp(prefix="shengliang-bench-report-"))
        begun = time.perf_counter()
        run = reporting.render_reports(engine, day, brands=[args.brand], data_dir=out)
        seconds.append(time.perf_counter() - begun)
        assert run.reports[0].is_new
    report = run.reports[0]
    engine.dispose()
    return {
        "day": day.isoformat(),
        "brand": args.brand,
        "imports_s": imports,
        "first_s": seconds[0],
        "best_s": min(seconds[1:]),
        "html_kb": report.html_path.stat().st_size / 1024,
        "xlsx_kb": report.xlsx_path.stat().st_size / 1024,
        "figures": len(json.loads(report.figures_path.read_text(encoding="utf-8"))),
        "peak_mb": _peak_mb(),
    }


def step_explain(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the named models' SELECTs (the built marts serve as their inputs)."""
    engine = create_warehouse_engine(url)
    models = {m.name: m for m in load_models()}
    plans = {}
    for name in args.explain.split(","):
        name = name.strip()
        if name not in models:
            raise SystemExit(f"--explain {name!r}: not a model; models: {', '.join(models)}")
        sql = models[name].sql
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql" else "EXPLAIN ANALYZE "
        with console.status(f"EXPLAIN ANALYZE {name} ..."), engine.connect() as conn:
            result = conn.execute(text(prefix + sql)).all()
        plans[name] = "\n".join(str(row[-1]) for row in result)
    engine.dispose()
    return {"plans": plans}


STEPS: dict[str, Callable[[str, argparse.Namespace, Console], dict[str, Any]]] = {
    "load": step_load,
    "build": step_build,
    "tests": step_tests,
    "report": step_report,
    "render": step_render,
    "explain": step_explain,
}


def run_child(step: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """One step in a fresh Python process: its progress goes to the terminal, its figures come back
    as JSON on its last line of stdout."""
    command = [
        sys.executable,
        __file__,
        "--child",
        step,
        "--url",
        url,
        "--accounts",
        str(args.accounts),
        "--days",
        str(args.days),
        "--seed",
        str(args.seed),
        "--passes",
        str(args.passes),
    ]
    if args.brand:
        command += ["--brand", args.brand]
    if args.explain:
        command += ["--explain", args.explain]
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if result.returncode:
        sys.stdout.write(result.stdout)
        raise SystemExit(f"the {step} step failed (exit {result.returncode})")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- databases and the report ------------------------------------------------------------------------


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def bench_backend(backend: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    if backend == "duckdb":
        path = Path(args.workdir) / f"shengliang-bench-marts-{uuid.uuid4().hex[:8]}.duckdb"
        url = f"duckdb:///{path}"

        def cleanup() -> None:
            path.unlink(missing_ok=True)
            Path(f"{path}.wal").unlink(missing_ok=True)

    else:
        url, name = fresh_postgres(args.postgres)

        def cleanup() -> None:
            drop_postgres(args.postgres, name)

    figures: dict[str, Any] = {"url": url}
    try:
        console.rule(f"{backend}: generate and load")
        figures["load"] = run_child("load", url, args)
        args.brand = args.brand or figures["load"]["brand_id"]
        counts = RichTable(title=f"{backend}: rows loaded", show_edge=False)
        counts.add_column("table")
        counts.add_column("rows", justify="right")
        counts.add_column("load s", justify="right")
        for table, count in figures["load"]["counts"].items():
            seconds = figures["load"]["tables_s"].get(table)
            counts.add_row(table, f"{count:,}", "" if seconds is None else f"{seconds:.1f}")
        console.print(counts)
        console.rule(f"{backend}: build_marts (cold, then warm)")
        figures["build"] = run_child("build", url, args)
        console.rule(f"{backend}: test_marts")
        figures["tests"] = run_child("tests", url, args)
        for failure in figures["tests"]["failed"]:
            console.print(f"  [red]FAILED[/red] {failure}")
        console.rule(f"{backend}: report queries")
        figures["report"] = run_child("report", url, args)
        console.rule(f"{backend}: one brand's daily report, rendered")
        figures["render"] = run_child("render", url, args)
        if args.explain:
            console.rule(f"{backend}: EXPLAIN ANALYZE {args.explain}")
            for model, plan in run_child("explain", url, args)["plans"].items():
                console.print(f"[bold]{model}[/bold]")
                print(plan, flush=True)
    finally:
        if args.keep:
            console.print(f"kept {backend} warehouse: {url}")
        else:
            cleanup()
    return figures


def print_results(results: dict[str, dict[str, Any]], args: argparse.Namespace, console: Console) -> None:
    first = next(iter(results.values()))
    counts = first["load"]["counts"]
    console.rule("results")
    console.print(
        f"{args.accounts} accounts x {args.days} days (seed {args.seed}): {counts['fct_post']:,} posts, "
        f"{counts['fct_post_engagement_daily']:,} engagement snapshots, {counts['fct_article']:,} articles, "
        f"{counts['fct_article_daily']:,} article-days, {counts['fct_account_daily']:,} account-days, "
        f"{counts['fct_term_daily']:,} term-days"
    )
    summary = RichTable(show_edge=False)
    for column, justify in (
        ("backend", "left"),
        ("what", "left"),
        ("seconds", "right"),
        ("peak MB", "right"),
        ("server peak MB", "right"),
        ("target", "left"),
    ):
        summary.add_column(column, justify=justify)  # type: ignore[arg-type]
    for backend, figures in results.items():
        load, build, tests, report = figures["load"], figures["build"], figures["tests"], figures["report"]
        target = TARGETS[backend]

        def verdict(seconds: float, limit: float) -> str:
            return f"<= {limit:g} s: {'met' if seconds <= limit else 'NOT MET'}"

        summary.add_row(
            backend, "generate (Python)", f"{load['generate_s']:.1f}", _mb(load["peak_mb"]), "", ""
        )
        summary.add_row(
            backend, "load (loader, one transaction per table)", f"{load['load_s']:.1f}", "", "", ""
        )
        summary.add_row(
            backend,
            "VACUUM ANALYZE" if backend == "postgresql" else "CHECKPOINT",
            f"{load['analyze_s']:.1f}",
            "",
            "",
            "",
        )
        for label in ("cold", "warm"):
            b = build[label]
            summary.add_row(
                backend,
                f"build_marts, {label}",
                f"{b['seconds']:.1f}",
                _mb(b["peak_mb"]),
                _mb(b["server_peak_mb"]),
                verdict(b["seconds"], target),
            )
        failed = len(tests["failed"])
        summary.add_row(
            backend,
            f"test_marts ({tests['tests']} tests, {failed} failed)",
            f"{tests['seconds']:.1f}",
            _mb(tests["peak_mb"]),
            _mb(tests["server_peak_mb"]),
            "",
        )
        summary.add_row(
            backend,
            f"report queries {report['brand']} {report['day']}, first pass",
            f"{report['first_s']:.3f}",
            _mb(report["peak_mb"]),
            _mb(report["server_peak_mb"]),
            verdict(report["first_s"], REPORT_TARGET),
        )
        summary.add_row(
            backend,
            f"report queries, best of {args.passes}",
            f"{report['best_s']:.3f}",
            "",
            "",
            verdict(report["best_s"], REPORT_TARGET),
        )
        render = figures["render"]
        summary.add_row(
            backend,
            f"daily report rendered (charts, HTML {render['html_kb']:,.0f} KB, xlsx), new process "
            f"(+{render['imports_s']:.1f} s imports)",
            f"{render['first_s']:.2f}",
            _mb(render["peak_mb"]),
            "",
            verdict(render["imports_s"] + render["first_s"], RENDER_TARGET),
        )
        summary.add_row(
            backend,
            f"daily report rendered, best of {args.passes}",
            f"{render['best_s']:.2f}",
            "",
            "",
            verdict(render["best_s"], RENDER_TARGET),
        )
    console.print(summary)

    per_model = RichTable(
        title="build_marts per model (seconds; the last model includes the commit)", show_edge=False
    )
    per_model.add_column("model")
    per_model.add_column("kind")
    per_model.add_column("rows", justify="right")
    for backend in results:
        per_model.add_column(f"{backend} cold", justify="right")
        per_model.add_column(f"{backend} warm", justify="right")
    names = [m["model"] for m in first["build"]["cold"]["models"]]
    by = {
        (backend, label, m["model"]): m
        for backend, figures in results.items()
        for label in ("cold", "warm")
        for m in figures["build"][label]["models"]
    }
    per_model.add_row(
        "(drop old marts)",
        "",
        "",
        *[f"{results[b]['build'][label]['setup_s']:.2f}" for b in results for label in ("cold", "warm")],
    )
    for name in names:
        model = by[(next(iter(results)), "cold", name)]
        per_model.add_row(
            name,
            model["kind"],
            f"{model['rows']:,}",
            *[f"{by[(b, label, name)]['seconds']:.2f}" for b in results for label in ("cold", "warm")],
        )
    console.print(per_model)

    queries = RichTable(title="report queries (seconds)", show_edge=False)
    queries.add_column("query")
    for backend in results:
        queries.add_column(f"{backend} rows", justify="right")
        queries.add_column(f"{backend} first", justify="right")
        queries.add_column(f"{backend} best", justify="right")
    rows = {b: {q["query"]: q for q in f["report"]["queries"]} for b, f in results.items()}
    for name, _ in REPORT_QUERIES:
        queries.add_row(
            name,
            *[
                value
                for b in results
                for value in (
                    f"{rows[b][name]['rows']:,}",
                    f"{rows[b][name]['first_s']:.3f}",
                    f"{rows[b][name]['best_s']:.3f}",
                )
            ],
        )
    console.print(queries)
    console.print(
        f"Targets: every mart built in at most {TARGETS['duckdb']:g} s on DuckDB and "
        f"{TARGETS['postgresql']:g} s on PostgreSQL; the report queries of one brand and date in at most "
        f"{REPORT_TARGET:g} s. Peak MB: the client process (DuckDB runs inside it); server peak MB: the "
        "PostgreSQL backend (VmHWM, shared buffers it touched included, parallel workers not). Memory "
        "target: under 4,096 MB."
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--accounts", type=int, default=100, help="accounts in all (default 100: 80 employees)"
    )
    parser.add_argument("--days", type=int, default=365, help="days of data, ending 2026-11-10 (default 365)")
    parser.add_argument("--backends", default="duckdb,postgresql", help="comma-separated: duckdb, postgresql")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="admin database of the server where a fresh database is created and dropped",
    )
    parser.add_argument("--workdir", default="/tmp", help="where the DuckDB file goes")
    parser.add_argument("--passes", type=int, default=3, help="report passes after the first (best is kept)")
    parser.add_argument("--brand", help="brand of the report queries (default the first brand)")
    parser.add_argument("--explain", help="comma-separated models to EXPLAIN ANALYZE after the build")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses (prints their URLs)")
    parser.add_argument("--child", choices=CHILD_STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.accounts < 5 or args.days < 8:
        parser.error("--accounts takes 5 or more, --days 8 or more")
    if args.child:
        figures = STEPS[args.child](args.url, args, Console(stderr=True))
        print(json.dumps(figures, default=str))
        return 0
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = sorted(set(backends) - set(TARGETS))
    if unknown or not backends:
        parser.error(f"--backends takes duckdb and/or postgresql, not {args.backends!r}")
    console = Console(width=None if sys.stdout.isatty() else 150)  # wide tables when piped to a file
    load_before = os.getloadavg()
    results = {backend: bench_backend(backend, args, console) for backend in backends}
    print_results(results, args, console)
    # A shared machine's other work slows every figure: say how busy it was.
    console.print(
        f"Load average (1, 5, 15 min) at the start: {', '.join(f'{v:.2f}' for v in load_before)}; "
        f"at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} CPUs)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
