"""Idempotent loads of one platform-day into the warehouse, in one transaction.

- dimensions, fct_post, fct_article and the daily fact tables keyed by date merge on their keys, and
  a NULL never replaces a known value (a partial observation keeps what an earlier load stored;
  NULL_IS_A_VALUE lists the few columns where NULL is itself what was observed);
- a day's Weibo engagement snapshot rows are replaced for the accounts in the load, no other date
  is touched;
- a post's or article's terms are replaced whole;
- bookmarks only move forward.
Loading the same day twice leaves exactly the same rows. Both platforms use this one loader.
Rows move in bulk (`stage_rows`): an Arrow table registered in DuckDB, COPY into a temporary table
in PostgreSQL; the merge is one INSERT ... SELECT ... ON CONFLICT DO UPDATE per table.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Double,
    Engine,
    Float,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    select,
    text,
)
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.expression import TableClause

from warehouse.schema import (
    dim_account,
    dim_brand,
    dim_date,
    etl_account_run,
    etl_extraction_state,
    fct_account_daily,
    fct_article,
    fct_article_daily,
    fct_post,
    fct_post_engagement_daily,
    fct_post_keyword,
    fct_post_term,
    fct_term_daily,
)

CHUNK = 1000
# A load never puts NULL over a known value: a run that lacks a source (users/show refused by a rate
# limit, getarticletotal out of quota) keeps what an earlier load stored. The exceptions are the
# columns whose NULL is itself what was observed; upsert writes those as given.
NULL_IS_A_VALUE: dict[str, tuple[str, ...]] = {
    # the registry is read whole: an account without a department has none
    "dim_account": ("department",),
    # derived from the registry's kind on every load: NULL means "a brand post"
    "fct_post": ("confidential_terms", "is_flagged_confidential"),
    # the time of the bookmark's post: it moves with the bookmark, never apart from it
    "etl_extraction_state": ("bookmark_at",),
    # the latest run wins: an ok run has no message
    "etl_account_run": ("message",),
}


def fill_columns(table: Table) -> tuple[str, ...]:
    """The columns where a NULL in a new row keeps the stored value: every nullable non-key column
    but those of NULL_IS_A_VALUE."""
    exempt = NULL_IS_A_VALUE.get(table.name, ())
    return tuple(c.name for c in table.columns if c.nullable and not c.primary_key and c.name not in exempt)


# Daily rows built from several endpoints: a load that lacks one source keeps what an earlier load had.
ARTICLE_DAILY_FILL = fill_columns(fct_article_daily)
ACCOUNT_DAILY_FILL = fill_columns(fct_account_daily)


@dataclass
class DayLoad:
    """Everything one run for one platform and date loads; each list holds rows keyed by column name."""

    platform: str
    data_date: date
    brands: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    engagement: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    article_daily: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)
    keywords: list[dict[str, Any]] = field(default_factory=list)
    account_daily: list[dict[str, Any]] = field(default_factory=list)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    TABLES = (
        "brands",
        "accounts",
        "posts",
        "engagement",
        "articles",
        "article_daily",
        "terms",
        "keywords",
        "account_daily",
        "bookmarks",
        "runs",
    )


@dataclass(frozen=True)
class LoadCounts:
    posts: int
    engagement_rows: int
    articles: int
    article_daily_rows: int
    term_rows: int
    accounts: int


def _chunks(rows: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


_staged = itertools.count()

Rows = Sequence[dict[str, Any]] | pa.Table
# COPY moves Arrow record batches of this many rows as CSV, so memory stays flat for any load size.
COPY_BATCH_ROWS = 100_000


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema matching a warehouse table's columns (what stage_rows hands the database)."""
    fields = []
    for column in table.columns:
        sql_type = column.type
        if isinstance(sql_type, BigInteger):
            arrow_type = pa.int64()
        elif isinstance(sql_type, SmallInteger):
            arrow_type = pa.int16()
        elif isinstance(sql_type, Integer):
            arrow_type = pa.int32()
        elif isinstance(sql_type, Boolean):
            arrow_type = pa.bool_()
        elif isinstance(sql_type, Double | Float):
            arrow_type = pa.float64()
        elif isinstance(sql_type, DateTime):
            arrow_type = pa.timestamp("us")
        elif isinstance(sql_type, Date):
            arrow_type = pa.date32()
        elif isinstance(sql_type, String | Text):
            arrow_type = pa.string()
        else:
            raise TypeError(f"{table.name}.{column.name}: no Arrow type for {sql_type!r}")
        fields.append(pa.field(column.name, arrow_type, nullable=column.nullable or column.primary_key))
    return pa.schema(fields)


