"""what the marts need: one name per concept, terms with a platform, dim_brand, indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

- dim_account.kind -> account_kind, dim_account.followers_count -> followers and
  fct_account_daily.cancelled_followers -> lost_followers (the names the facts and marts use);
- fct_post_term and fct_post_keyword get `platform` in their primary key (post_id holds a Weibo idstr
  or a WeChat msgid); existing rows take the platform of the post or article they belong to;
- dim_brand: brands and their mart settings (leaderboard opt-in);
- secondary indexes on PostgreSQL.
Every row already loaded is kept.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PLATFORM_COMMENT = "weibo (post_id is a post idstr) or wechat (msgid)"

# A copy, not an import: this migration must keep creating what it shipped with.
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

PLATFORM_OF_POST = (
    "CASE WHEN EXISTS (SELECT 1 FROM fct_article r WHERE r.msgid = t.post_id) THEN 'wechat' ELSE 'weibo' END"
)


def _rebuild_with_platform(name: str, columns: list[sa.Column], key: list[str], comment: str) -> None:
    """Copy a table into a new one with `platform` first in its key (DuckDB cannot change a primary key
    in place), then swap the two."""
    new = f"{name}_v3"
    op.create_table(
        new,
        sa.Column("platform", sa.String(length=16), nullable=False, comment=PLATFORM_COMMENT),
        *columns,
        sa.PrimaryKeyConstraint("platform", *key, name=f"{name}_pkey_v3"),
        comment=comment,
    )
    names = ", ".join(c.name for c in columns)
    op.execute(f"INSERT INTO {new} (platform, {names}) SELECT {PLATFORM_OF_POST}, {names} FROM {name} t")
    op.drop_table(name)
    op.rename_table(new, name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT {name}_pkey_v3 TO {name}_pkey")


def upgrade() -> None:
    op.alter_column("dim_account", "kind", new_column_name="account_kind")
    op.alter_column("dim_account", "followers_count", new_column_name="followers")
    op.alter_column("fct_account_daily", "cancelled_followers", new_column_name="lost_followers")
    op.create_table(
        "dim_brand",
        sa.Column("brand_id", sa.String(length=64), nullable=False, comment="brand id from the registry"),
        sa.Column("brand_name", sa.Text(), nullable=False),
        sa.Column(
            "is_leaderboard_opt_in",
            sa.Boolean(),
            nullable=False,
            comment="the brand opted in to leaderboards of named employees (registry: advocate_leaderboard)",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            nullable=False,
            comment="UTC time of the last load that touched the row",
        ),
        sa.PrimaryKeyConstraint("brand_id"),
        comment="Brands from the registry, with the settings the marts read.",
    )
    op.execute(
        "INSERT INTO dim_brand (brand_id, brand_name, is_leaderboard_opt_in, updated_at) "
        "SELECT brand_id, max(brand_name), false, max(updated_at) FROM dim_account GROUP BY brand_id"
    )
    _rebuild_with_platform(
        "fct_post_term",
        [
            sa.Column(
                "post_id",
                sa.String(length=48),
                nullable=False,
                comment="Weibo post idstr or WeChat article msgid",
            ),
            sa.Column("term", sa.String(length=200), nullable=False),
            sa.Column(
                "term_kind",
                sa.String(length=16),
                nullable=False,
                comment="word, topic, mention, emoticon, link, number or date",
            ),
            sa.Column("term_count", sa.Integer(), nullable=False, comment="occurrences in the post"),
        ],
        ["post_id", "term", "term_kind"],
        "Terms after cleaning, segmentation and stopword removal: a Weibo post's own words, or a "
        "WeChat article's title, digest and content.",
    )
    _rebuild_with_platform(
        "fct_post_keyword",
        [
            sa.Column(
                "post_id",
                sa.String(length=48),
                nullable=False,
                comment="Weibo post idstr or WeChat article msgid",
            ),
            sa.Column("keyword", sa.String(length=200), nullable=False),
            sa.Column("weight", sa.Double(), nullable=False, comment="term frequency in the post x IDF"),
            sa.Column("keyword_rank", sa.SmallInteger(), nullable=False, comment="1 = highest weight"),
        ],
        ["post_id", "keyword"],
        "The top 5 TF-IDF keywords of a post's words (jieba's IDF table; topics, mentions and emoticons "
        "are not keywords).",
    )
    if op.get_bind().dialect.name == "postgresql":
        for index, (table, columns) in POSTGRES_INDEXES.items():
            op.create_index(index, table, list(columns))


def _rebuild_without_platform(name: str, columns: list[sa.Column], key: list[str], comment: str) -> None:
    new = f"{name}_v2"
    op.create_table(new, *columns, sa.PrimaryKeyConstraint(*key, name=f"{name}_pkey_v2"), comment=comment)
    names = ", ".join(c.name for c in columns)
    op.execute(f"INSERT INTO {new} ({names}) SELECT {names} FROM {name}")
    op.drop_table(name)
    op.rename_table(new, name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT {name}_pkey_v2 TO {name}_pkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index, (table, _columns) in POSTGRES_INDEXES.items():
            op.drop_index(index, table_name=table)
    _rebuild_without_platform(
        "fct_post_keyword",
        [
            sa.Column("post_id", sa.String(length=48), nullable=False),
            sa.Column("keyword", sa.String(length=200), nullable=False),
            sa.Column("weight", sa.Double(), nullable=False),
            sa.Column("keyword_rank", sa.SmallInteger(), nullable=False),
        ],
        ["post_id", "keyword"],
        "The top 5 TF-IDF keywords of a post's words.",
    )
    _rebuild_without_platform(
        "fct_post_term",
        [
            sa.Column("post_id", sa.String(length=48), nullable=False),
            sa.Column("term", sa.String(length=200), nullable=False),
            sa.Column("term_kind", sa.String(length=16), nullable=False),
            sa.Column("term_count", sa.Integer(), nullable=False),
        ],
        ["post_id", "term", "term_kind"],
        "Terms after cleaning, segmentation and stopword removal.",
    )
    op.drop_table("dim_brand")
    op.alter_column("fct_account_daily", "lost_followers", new_column_name="cancelled_followers")
    op.alter_column("dim_account", "followers", new_column_name="followers_count")
    op.alter_column("dim_account", "account_kind", new_column_name="kind")
