"""The star schema: one definition serves the tables, the loaders and docs/warehouse.md.

Conventions: `*_at` columns are UTC timestamps (naive, UTC by contract); `*_date` columns are
calendar dates in Beijing time (Asia/Shanghai), which is how analysts group. Keys are natural
strings (`weibo:6000000001`, post idstr) so loads can merge on them and Weibo's int64 ids never
lose precision. Lists (topics, mentions, ...) are JSON arrays in text, for both databases.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData()


def _table(name: str, grain: str, description: str, *columns: Column) -> Table:
    return Table(name, metadata, *columns, comment=description, info={"grain": grain})


dim_account = _table(
    "dim_account",
    "one row per registered account (platform + account id)",
    "Brand and employee accounts from the registry, with what the platform last said about them.",
    Column("account_key", String(64), primary_key=True, comment="platform:account_id, e.g. weibo:6000000001"),
    Column("platform", String(16), nullable=False, comment="weibo or wechat"),
    Column("account_id", String(64), nullable=False, comment="the platform's id (Weibo uid)"),
    Column("brand_id", String(64), nullable=False, comment="brand id from the registry"),
    Column("brand_name", Text, nullable=False),
    Column("display_name", Text, nullable=False, comment="name in the registry"),
    Column("screen_name", Text, comment="name on the platform, from users/show"),
    Column("account_kind", String(16), nullable=False, comment="brand or employee"),
    Column("department", Text, comment="employees only"),
    Column("followers", BigInteger, comment="followers on the latest stat_date in fct_account_daily"),
    Column("updated_at", DateTime, nullable=False, comment="UTC time of the last load that touched the row"),
)

dim_brand = _table(
    "dim_brand",
    "one row per brand in the registry",
    "Brands from the registry, with the settings the marts read.",
    Column("brand_id", String(64), primary_key=True, comment="brand id from the registry"),
    Column("brand_name", Text, nullable=False),
    Column(
        "is_leaderboard_opt_in",
        Boolean,
        nullable=False,
        comment="the brand opted in to leaderboards of named employees (registry: advocate_leaderboard)",
    ),
    Column("updated_at", DateTime, nullable=False, comment="UTC time of the last load that touched the row"),
)

dim_date = _table(
    "dim_date",
    "one row per calendar date (Beijing time)",
    "Calendar attributes for every date that a fact refers to.",
    Column("date_key", Date, primary_key=True, comment="calendar date in Asia/Shanghai"),
    Column("year", SmallInteger, nullable=False),
    Column("quarter", SmallInteger, nullable=False),
    Column("month", SmallInteger, nullable=False),
    Column("day", SmallInteger, nullable=False),
    Column("iso_year", SmallInteger, nullable=False),
    Column("iso_week", SmallInteger, nullable=False),
    Column("weekday", SmallInteger, nullable=False, comment="1 = Monday ... 7 = Sunday"),
    Column("is_weekend", Boolean, nullable=False),
)

fct_post = _table(
    "fct_post",
    "one row per post",
    "Every Weibo post read from a registered account, cleaned.",
    Column("post_id", String(32), primary_key=True, comment="Weibo idstr"),
    Column("account_key", String(64), nullable=False, comment="author, see dim_account"),
    Column("published_at", DateTime, nullable=False, comment="UTC"),
    Column("publish_date", Date, nullable=False, comment="Beijing date of publishing"),
    Column("text", Text, nullable=False, comment="text as the API gave it (may hold HTML)"),
    Column(
        "clean_text", Text, nullable=False, comment="HTML removed, entities and full-width forms normalised"
    ),
    Column("own_text", Text, nullable=False, comment="the author's own words, before any //@ chain"),
    Column("is_repost", Boolean, nullable=False),
    Column("original_post_id", String(32), comment="the reposted original (retweeted_status), if any"),
    Column("original_author_id", String(64), comment="uid of the original's author"),
    Column("repost_chain_depth", SmallInteger, nullable=False, comment="number of //@ links in the text"),
    Column("topics", Text, nullable=False, comment="JSON array of #topics# in own_text"),
    Column("mentions", Text, nullable=False, comment="JSON array of @mentions in own_text"),
    Column("emoticons", Text, nullable=False, comment="JSON array of [emoticons] in own_text"),
    Column("links", Text, nullable=False, comment="JSON array of links in own_text"),
    Column("is_long_text", Boolean, nullable=False, comment="the API truncated the text (isLongText)"),
    Column("text_length", Integer, comment="full length the API reports (textLength)"),
    Column(
        "author_followers_at_publish",
        BigInteger,
        comment="author's followers when the post was first read (the nearest the API gives to "
        "publish time); kept from the first load",
    ),
    Column("first_seen_at", DateTime, nullable=False, comment="UTC time the post was first read"),
    Column("updated_at", DateTime, nullable=False, comment="UTC time of the last load"),
    Column(
        "sentiment_score",
        Double,
        comment="-1 (negative) .. 1 (positive), from the author's own words and emoticons; "
        "NULL for posts loaded before sentiment existed",
    ),
    Column("sentiment_label", String(8), comment="positive, neutral or negative"),
    Column(
        "confidential_terms",
        Text,
        comment="employee posts: JSON array of confidential lexicon terms found in the whole text "
        "(repost chain included); NULL for brand posts",
    ),
    Column(
        "is_flagged_confidential",
        Boolean,
        comment="an employee post containing a confidential term; false for brand posts",
    ),
)

fct_post_engagement_daily = _table(
    "fct_post_engagement_daily",
    "one row per post per snapshot date",
    "Engagement of every post inside the tracking window, as read on the run for that date.",
    Column("post_id", String(32), primary_key=True),
    Column("snapshot_date", Date, primary_key=True, comment="Beijing date of the run's data interval"),
    Column("account_key", String(64), nullable=False),
    Column("reposts", BigInteger, nullable=False),
    Column("comments", BigInteger, nullable=False),
    Column("likes", BigInteger, nullable=False, comment="attitudes_count"),
    Column("engagement", BigInteger, nullable=False, comment="reposts + comments + likes (转评赞)"),
    Column(
        "engagement_rate",
        Double,
        comment="engagement / author_followers_at_publish x 100; null when followers are unknown or 0",
    ),
    Column("observed_at", DateTime, nullable=False, comment="UTC time of the API read"),
)

fct_article = _table(
    "fct_article",
    "one row per WeChat article (msgid)",
    "Articles published by registered WeChat Official Accounts (freepublish/batchget).",
    Column("msgid", String(48), primary_key=True, comment="<msg_data_id>_<index>, the datacube key"),
    Column("account_key", String(64), nullable=False, comment="publisher, see dim_account"),
    Column("article_id", String(96), nullable=False, comment="publish id (batchget article_id)"),
    Column("msg_data_id", String(32), nullable=False),
    Column("position", SmallInteger, nullable=False, comment="1 = headline article of the message"),
    Column("title", Text, nullable=False),
    Column("author", Text),
    Column("digest", Text),
    Column("url", Text, nullable=False),
    Column("content_source_url", Text, comment="'read more' link"),
    Column("clean_text", Text, nullable=False, comment="title, digest and content as plain text"),
    Column("is_deleted", Boolean, nullable=False),
    Column("published_at", DateTime, nullable=False, comment="UTC (batchget update_time)"),
    Column("publish_date", Date, nullable=False, comment="Beijing date of publishing"),
    Column("first_seen_at", DateTime, nullable=False, comment="UTC"),
    Column("updated_at", DateTime, nullable=False, comment="UTC"),
)

fct_article_daily = _table(
    "fct_article_daily",
    "one row per article per stat_date",
    "Per article and date: cumulative figures as of stat_date from getarticletotal (followed for 7 days "
    "after publishing, re-pulled daily while the platform still revises them), and that day's own "
    "figures from getarticlesummary (columns day_*; only for articles with 3 or more events that day).",
    Column("msgid", String(48), primary_key=True),
    Column("stat_date", Date, primary_key=True, comment="Beijing date the figures stand at"),
    Column("account_key", String(64), nullable=False),
    Column("publish_date", Date, comment="ref_date of getarticletotal: the day the article was published"),
    Column("readers", BigInteger, comment="int_page_read_user, cumulative"),
    Column("reads", BigInteger, comment="int_page_read_count, cumulative"),
    Column("original_page_reads", BigInteger, comment="ori_page_read_count, cumulative"),
    Column("shares", BigInteger, comment="share_count, cumulative"),
    Column("share_users", BigInteger, comment="share_user, cumulative"),
    Column("favourites", BigInteger, comment="add_to_fav_count, cumulative"),
    Column("favourite_users", BigInteger, comment="add_to_fav_user, cumulative"),
    Column("target_users", BigInteger, comment="followers the article was sent to"),
    Column("reads_from_session", BigInteger, comment="int_page_from_session_read_count (chats)"),
    Column("reads_from_hist_msg", BigInteger, comment="int_page_from_hist_msg_read_count (history)"),
    Column("reads_from_feed", BigInteger, comment="int_page_from_feed_read_count (subscription feed)"),
    Column("reads_from_friends", BigInteger, comment="int_page_from_friends_read_count (Moments)"),
    Column("reads_from_other", BigInteger, comment="int_page_from_other_read_count"),
    Column("day_readers", BigInteger, comment="int_page_read_user that day (getarticlesummary)"),
    Column("day_reads", BigInteger, comment="int_page_read_count that day"),
    Column("day_shares", BigInteger, comment="share_count that day"),
    Column("day_favourites", BigInteger, comment="add_to_fav_count that day"),
    Column("observed_at", DateTime, nullable=False, comment="UTC time of the latest API read"),
)

fct_post_term = _table(
    "fct_post_term",
    "one row per post (or WeChat article) per term",
    "Terms after cleaning, segmentation and stopword removal: a Weibo post's own words, or a "
    "WeChat article's title, digest and content.",
    Column(
        "platform", String(16), primary_key=True, comment="weibo (post_id is a post idstr) or wechat (msgid)"
    ),
    Column("post_id", String(48), primary_key=True, comment="Weibo post idstr or WeChat article msgid"),
    Column("term", String(200), primary_key=True),
    Column(
        "term_kind",
        String(16),
        primary_key=True,
        comment="word, topic, mention, emoticon, link, number or date",
    ),
    Column("term_count", Integer, nullable=False, comment="occurrences in the post"),
)

fct_post_keyword = _table(
    "fct_post_keyword",
    "one row per post (or WeChat article) per keyword",
    "The top 5 TF-IDF keywords of a post's words (jieba's IDF table; topics, mentions and emoticons "
    "are not keywords).",
    Column(
        "platform", String(16), primary_key=True, comment="weibo (post_id is a post idstr) or wechat (msgid)"
    ),
    Column("post_id", String(48), primary_key=True, comment="Weibo post idstr or WeChat article msgid"),
    Column("keyword", String(200), primary_key=True),
    Column("weight", Double, nullable=False, comment="term frequency in the post x IDF"),
    Column("keyword_rank", SmallInteger, nullable=False, comment="1 = highest weight"),
)

fct_term_daily = _table(
    "fct_term_daily",
    "one row per publish date, platform, account kind and term",
    "Terms of the posts (and articles) published that Beijing date, per kind of account; the base of "
    "the v_rising_terms view. Rebuilt for each publish date a load touches.",
    Column("stat_date", Date, primary_key=True, comment="Beijing publish date of the posts"),
    Column("platform", String(16), primary_key=True),
    Column("account_kind", String(16), primary_key=True, comment="brand or employee"),
    Column("term", String(200), primary_key=True),
    Column("term_kind", String(16), primary_key=True),
    Column("posts", Integer, nullable=False, comment="posts containing the term"),
    Column("occurrences", Integer, nullable=False, comment="occurrences over those posts"),
)

fct_account_daily = _table(
    "fct_account_daily",
    "one row per account per date",
    "Follower figures per account and date.",
    Column("account_key", String(64), primary_key=True),
    Column("stat_date", Date, primary_key=True, comment="Beijing date"),
    Column(
        "followers",
        BigInteger,
        comment="cumulative followers (Weibo: users/show followers_count; WeChat: cumulate_user)",
    ),
    Column("new_followers", BigInteger, comment="gained that day, all sources (WeChat; null for Weibo)"),
    Column("lost_followers", BigInteger, comment="lost that day, all sources (WeChat; null for Weibo)"),
    Column("readers", BigInteger, comment="article readers that day, all sources (WeChat getuserread)"),
    Column("reads", BigInteger, comment="article reads that day, all sources (WeChat getuserread)"),
    Column("shares", BigInteger, comment="shares that day, all scenes (WeChat getusershare)"),
    Column("share_users", BigInteger, comment="users who shared that day (WeChat getusershare)"),
    Column("observed_at", DateTime, nullable=False, comment="UTC time of the API read"),
)

etl_extraction_state = _table(
    "etl_extraction_state",
    "one row per platform, account and stream",
    "Bookmarks for incremental extraction: Weibo timeline since_id, WeChat batchget update_time.",
    Column("platform", String(16), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("stream", String(64), primary_key=True, comment="e.g. statuses/user_timeline"),
    Column(
        "bookmark",
        String(64),
        nullable=False,
        comment="Weibo: since_id (newest post id loaded); WeChat: newest update_time loaded",
    ),
    Column("bookmark_at", DateTime, comment="UTC time of that post or article"),
    Column("updated_at", DateTime, nullable=False),
)

etl_account_run = _table(
    "etl_account_run",
    "one row per platform, account and data date (the latest run wins)",
    "What the last run for each date did per account: ok, reauthorize, rate_limited or error.",
    Column("platform", String(16), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("data_date", Date, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("message", Text, comment="why it was not ok; never holds a token"),
    Column("posts_fetched", Integer, nullable=False),
    Column("api_calls", Integer, nullable=False),
    Column("finished_at", DateTime, nullable=False, comment="UTC"),
)

ALL_TABLES = [
    dim_account,
    dim_brand,
    dim_date,
    fct_post,
    fct_post_engagement_daily,
    fct_article,
    fct_article_daily,
    fct_post_term,
    fct_post_keyword,
    fct_term_daily,
    fct_account_daily,
    etl_extraction_state,
    etl_account_run,
]

# Secondary indexes on what the loads and marts filter on: name -> (table, columns). PostgreSQL only:
# DuckDB prunes its scans with per-block min/max statistics, and an ART index there would slow the
# bulk merges without speeding the marts. Primary keys already serve lookups by key.
POSTGRES_INDEXES = {
    "ix_fct_post_account_publish": ("fct_post", ("account_key", "publish_date")),
    "ix_fct_post_publish_date": ("fct_post", ("publish_date",)),
    "ix_fct_post_original": ("fct_post", ("original_post_id",)),
    "ix_fct_post_engagement_account_snapshot": (
        "fct_post_engagement_daily",
        ("account_key", "snapshot_date"),
    ),
    "ix_fct_post_engagement_snapshot": ("fct_post_engagement_daily", ("snapshot_date",)),
    "ix_fct_article_account_publish": ("fct_article", ("account_key", "publish_date")),
    "ix_fct_article_daily_account_stat": ("fct_article_daily", ("account_key", "stat_date")),
    "ix_fct_account_daily_stat": ("fct_account_daily", ("stat_date",)),
    "ix_etl_account_run_date": ("etl_account_run", ("data_date",)),
}

# Views: name -> (what one row is, what it is for, SQL valid on DuckDB and PostgreSQL). The migration
# that creates a view holds its own copy of the SQL, as migrations must not change after release.
RISING_TERMS_SQL = """
SELECT
    today.stat_date,
    today.platform,
    today.account_kind,
    today.term,
    today.term_kind,
    today.posts,
    today.occurrences,
    CAST(COALESCE(SUM(before.occurrences), 0) AS DOUBLE PRECISION) / 7 AS baseline_daily_occurrences,
    CAST(today.occurrences + 1 AS DOUBLE PRECISION)
        / (CAST(COALESCE(SUM(before.occurrences), 0) AS DOUBLE PRECISION) / 7 + 1) AS rise_ratio