def to_arrow(table: Table, rows: Rows) -> pa.Table:
    """Rows as an Arrow table with exactly the table's columns and types; columns a row lacks are null."""
    schema = arrow_schema(table)
    if isinstance(rows, pa.Table):
        missing = [name for name in schema.names if name not in rows.column_names]
        for name in missing:
            rows = rows.append_column(name, pa.nulls(rows.num_rows, schema.field(name).type))
        return rows.select(schema.names).cast(schema)
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def _row_count(rows: Rows) -> int:
    return rows.num_rows if isinstance(rows, pa.Table) else len(rows)


def stage_rows(conn: Connection, table: Table, rows: Rows) -> TableClause:
    """Move rows (dicts or an Arrow table) into the database in bulk; return a relation to select from.

    DuckDB: the Arrow table is registered on the connection and read in place (no copy, no inserts).
    PostgreSQL: COPY (CSV written by Arrow, in batches) into a temporary table dropped at commit.
    """
    name = f"stage_{table.name}_{next(_staged)}"
    arrow = to_arrow(table, rows)
    dialect = conn.dialect.name
    if dialect == "duckdb":
        conn.connection.driver_connection.register(name, arrow)
    elif dialect == "postgresql":
        conn.execute(text(f"CREATE TEMPORARY TABLE {name} (LIKE {table.name}) ON COMMIT DROP"))
        _copy_arrow(conn, name, arrow)
    else:
        raise ValueError(f"bulk loads support duckdb and postgresql, not {dialect}")
    return sa_table(name, *[sa_column(c) for c in arrow.column_names])


def _copy_arrow(conn: Connection, target: str, arrow: pa.Table) -> None:
    cursor = conn.connection.driver_connection.cursor()
    # Arrow's CSV writer quotes every string, so "" stays an empty string and an unquoted empty field
    # is NULL, which is what PostgreSQL's CSV COPY expects.
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    columns = ", ".join(arrow.column_names)
    with cursor.copy(f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        for batch in arrow.to_batches(max_chunksize=COPY_BATCH_ROWS):
            buffer = pa.BufferOutputStream()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getvalue().to_pybytes())


def _unstage(conn: Connection, staged: TableClause) -> None:
    if conn.dialect.name == "duckdb":
        conn.connection.driver_connection.unregister(staged.name)


def bulk_insert(conn: Connection, table: Table, rows: Rows) -> None:
    if not _row_count(rows):
        return
    staged = stage_rows(conn, table, rows)
    _insert_staged(conn, table, staged)
    _unstage(conn, staged)


def _insert_staged(conn: Connection, table: Table, staged: TableClause) -> None:
    columns = [c.name for c in table.columns]
    conn.execute(table.insert().from_select(columns, select(*[staged.c[c] for c in columns])))


def upsert(
    conn: Connection,
    table: Table,
    rows: Rows,
    *,
    keep: Sequence[str] = (),
    fill: Sequence[str] | None = None,
) -> None:
    """Insert rows (dicts or an Arrow table), updating existing ones on the primary key. Columns in
    `keep` keep a non-null stored value (first seen wins); columns in `fill` keep the stored value when
    the new one is null (rows built from partial sources). `fill` defaults to `fill_columns(table)`:
    a NULL never replaces a known value, except where NULL_IS_A_VALUE says it is one."""
    if not _row_count(rows):
        return
    staged = stage_rows(conn, table, rows)
    _merge(conn, table, staged, keep=keep, fill=fill_columns(table) if fill is None else fill)
    _unstage(conn, staged)


def _merge(
    conn: Connection, table: Table, staged: TableClause, *, keep: Sequence[str] = (), fill: Sequence[str] = ()
) -> None:
    keys = [c.name for c in table.primary_key.columns]
    columns = [c.name for c in table.columns]
    source = select(*[staged.c[c] for c in columns])
    if conn.dialect.name == "postgresql":
        # Rows go in key order, so two concurrent loads lock shared keys in the same order: no deadlock.
        # DuckDB has one writer at a time, so it skips the sort.
        source = source.order_by(*[staged.c[k] for k in keys])
    statement = pg_insert(table).from_select(columns, source)
    updates = {}
    for column in table.columns:
        if column.name in keys:
            continue
        new_value = statement.excluded[column.name]
        if column.name in keep:
            updates[column.name] = func.coalesce(column, new_value)
        elif column.name in fill:
            updates[column.name] = func.coalesce(new_value, column)
        else:
            updates[column.name] = new_value
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))


