"""Load benchmark: engagement rows into DuckDB and PostgreSQL, against pandas.to_sql.

    .venv/bin/python bench/load.py [--rows 1000000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Each backend gets --rows rows of fct_post_engagement_daily for one snapshot date, handed over as an
Arrow table (the form the loader takes). 30% of them are already in the table with older counts
(a re-run of the day: these are updates), 70% are new. Two loader paths are timed, each in one
transaction including the commit:
- snapshot: `replace_snapshot`, what the pipeline runs for engagement rows (the accounts' rows of
  the day become exactly the new ones);
- upsert: the generic `upsert` (INSERT ... ON CONFLICT DO UPDATE) every other table goes through.
The baseline is pandas.DataFrame.to_sql(method="multi", chunksize=10000) of the same rows into an
empty table (plain inserts, the easier job). Every measurement runs in a fresh child process, so each
peak memory (max RSS) figure is that load's alone. Prints rows/s, the ratio to the baseline and the
peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
import pyarrow as pa  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from warehouse.load import replace_snapshot, upsert  # noqa: E402
from warehouse.migrate import upgrade_url  # noqa: E402
from warehouse.schema import fct_post_engagement_daily  # noqa: E402

DAY = date(2026, 11, 10)
OBSERVED = datetime(2026, 11, 11, 1, 30)
KINDS = ("snapshot", "upsert", "to_sql")


def rows(start: int, count: int, likes_added: int = 0) -> pa.Table:
    """Engagement rows n = start .. start+count-1 as an Arrow table, the form transforms hand the loader."""
    n = np.arange(start, start + count, dtype=np.int64)
    reposts, comments, likes = n % 997, n % 389, n % 4093 + likes_added
    return pa.table(
        {
            "post_id": pa.array((4_900_000_000_000_000 + n).astype(str)),
            "snapshot_date": pa.array(np.full(count, np.datetime64(DAY, "D"))),
            "account_key": pa.array(np.char.add("weibo:", (6_000_000_001 + n % 50).astype(str))),
            "reposts": reposts,
            "comments": comments,
            "likes": likes,
            "engagement": reposts + comments + likes,
            "engagement_rate": reposts / 1000,
            "observed_at": pa.array(np.full(count, np.datetime64(OBSERVED, "us"))),
        }
    )


def measure_load(url: str, total: int, kind: str) -> float:
    """rows/s of one load of `total` rows, 30% of them updates, by `replace_snapshot` or `upsert`."""
    upgrade_url(url)
    engine = create_engine(url)
    existing = int(total * 0.3)
    with engine.begin() as conn:
        upsert(conn, fct_post_engagement_daily, rows(0, existing))
    batch = rows(0, total, likes_added=1)  # the first 30% update (one more like each), the rest are new
    started = time.perf_counter()
    with engine.begin() as conn:
        if kind == "snapshot":
            replace_snapshot(conn, DAY, batch)
        else:
            upsert(conn, fct_post_engagement_daily, batch)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM fct_post_engagement_daily")).scalar_one() == total
        updated = conn.execute(
            text("SELECT likes FROM fct_post_engagement_daily WHERE post_id = :post_id"),
            {"post_id": str(4_900_000_000_000_000 + existing - 1)},
        ).scalar_one()
        assert updated == (existing - 1) % 4093 + 1, f"row not updated: likes={updated}"
    engine.dispose()
    return total / elapsed


def measure_to_sql(url: str, total: int) -> float:
    engine = create_engine(url)
    frame = rows(0, total).to_pandas()
    # PostgreSQL takes at most 65,535 parameters a statement: 10,000 rows x 9 columns is too many there.
    chunk = 10_000 if engine.dialect.name == "duckdb" else 65_535 // len(frame.columns)
    started = time.perf_counter()
    frame.to_sql(
        "baseline_engagement", engine, if_exists="replace", index=False, method="multi", chunksize=chunk
    )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return total / elapsed


def measure_in_child(url: str, total: int, kind: str) -> tuple[float, float]:
    """Run one measurement in a fresh Python process; return (rows/s, that process's peak RSS in MB)."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--rows", str(total)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return figures["rows_per_second"], figures["peak_mb"]


def run_child(url: str, total: int, kind: str) -> int:
    speed = measure_to_sql(url, total) if kind == "to_sql" else measure_load(url, total, kind)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows_per_second": speed, "peak_mb": peak_mb}))
    return 0


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
    parser.add_argument(
        "--backends", default="duckdb,postgresql", help="comma-separated: duckdb, postgresql (default both)"
    )
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(args.url, args.rows, args.child)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = sorted(set(backends) - {"duckdb", "postgresql"})
    if unknown or not backends:
        parser.error(f"--backends takes duckdb and/or postgresql, not {args.backends!r}")
    for backend in backends:
        results[backend] = {}
        for kind in KINDS:
            print(f"{backend}: {kind} of {args.rows:,} rows ...", flush=True)
            if backend == "duckdb":
                path = Path(args.workdir) / f"shengliang-bench-{uuid.uuid4().hex[:8]}.duckdb"
                try:
                    results[backend][kind] = measure_in_child(f"duckdb:///{path}", args.rows, kind)
                finally:
                    path.unlink(missing_ok=True)
            else:
                url, name = fresh_postgres(args.postgres)
                try:
                    results[backend][kind] = measure_in_child(url, args.rows, kind)
                finally:
                    drop_postgres(args.postgres, name)
    print(f"\n{args.rows:,} rows, 30% updates")
    print(f"{'backend':<11} {'path':<9} {'rows/s':>10} {'vs to_sql':>10} {'peak MB':>8}")
    for backend, by_kind in results.items():
        baseline = by_kind["to_sql"][0]
        for kind, (speed, peak_mb) in by_kind.items():
            print(f"{backend:<11} {kind:<9} {speed:>10,.0f} {speed / baseline:>9.1f}x {peak_mb:>8,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
