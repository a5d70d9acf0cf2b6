"""text analytics: sentiment and confidential flags on posts, keywords, daily terms, rising terms view

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# A copy, not an import: this migration must keep creating the view it shipped with.
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


def upgrade() -> None:
    op.add_column(
        "fct_post",
        sa.Column(
            "sentiment_score",
            sa.Double(),
            nullable=True,
            comment="-1 (negative) .. 1 (positive), from the author's own words and emoticons; "
            "NULL for posts loaded before sentiment existed",
        ),
    )
    op.add_column(
        "fct_post",
        sa.Column(
            "sentiment_label", sa.String(length=8), nullable=True, comment="positive, neutral or negative"
        ),
    )
    op.add_column(
        "fct_post",
        sa.Column(
            "confidential_terms",
            sa.Text(),
            nullable=True,
            comment="employee posts: JSON array of confidential lexicon terms found in the whole text "
            "(repost chain included); NULL for brand posts",
        ),
    )
    op.add_column(
        "fct_post",
        sa.Column(
            "is_flagged_confidential",
            sa.Boolean(),
            nullable=True,
            comment="an employee post containing a confidential term; false for brand posts",
        ),
    )
    op.create_table(
        "fct_post_keyword",
        sa.Column(
            "post_id",
            sa.String(length=48),
            nullable=False,
            comment="Weibo post idstr or WeChat article msgid",
        ),
        sa.Column("keyword", sa.String(length=200), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False, comment="term frequency in the post x IDF"),
        sa.Column("keyword_rank", sa.SmallInteger(), nullable=False, comment="1 = highest weight"),
        sa.PrimaryKeyConstraint("post_id", "keyword"),
        comment="The top 5 TF-IDF keywords of a post's words (jieba's IDF table; topics, mentions and "
        "emoticons are not keywords).",
    )
    op.create_table(
        "fct_term_daily",
        sa.Column("stat_date", sa.Date(), nullable=False, comment="Beijing publish date of the posts"),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("account_kind", sa.String(length=16), nullable=False, comment="brand or employee"),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("term_kind", sa.String(length=16), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False, comment="posts containing the term"),
        sa.Column("occurrences", sa.Integer(), nullable=False, comment="occurrences over those posts"),
        sa.PrimaryKeyConstraint("stat_date", "platform", "account_kind", "term", "term_kind"),
        comment="Terms of the posts (and articles) published that Beijing date, per kind of account; the "
        "base of the v_rising_terms view. Rebuilt for each publish date a load touches.",
    )
    op.execute(f"CREATE VIEW v_rising_terms AS {RISING_TERMS_SQL}")
    # Daily terms of what is already loaded, so the view has a baseline from the first day.
    for posts, post_id in (("fct_post", "post_id"), ("fct_article", "msgid")):
        op.execute(
            "INSERT INTO fct_term_daily (stat_date, platform, account_kind, term, term_kind, posts, occurrences) "
            "SELECT p.publish_date, a.platform, a.kind, t.term, t.term_kind, count(*), sum(t.term_count) "
            f"FROM fct_post_term t JOIN {posts} p ON p.{post_id} = t.post_id "
            "JOIN dim_account a ON a.account_key = p.account_key "
            "GROUP BY p.publish_date, a.platform, a.kind, t.term, t.term_kind"
        )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_rising_terms")
    op.drop_table("fct_term_daily")
    op.drop_table("fct_post_keyword")
    for column in ("is_flagged_confidential", "confidential_terms", "sentiment_label", "sentiment_score"):
        op.drop_column("fct_post", column)