def replace_snapshot(conn: Connection, snapshot_date: date, rows: Rows) -> None:
    """Make the accounts' fct_post_engagement_daily rows for `snapshot_date` exactly `rows`.

    Rows of other dates and of accounts not in `rows` are untouched. The caller holds the day's lock
    (`lock_day`), so no other load writes these keys meanwhile; each backend takes its fastest path:
    PostgreSQL deletes the old rows and inserts plainly (no ON CONFLICT, which costs twice as much
    there); DuckDB merges and then deletes what the new rows lack (re-inserting a key it deleted in
    the same transaction is slow in DuckDB).
    """
    if not _row_count(rows):
        return
    table = fct_post_engagement_daily
    staged = stage_rows(conn, table, rows)
    accounts = select(staged.c.account_key).distinct().scalar_subquery()
    of_the_day = and_(table.c.snapshot_date == snapshot_date, table.c.account_key.in_(accounts))
    if conn.dialect.name == "postgresql":
        conn.execute(delete(table).where(of_the_day))
        _insert_staged(conn, table, staged)
    else:
        _merge(conn, table, staged)
        still_there = (
            select(staged.c.post_id)
            .where(and_(staged.c.post_id == table.c.post_id, staged.c.snapshot_date == table.c.snapshot_date))
            .exists()
        )
        conn.execute(delete(table).where(and_(of_the_day, ~still_there)))
    _unstage(conn, staged)


def lock_day(conn: Connection, platform: str, data_date: date) -> None:
    """Serialize loads of one platform-day on PostgreSQL (a transaction-scoped advisory lock); loads
    of other days go on concurrently. DuckDB has a single writer, so it needs nothing."""
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(f"shengliang:{platform}:{data_date.isoformat()}".encode(), digest_size=8)
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:lock_key)"),
        {"lock_key": int.from_bytes(digest.digest(), "big", signed=True)},
    )


