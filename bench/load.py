"""Load benchmark: bulk upserts of engagement rows into DuckDB and PostgreSQL against pandas.to_sql.

    .venv/bin/python bench/load.py [--rows 1000000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

The measured load is --rows rows of fct_post_engagement_daily for one snapshot date: 30% update rows
already in the table, 70% are new. The baseline is pandas.DataFrame.to_sql(method="multi",
chunksize=10000) of the same rows into an empty copy of the table (plain inserts, so it is the
easier job). Prints rows/s, the ratio to the baseline, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from warehouse.load import upsert  # noqa: E402
from warehouse.migrate import upgrade_url  # noqa: E402
from warehouse.schema import fct_post_engagement_daily  # noqa: E402

DAY = date(2026, 11, 10)


def rows(start: int, count: int) -> list[dict]:
    observed = datetime(2026, 11, 11, 1, 30)
    return [
        {
            "post_id": str(4_900_000_000_000_000 + n),
            "snapshot_date": DAY,
            "account_key": f"weibo:{6_000_000_001 + n % 50}",
            "reposts": n % 997,
            "comments": n % 389,
            "likes": n % 4093,
            "engagement": n % 997 + n % 389 + n % 4093,
            "engagement_rate": (n % 997) / 1000,
            "observed_at": observed,
        }
        for n in range(start, start + count)
    ]


def measure_upsert(url: str, total: int) -> float:
    upgrade_url(url)
    engine = create_engine(url)
    existing = int(total * 0.3)
    with engine.begin() as conn:
        upsert(conn, fct_post_engagement_daily, rows(0, existing))
    batch = rows(0, total)  # the first 30% update, the rest are new
    started = time.perf_counter()
    with engine.begin() as conn:
        upsert(conn, fct_post_engagement_daily, batch)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fct_post_engagement_daily")).scalar_one() == total
    engine.dispose()
    return total / elapsed


def measure_to_sql(url: str, total: int) -> float:
    engine = create_engine(url)
    frame = pd.DataFrame(rows(0, total))
    # PostgreSQL takes at most 65,535 parameters a statement: 10,000 rows x 9 columns is too many there.
    chunk = 10_000 if engine.dialect.name == "duckdb" else 65_535 // len(frame.columns)
    started = time.perf_counter()
    frame.to_sql(
        "baseline_engagement", engine, if_exists="replace", index=False, method="multi", chunksize=chunk
    )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return total / elapsed


def fresh_postgres(admin_url: str) -> tuple[str, str]:
    admin = make_url(admin_url)
    name = f"shengliang_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        host=admin.host, port=admin.port or 5432, user=admin.username, dbname=admin.database, autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(database=name).render_as_string(hide_password=False), name


def drop_postgres(admin_url: str, name: str) -> None:
    admin = make_url(admin_url)
    with psycopg.connect(
        host=admin.host, port=admin.port or 5432, user=admin.username, dbname=admin.database, autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workdir", default="/tmp")
    args = parser.parse_args()
    results = {}
    duck = Path(args.workdir) / f"shengliang-bench-{uuid.uuid4().hex[:8]}.duckdb"
    base = Path(args.workdir) / f"shengliang-baseline-{uuid.uuid4().hex[:8]}.duckdb"
    try:
        print(f"DuckDB: upserting {args.rows:,} rows ...", flush=True)
        results["duckdb"] = (
            measure_upsert(f"duckdb:///{duck}", args.rows),
            measure_to_sql(f"duckdb:///{base}", args.rows),
        )
    finally:
        for path in (duck, base):
            path.unlink(missing_ok=True)
    url, name = fresh_postgres(args.postgres)
    try:
        print(f"PostgreSQL: upserting {args.rows:,} rows ...", flush=True)
        results["postgresql"] = (measure_upsert(url, args.rows), measure_to_sql(url, args.rows))
    finally:
        drop_postgres(args.postgres, name)
    print(f"\n{'backend':<11} {'bulk upsert rows/s':>19} {'to_sql rows/s':>14} {'ratio':>7}")
    for backend, (bulk, baseline) in results.items():
        print(f"{backend:<11} {bulk:>19,.0f} {baseline:>14,.0f} {bulk / baseline:>6.1f}x")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
