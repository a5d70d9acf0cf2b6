"""What landed: the summary the demo prints and analysts can ask for with `shengliang summary`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class TopPost:
    post_id: str
    account: str
    kind: str
    engagement: int
    engagement_rate: float | None
    excerpt: str


@dataclass(frozen=True)
class WeiboDaySummary:
    data_date: date
    accounts_registered: int
    accounts_read: int
    accounts_not_read: list[str]
    posts_published_that_day: int
    posts_total: int
    engagement_rows: int
    term_rows: int
    top_posts: list[TopPost]
    warehouse: str
    sentiment_counts: dict[str, int] = field(default_factory=dict)  # label -> posts published that day
    flagged_posts: list[tuple[str, str]] = field(default_factory=list)  # (account, JSON terms) that day
    rising_terms: list[tuple[str, str, int, float]] = field(default_factory=list)  # kind, term, uses, ratio


def weibo_day_summary(engine: Engine, data_date: date, warehouse: str) -> WeiboDaySummary:
    with engine.connect() as conn:
        runs = conn.execute(
            text(
                "SELECT r.account_id, r.status, a.display_name FROM etl_account_run r "
                "LEFT JOIN dim_account a ON a.account_key = 'weibo:' || r.account_id "
                "WHERE r.platform = 'weibo' AND r.data_date = :d ORDER BY r.account_id"
            ),
            {"d": data_date},
        ).all()
        registered = conn.execute(
            text("SELECT count(*) FROM dim_account WHERE platform = 'weibo'")
        ).scalar_one()
        published = conn.execute(
            text("SELECT count(*) FROM fct_post WHERE publish_date = :d"), {"d": data_date}
        ).scalar_one()
        total = conn.execute(text("SELECT count(*) FROM fct_post")).scalar_one()
        engagement_rows = conn.execute(
            text("SELECT count(*) FROM fct_post_engagement_daily WHERE snapshot_date = :d"), {"d": data_date}
        ).scalar_one()
        term_rows = conn.execute(
            text("SELECT count(*) FROM fct_post_term t JOIN fct_post p ON p.post_id = t.post_id")
        ).scalar_one()
        top = conn.execute(
            text(
                "SELECT e.post_id, a.display_name, a.account_kind AS kind, e.engagement, e.engagement_rate, "
                "p.own_text "
                "FROM fct_post_engagement_daily e "
                "JOIN fct_post p ON p.post_id = e.post_id "
                "JOIN dim_account a ON a.account_key = e.account_key "
                "WHERE e.snapshot_date = :d ORDER BY e.engagement DESC, e.post_id LIMIT 5"
            ),
            {"d": data_date},
        ).all()
        sentiment = conn.execute(
            text(
                "SELECT sentiment_label, count(*) FROM fct_post WHERE publish_date = :d "
                "AND sentiment_label IS NOT NULL GROUP BY sentiment_label"
            ),
            {"d": data_date},
        ).all()
        flagged = conn.execute(
            text(
                "SELECT a.display_name, p.confidential_terms FROM fct_post p "
                "JOIN dim_account a ON a.account_key = p.account_key "
                "WHERE p.publish_date = :d AND p.is_flagged_confidential ORDER BY p.published_at"
            ),
            {"d": data_date},
        ).all()
        rising = conn.execute(
            text(
                "SELECT account_kind, term, occurrences, rise_ratio FROM v_rising_terms "
                "WHERE stat_date = :d AND platform = 'weibo' AND term_kind = 'word' "
                "ORDER BY rise_ratio DESC, occurrences DESC, term LIMIT 5"
            ),
            {"d": data_date},
        ).all()
    return WeiboDaySummary(
        data_date=data_date,
        accounts_registered=registered,
        accounts_read=sum(1 for r in runs if r.status == "ok"),
        accounts_not_read=[f"{r.display_name or r.account_id}: {r.status}" for r in runs if r.status != "ok"],
        posts_published_that_day=published,
        posts_total=total,
        engagement_rows=engagement_rows,
        term_rows=term_rows,
        top_posts=[
            TopPost(r.post_id, r.display_name, r.kind, r.engagement, r.engagement_rate, _excerpt(r.own_text))
            for r in top
        ],
        warehouse=warehouse,
        sentiment_counts={label: count for label, count in sentiment},
        flagged_posts=[(r.display_name, r.confidential_terms) for r in flagged],
        rising_terms=[(r.account_kind, r.term, r.occurrences, float(r.rise_ratio)) for r in rising],
    )


def _excerpt(value: str, width: int = 36) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= width else value[: width - 1] + "…"


def format_weibo_summary(summary: WeiboDaySummary) -> str:
    lines = [
        f"Weibo, {summary.data_date} (Beijing time)",
        f"  accounts read:            {summary.accounts_read} of {summary.accounts_registered}",
    ]
    lines += [f"    not read: {item}" for item in summary.accounts_not_read]
    lines += [
        f"  posts published that day: {summary.posts_published_that_day}",
        f"  posts in warehouse:       {summary.posts_total}",
        f"  engagement rows loaded:   {summary.engagement_rows} (snapshot {summary.data_date})",
        f"  post terms in warehouse:  {summary.term_rows}",
        "  top 5 posts by engagement (reposts + comments + likes):",
    ]
    for rank, post in enumerate(summary.top_posts, start=1):
        rate = f"{post.engagement_rate:.3f}%" if post.engagement_rate is not None else "n/a"
        lines.append(
            f"    {rank}. {post.engagement:>6}  rate {rate:>8}  {post.account} [{post.kind}]  "
            f"{post.post_id}  {post.excerpt}"
        )
    if not summary.top_posts:
        lines.append("    (no engagement rows for this date)")
    counts = summary.sentiment_counts
    lines.append(
        "  sentiment of that day's posts: "
        + ", ".join(f"{counts.get(label, 0)} {label}" for label in ("positive", "neutral", "negative"))
    )
    lines.append(f"  employee posts that day naming a confidential term: {len(summary.flagged_posts)}")
    lines += [f"    {account}: {terms}" for account, terms in summary.flagged_posts[:5]]
    lines.append("  words rising fastest against their 7-day baseline:")
    lines += [
        f"    {term} [{kind}] used {uses}x, {ratio:.1f}x the baseline"
        for kind, term, uses, ratio in summary.rising_terms
    ]
    lines.append(f"  warehouse: {summary.warehouse}")
    return "\n".join(lines)


@dataclass(frozen=True)
class TopArticle:
    msgid: str
    account: str
    position: int
    reads: int
    readers: int
    shares: int
    title: str


@dataclass(frozen=True)
class WeChatDaySummary:
    data_date: date
    accounts_registered: int
    accounts_read: int
    accounts_not_read: list[str]
    articles_published_that_day: int
    articles_total: int
    article_day_rows: int
    reads_that_day: int | None
    followers: list[tuple[str, int | None, int | None, int | None]]
    top_articles: list[TopArticle]


def wechat_day_summary(engine: Engine, data_date: date) -> WeChatDaySummary:
    with engine.connect() as conn:
        runs = conn.execute(
            text(
                "SELECT r.account_id, r.status, a.display_name FROM etl_account_run r "
                "LEFT JOIN dim_account a ON a.account_key = 'wechat:' || r.account_id "
                "WHERE r.platform = 'wechat' AND r.data_date = :d ORDER BY r.account_id"
            ),
            {"d": data_date},
        ).all()
        registered = conn.execute(
            text("SELECT count(*) FROM dim_account WHERE platform = 'wechat'")
        ).scalar_one()
        published = conn.execute(
            text("SELECT count(*) FROM fct_article WHERE publish_date = :d"), {"d": data_date}
        ).scalar_one()
        total = conn.execute(text("SELECT count(*) FROM fct_article")).scalar_one()
        day_rows = conn.execute(
            text("SELECT count(*) FROM fct_article_daily WHERE stat_date = :d"), {"d": data_date}
        ).scalar_one()
        reads = conn.execute(
            text(
                "SELECT sum(f.reads) FROM fct_account_daily f JOIN dim_account a USING (account_key) "
                "WHERE a.platform = 'wechat' AND f.stat_date = :d"
            ),
            {"d": data_date},
        ).scalar_one()
        followers = conn.execute(
            text(
                "SELECT a.display_name, f.followers, f.new_followers, f.cancelled_followers "
                "FROM fct_account_daily f JOIN dim_account a USING (account_key) "
                "WHERE a.platform = 'wechat' AND f.stat_date = :d ORDER BY a.display_name"
            ),
            {"d": data_date},
        ).all()
        top = conn.execute(
            text(
                "SELECT d.msgid, a.display_name, r.position, d.reads, d.readers, d.shares, r.title "
                "FROM fct_article_daily d JOIN fct_article r USING (msgid) "
                "JOIN dim_account a ON a.account_key = d.account_key "
                "WHERE d.stat_date = :d AND d.reads IS NOT NULL ORDER BY d.reads DESC, d.msgid LIMIT 5"
            ),
            {"d": data_date},
        ).all()
    return WeChatDaySummary(
        data_date=data_date,
        accounts_registered=registered,
        accounts_read=sum(1 for r in runs if r.status == "ok"),
        accounts_not_read=[f"{r.display_name or r.account_id}: {r.status}" for r in runs if r.status != "ok"],
        articles_published_that_day=published,
        articles_total=total,
        article_day_rows=day_rows,
        reads_that_day=reads,
        followers=[tuple(row) for row in followers],
        top_articles=[TopArticle(*row[:6], _excerpt(row[6])) for row in top],
    )


def format_wechat_summary(summary: WeChatDaySummary) -> str:
    lines = [
        f"WeChat Official Accounts, {summary.data_date} (Beijing time)",
        f"  accounts read:               {summary.accounts_read} of {summary.accounts_registered}",
    ]
    lines += [f"    not read: {item}" for item in summary.accounts_not_read]
    reads = summary.reads_that_day if summary.reads_that_day is not None else "n/a"
    lines += [
        f"  articles published that day: {summary.articles_published_that_day}",
        f"  articles in warehouse:       {summary.articles_total}",
        f"  article-day rows for date:   {summary.article_day_rows}",
        f"  article reads that day:      {reads} (all articles, getuserread)",
    ]
    for name, followers, new, cancelled in summary.followers:
        lines.append(f"  followers {name}: {followers} (+{new} / -{cancelled})")
    lines.append("  top 5 articles by reads to date (int_page_read_count, cumulative):")
    for rank, article in enumerate(summary.top_articles, start=1):
        lines.append(
            f"    {rank}. {article.reads:>6} reads {article.readers:>6} readers {article.shares:>5} shares  "
            f"{article.account} #{article.position}  {article.title}"
        )
    if not summary.top_articles:
        lines.append("    (no article figures for this date)")
    return "\n".join(lines)