def insert_missing(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    statement = pg_insert(table).on_conflict_do_nothing(index_elements=keys)
    for chunk in _chunks(rows):
        conn.execute(statement, list(chunk))


def date_rows(dates: Iterable[date]) -> list[dict[str, Any]]:
    rows = []
    for day in sorted(set(dates)):
        iso = day.isocalendar()
        rows.append(
            {
                "date_key": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "day": day.day,
                "iso_year": iso.year,
                "iso_week": iso.week,
                "weekday": iso.weekday,
                "is_weekend": iso.weekday >= 6,
            }
        )
    return rows


def _advancing_bookmarks(conn: Connection, bookmarks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop bookmarks that would move an account's since_id backwards (e.g. a backfill)."""
    result = []
    for row in bookmarks:
        current = conn.execute(
            select(etl_extraction_state.c.bookmark).where(
                and_(
                    etl_extraction_state.c.platform == row["platform"],
                    etl_extraction_state.c.account_id == row["account_id"],
                    etl_extraction_state.c.stream == row["stream"],
                )
            )
        ).scalar_one_or_none()
        if not _is_valid_bookmark(current) or int(row["bookmark"]) > int(current):
            result.append(row)  # an invalid stored bookmark (a bad id loaded once) never blocks
    return result


def _is_valid_bookmark(value: str | None) -> bool:
    """Bookmarks are Weibo ids or WeChat update_times: digits in 1..2**63-1."""
    return value is not None and value.isdigit() and 0 < int(value) < 2**63


def _refresh_latest_followers(conn: Connection, account_keys: Sequence[str]) -> None:
    """dim_account.followers = followers on the latest stat_date loaded, so a backfill of an
    old date never replaces a newer figure."""
    latest = (
        select(fct_account_daily.c.followers)
        .where(
            and_(
                fct_account_daily.c.account_key == dim_account.c.account_key,
                fct_account_daily.c.followers.is_not(None),
            )
        )
        .order_by(fct_account_daily.c.stat_date.desc())
        .limit(1)
        .scalar_subquery()
    )
    for chunk in _chunks(list(account_keys)):
        conn.execute(
            dim_account.update().where(dim_account.c.account_key.in_(list(chunk))).values(followers=latest)
        )


def refresh_term_daily(conn: Connection, platform: str, publish_dates: Sequence[date]) -> None:
    """Rebuild fct_term_daily of `platform` for these publish dates from the posts (or articles) and
    terms in the warehouse, so the table always matches them however often a day is loaded."""
    if not publish_dates:
        return
    posts = fct_article if platform == "wechat" else fct_post
    post_id = posts.c.msgid if platform == "wechat" else posts.c.post_id
    for chunk in _chunks(list(publish_dates)):
        conn.execute(
            delete(fct_term_daily).where(
                and_(fct_term_daily.c.platform == platform, fct_term_daily.c.stat_date.in_(list(chunk)))
            )
        )
        daily = (
            select(
                posts.c.publish_date,
                dim_account.c.platform,
                dim_account.c.account_kind,
                fct_post_term.c.term,
                fct_post_term.c.term_kind,
                func.count(),
                func.sum(fct_post_term.c.term_count),
            )
            .select_from(
                fct_post_term.join(
                    posts, and_(post_id == fct_post_term.c.post_id, fct_post_term.c.platform == platform)
                ).join(dim_account, dim_account.c.account_key == posts.c.account_key)
            )
            .where(and_(dim_account.c.platform == platform, posts.c.publish_date.in_(list(chunk))))
            .group_by(
                posts.c.publish_date,
                dim_account.c.platform,
                dim_account.c.account_kind,
                fct_post_term.c.term,
                fct_post_term.c.term_kind,
            )
        )
        columns = ["stat_date", "platform", "account_kind", "term", "term_kind", "posts", "occurrences"]
        conn.execute(fct_term_daily.insert().from_select(columns, daily))


def load_day(engine: Engine, day: DayLoad) -> LoadCounts:
    """Load one platform-day in one transaction; nothing is half-written if any statement fails."""
    now = datetime.now(UTC).replace(tzinfo=None)
    dates = [day.data_date]
    dates += [row["publish_date"] for row in day.posts + day.articles + day.article_daily]
    dates += [row["stat_date"] for row in day.account_daily + day.article_daily]
    # An article-day row from getarticlesummary alone (getarticletotal out of quota, 45009) has no
    # publish date: its figures load, the unknown ones stay NULL.
    dates = [d for d in dates if d is not None]
    with engine.begin() as conn:
        lock_day(conn, day.platform, day.data_date)
        upsert(conn, dim_brand, [{**row, "updated_at": now} for row in day.brands])
        upsert(conn, dim_account, [{**row, "updated_at": now} for row in day.accounts])
        insert_missing(conn, dim_date, date_rows(dates))
        upsert(
            conn,
            fct_post,
            [{**row, "updated_at": now} for row in day.posts],
            keep=("author_followers_at_publish", "first_seen_at"),
        )
        upsert(
            conn, fct_article, [{**row, "updated_at": now} for row in day.articles], keep=("first_seen_at",)
        )
        upsert(conn, fct_article_daily, day.article_daily)
        post_ids = [row["post_id"] for row in day.posts] + [row["msgid"] for row in day.articles]
        for chunk in _chunks(post_ids):
            for terms in (fct_post_term, fct_post_keyword):
                conn.execute(
                    delete(terms).where(
                        and_(terms.c.platform == day.platform, terms.c.post_id.in_(list(chunk)))
                    )
                )
        bulk_insert(conn, fct_post_term, day.terms)
        bulk_insert(conn, fct_post_keyword, day.keywords)
        replace_snapshot(conn, day.data_date, day.engagement)
        upsert(conn, fct_account_daily, day.account_daily)
        publish_dates = {row["publish_date"] for row in day.posts + day.articles}
        refresh_term_daily(conn, day.platform, sorted(publish_dates))
        _refresh_latest_followers(conn, [row["account_key"] for row in day.accounts])
        upsert(
            conn,
            etl_extraction_state,
            [{**r, "updated_at": now} for r in _advancing_bookmarks(conn, day.bookmarks)],
        )
        upsert(conn, etl_account_run, day.runs)
    return LoadCounts(
        posts=len(day.posts),
        engagement_rows=len(day.engagement),
        articles=len(day.articles),
        article_daily_rows=len(day.article_daily),
        term_rows=len(day.terms),
        accounts=len({row["account_key"] for row in day.accounts}),
    )


def read_bookmarks(engine: Engine, platform: str, stream: str) -> dict[str, tuple[str, datetime | None]]:
    """account_id -> (since_id, publish time of that post in UTC)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                etl_extraction_state.c.account_id,
                etl_extraction_state.c.bookmark,
                etl_extraction_state.c.bookmark_at,
            ).where(
                and_(etl_extraction_state.c.platform == platform, etl_extraction_state.c.stream == stream)
            )
        ).all()
    return {row.account_id: (row.bookmark, row.bookmark_at) for row in rows}


def read_tracked_posts(
    engine: Engine, account_keys: Sequence[str], published_from: datetime, published_before: datetime
) -> dict[str, list[tuple[str, int | None]]]:
    """account_key -> [(post_id, author_followers_at_publish)] for posts published in the window (UTC)."""
    tracked: dict[str, list[tuple[str, int | None]]] = {key: [] for key in account_keys}
    if not account_keys:
        return tracked
    with engine.connect() as conn:
        rows = conn.execute(
            select(fct_post.c.account_key, fct_post.c.post_id, fct_post.c.author_followers_at_publish)
            .where(
                and_(
                    fct_post.c.account_key.in_(list(account_keys)),
                    fct_post.c.published_at >= published_from,
                    fct_post.c.published_at < published_before,
                )
            )
            .order_by(fct_post.c.account_key, fct_post.c.post_id)
        ).all()
    for row in rows:
        tracked[row.account_key].append((row.post_id, row.author_followers_at_publish))
    return tracked