FROM fct_term_daily AS today
LEFT JOIN fct_term_daily AS before
    ON before.platform = today.platform
    AND before.account_kind = today.account_kind
    AND before.term = today.term
    AND before.term_kind = today.term_kind
    AND before.stat_date >= today.stat_date - INTERVAL '7 days'
    AND before.stat_date < today.stat_date
GROUP BY
    today.stat_date, today.platform, today.account_kind, today.term, today.term_kind,
    today.posts, today.occurrences
"""

VIEWS = {
    "v_rising_terms": (
        "one row per date, platform, account kind and term used that date",
        "Terms rising fastest against their trailing 7-day baseline: baseline_daily_occurrences is the "
        "term's occurrences over the 7 days before stat_date divided by 7 (days without the term count "
        "as 0); rise_ratio = (occurrences + 1) / (baseline_daily_occurrences + 1). Query one date and "
        "kind, ORDER BY rise_ratio DESC.",
        RISING_TERMS_SQL,
    ),
}


def data_dictionary_markdown() -> str:
    """docs/warehouse.md, written from the table definitions above."""
    lines = [
        "# Warehouse data dictionary",
        "",
        "Generated from `warehouse/schema.py` by `shengliang docs`; do not edit by hand.",
        "",
        "`*_at` columns are UTC; `*_date` columns and `dim_date` are calendar dates in Beijing time "
        "(Asia/Shanghai). List columns hold JSON arrays as text.",
        "",
    ]
    for table in ALL_TABLES:
        lines += [f"## {table.name}", "", f"Grain: {table.info['grain']}.", "", table.comment or "", ""]
        lines += ["| column | type | key | null | meaning |", "|---|---|---|---|---|"]
        for column in table.columns:
            key = "PK" if column.primary_key else ""
            null = "" if column.primary_key or not column.nullable else "yes"
            lines.append(f"| {column.name} | {column.type} | {key} | {null} | {column.comment or ''} |")
        indexes = [
            f"{name} ({', '.join(columns)})"
            for name, (owner, columns) in POSTGRES_INDEXES.items()
            if owner == table.name
        ]
        if indexes:
            lines += ["", "Indexes (PostgreSQL): " + "; ".join(indexes) + "."]
        lines.append("")
    for name, (grain, description, sql) in VIEWS.items():
        lines += [f"## {name} (view)", "", f"Grain: {grain}.", "", description, "", "```sql"]
        lines += [sql.strip(), "```", ""]
    return "\n".join(lines)
