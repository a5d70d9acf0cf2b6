"""What landed: the summary the demo prints and analysts can ask for with `shengliang summary`."""

from __future__ import annotations

from dataclasses import dataclass
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
        term_rows = conn.execute(text("SELECT count(*) FROM fct_post_term")).scalar_one()
        top = conn.execute(
            text(
                "SELECT e.post_id, a.display_name, a.kind, e.engagement, e.engagement_rate, p.own_text "
                "FROM fct_post_engagement_daily e "
                "JOIN fct_post p ON p.post_id = e.post_id "
                "JOIN dim_account a ON a.account_key = e.account_key "
                "WHERE e.snapshot_date = :d ORDER BY e.engagement DESC, e.post_id LIMIT 5"
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
        f"  term rows in warehouse:   {summary.term_rows}",
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
    lines.append(f"  warehouse: {summary.warehouse}")
    return "\n".join(lines)
