"""The mart layer on DuckDB and PostgreSQL: every metric against an independent computation in Python
from the fact rows (never from the marts' own SQL), rebuilds, data tests, and the KPI exports."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, text

from shengliang import jobs, metrics, settings
from shengliang.daily import RunWindow
from shengliang.demo import SANDBOX_CLOCK_AFTER_DATE, sandbox_environment
from tests.conftest import DATA_DATE, fresh_warehouse
from warehouse.connect import open_warehouse
from warehouse.marts import MartError, build_marts, check_marts, load_models, parse_model, test_marts

# Four loaded days: the third is a Monday-to-Sunday week's end, so a week has several snapshots.
DAYS = [
    DATA_DATE - timedelta(days=2),
    DATA_DATE - timedelta(days=1),
    DATA_DATE,
    DATA_DATE + timedelta(days=1),
]


def _run(server, day: date, platforms=("weibo", "wechat")) -> None:
    server.set_now(RunWindow.for_date(day, 7).interval_end + SANDBOX_CLOCK_AFTER_DATE)
    for platform in platforms:
        jobs.run_day(platform, day)


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A warehouse with four days of both platforms from the sandbox, marts built: one per backend."""
    from sandbox.server import SandboxServer

    tmp = tmp_path_factory.mktemp(f"marts-{request.param}")
    with fresh_warehouse(request.param, tmp) as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHENGLIANG_DATA_DIR", str(tmp / "data"))
        patch.setenv("WAREHOUSE_URL", url)
        patch.delenv("SHENGLIANG_ACCOUNTS", raising=False)
        patch.delenv("SHENGLIANG_PRIVACY_K", raising=False)
        patch.setenv("SHENGLIANG_HTTP_BACKOFF", "0.01")
        start = RunWindow.for_date(DAYS[0], 7).interval_end + SANDBOX_CLOCK_AFTER_DATE
        with SandboxServer(now=start).start() as server:
            for name, value in sandbox_environment(server).items():
                patch.setenv(name, value)
            for day in DAYS:
                _run(server, day)
            jobs.build_marts()
            with open_warehouse(url) as engine:
                yield SimpleNamespace(engine=engine, server=server, url=url, tmp=tmp)


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def number(value: Any) -> float | None:
    return None if value is None else float(value)


# --- independent computations from the facts ------------------------------------------------------


def latest_counts(engine: Engine, last_day: date) -> dict[str, dict[str, Any]]:
    """post_id -> counts of its latest snapshot on or before last_day."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows(engine, "SELECT * FROM fct_post_engagement_daily WHERE snapshot_date <= :d", d=last_day):
        kept = latest.get(row["post_id"])
        if kept is None or row["snapshot_date"] > kept["snapshot_date"]:
            latest[row["post_id"]] = row
    return latest


def bci(posts: int, reposts: int, comments: int, likes: int) -> float:
    w1 = math.log(posts + 1)
    w2 = 0.4 * math.log(reposts + 1) + 0.4 * math.log(comments + 1) + 0.2 * math.log(likes + 1)
    return (0.2 * w1 + 0.8 * w2) * 160


def expected_bci(engine: Engine, first: date, last: date) -> dict[str, float | None]:
    """account_key -> BCI over the posts published in [first, last], counts as of `last`; None where a
    post of the period has no snapshot by then (its counts are unknown)."""
    counts = latest_counts(engine, last)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    incomplete: set[str] = set()
    posts = rows(engine, "SELECT post_id, account_key, publish_date FROM fct_post")
    for post in posts:
        if first <= post["publish_date"] <= last:
            totals = sums[post["account_key"]]
            snapshot = counts.get(post["post_id"])
            totals[0] += 1
            if snapshot:
                totals[1] += snapshot["reposts"]
                totals[2] += snapshot["comments"]
                totals[3] += snapshot["likes"]
            else:
                incomplete.add(post["account_key"])
    return {key: None if key in incomplete else bci(*values) for key, values in sums.items()}


def wci_part(r: float, z: float, likes: float, re: float, divisor: float) -> float:
    return (
        0.70 * math.log(r / divisor + 1)
        + 0.09 * math.log(10 * z / divisor + 1)
        + 0.06 * math.log(10 * likes / divisor + 1)
        + 0.15 * math.log(10 * re / divisor + 1)
    )


def expected_wci(engine: Engine, first: date, last: date) -> dict[str, float]:
    """account_key -> WCI V14.2 over the articles published in [first, last], Z = L = 0."""
    days = (last - first).days + 1
    figures: dict[str, dict[str, Any]] = {}
    for row in rows(
        engine, "SELECT * FROM fct_article_daily WHERE stat_date <= :d AND reads IS NOT NULL", d=last
    ):
        kept = figures.get(row["msgid"])
        if kept is None or row["stat_date"] > kept["stat_date"]:
            figures[row["msgid"]] = row
    by_account: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for article in rows(engine, "SELECT msgid, account_key, position, publish_date FROM fct_article"):
        if first <= article["publish_date"] <= last and article["msgid"] in figures:
            figure = figures[article["msgid"]]
            by_account[article["account_key"]].append(
                (min(figure["reads"], 100_001), figure["shares"], article["position"])
            )
    result = {}
    for key, articles in by_account.items():
        reads = sum(r for r, _, _ in articles)
        shares = sum(s for _, s, _ in articles)
        overall = wci_part(reads, 0, 0, shares, days)
        average = wci_part(reads, 0, 0, shares, len(articles))
        headline = wci_part(
            sum(r for r, _, p in articles if p == 1), 0, 0, sum(s for _, s, p in articles if p == 1), days
        )
        peak = wci_part(max(r for r, _, _ in articles), 0, 0, max(s for _, s, _ in articles), 1)
        result[key] = (0.6 * overall + 0.2 * average + 0.1 * headline + 0.1 * peak) ** 2 * 1.2 * 10
    return result


def employee_reposts(engine: Engine) -> list[dict[str, Any]]:
    """Employee reposts of posts by registered accounts of the same brand, from fct_post and dim_account."""
    accounts = {a["account_key"]: a for a in rows(engine, "SELECT * FROM dim_account")}
    by_uid = {a["account_id"]: a for a in accounts.values() if a["platform"] == "weibo"}
    result = []
    for post in rows(engine, "SELECT * FROM fct_post WHERE is_repost"):
        author = accounts[post["account_key"]]
        original = by_uid.get(post["original_author_id"] or "")
        if (
            author["account_kind"] == "employee"
            and original is not None
            and original["brand_id"] == author["brand_id"]
            and original["account_key"] != author["account_key"]
            and post["original_post_id"]
        ):
            result.append({**post, "author": author, "original": original})
    return result


# --- tests ----------------------------------------------------------------------------------------


def test_bci_per_day_and_week_match_an_independent_computation(loaded) -> None:
    engine = loaded.engine
    for day in DAYS:
        expected = expected_bci(engine, day, day)
        marts = {
            r["account_key"]: r
            for r in rows(
                engine, "SELECT * FROM mart_account_daily WHERE stat_date = :d AND platform = 'weibo'", d=day
            )
        }
        assert set(expected) <= set(marts) and len(expected) > 10
        assert sum(value is not None for value in expected.values()) > 10
        for key, value in expected.items():
            if value is None:
                assert marts[key]["bci"] is None and marts[key]["posts_without_counts"] > 0
            else:
                assert marts[key]["bci"] == pytest.approx(value, rel=1e-9), (key, day)
        for key in set(marts) - set(expected):  # read that day, no posts: W1 = W2 = 0
            assert marts[key]["posts"] == 0 and marts[key]["bci"] == pytest.approx(0.0)
    week_start = DATA_DATE - timedelta(days=DATA_DATE.weekday())
    week = expected_bci(engine, week_start, week_start + timedelta(days=6))
    marts = rows(
        engine,
        "SELECT account_key, bci, period_days FROM mart_account_period"
        " WHERE period = 'week' AND period_start = :s "
        "AND platform = 'weibo'",
        s=week_start,
    )
    assert {r["account_key"] for r in marts} == set(week) and any(v is not None for v in week.values())
    for row in marts:
        assert row["period_days"] == 7
        want = week[row["account_key"]]
        assert row["bci"] is None if want is None else row["bci"] == pytest.approx(want, rel=1e-9)


def test_wci_with_wow_and_likes_missing_matches_an_independent_computation(loaded) -> None:
    engine = loaded.engine
    checked = 0
    for day in DAYS:
        expected = expected_wci(engine, day, day)
        marts = {
            r["account_key"]: r
            for r in rows(
                engine, "SELECT * FROM mart_account_daily WHERE stat_date = :d AND platform = 'wechat'", d=day
            )
        }
        for key, row in marts.items():
            if key in expected:
                assert row["wci"] == pytest.approx(expected[key], rel=1e-9), (key, day)
                assert row["is_wci_zl_missing"] is True and row["wci_wow"] == 0 and row["wci_likes"] == 0
                checked += 1
            else:
                assert row["wci"] is None and row["wci_articles"] == 0
    assert checked >= 2
    month_start = DATA_DATE.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    month = expected_wci(engine, month_start, month_end)
    marts = rows(
        engine,
        "SELECT account_key, wci, period_days FROM mart_account_period"
        " WHERE period = 'month' AND period_start = :s "
        "AND platform = 'wechat'",
        s=month_start,
    )
    assert month and {r["account_key"] for r in marts if r["wci"] is not None} == set(month)
    for row in marts:
        assert row["period_days"] == (month_end - month_start).days + 1
        assert row["wci"] == pytest.approx(month[row["account_key"]], rel=1e-9)


def test_engagement_gain_followers_change_and_rate(loaded) -> None:
    engine = loaded.engine
    snapshots = {
        (r["post_id"], r["snapshot_date"]): r for r in rows(engine, "SELECT * FROM fct_post_engagement_daily")
    }
    gains: dict[tuple[str, date], int] = defaultdict(int)
    has_gain: set[tuple[str, date]] = set()
    for (post_id, day), row in snapshots.items():
        previous = snapshots.get((post_id, day - timedelta(days=1)))
        if previous is not None:
            gains[(row["account_key"], day)] += row["engagement"] - previous["engagement"]
            has_gain.add((row["account_key"], day))
    followers = {
        (r["account_key"], r["stat_date"]): r["followers"]
        for r in rows(engine, "SELECT * FROM fct_account_daily")
    }
    posts = rows(
        engine, "SELECT post_id, account_key, publish_date, author_followers_at_publish FROM fct_post"
    )
    marts = rows(engine, "SELECT * FROM mart_account_daily WHERE platform = 'weibo'")
    assert any(r["engagement_gain"] for r in marts)
    for row in marts:
        key = (row["account_key"], row["stat_date"])
        assert row["engagement_gain"] == (gains[key] if key in has_gain else None), key
        before = followers.get((row["account_key"], row["stat_date"] - timedelta(days=1)))
        now = followers.get(key)
        assert row["followers_change"] == (now - before if now is not None and before is not None else None)
        own = [
            p
            for p in posts
            if p["account_key"] == row["account_key"] and p["publish_date"] == row["stat_date"]
        ]
        counted = [p for p in own if (p["post_id"], row["stat_date"]) in snapshots]
        engagement = sum(snapshots[(p["post_id"], row["stat_date"])]["engagement"] for p in counted)
        base = sum(p["author_followers_at_publish"] or 0 for p in counted)
        assert row["posts_without_counts"] == len(own) - len(counted)
        if len(counted) < len(own):  # counts unknown for some: no engagement, rate or BCI
            assert (row["engagement"], row["engagement_rate"], row["bci"]) == (None, None, None)
            continue
        assert row["engagement"] == engagement
        if base:
            assert row["engagement_rate"] == pytest.approx(engagement * 100 / base)
        else:
            assert row["engagement_rate"] is None


def test_growth_benchmark_is_the_median_of_the_accounts_earlier_posts_at_that_age(loaded) -> None:
    engine = loaded.engine
    posts = {p["post_id"]: p for p in rows(engine, "SELECT post_id, account_key, publish_date FROM fct_post")}
    by_age: dict[tuple[str, int], list[tuple[date, int]]] = defaultdict(list)
    snapshots = rows(engine, "SELECT post_id, snapshot_date, engagement FROM fct_post_engagement_daily")
    for s in snapshots:
        post = posts[s["post_id"]]
        age = (s["snapshot_date"] - post["publish_date"]).days
        by_age[(post["account_key"], age)].append((post["publish_date"], s["engagement"]))
    marts = {(r["post_id"], r["age_days"]): r for r in rows(engine, "SELECT * FROM mart_post_growth")}
    assert len(marts) == len(snapshots)
    with_benchmark = 0
    for s in snapshots:
        post = posts[s["post_id"]]
        age = (s["snapshot_date"] - post["publish_date"]).days
        earlier = [
            e
            for published, e in by_age[(post["account_key"], age)]
            if post["publish_date"] - timedelta(days=90) <= published < post["publish_date"]
        ]
        row = marts[(s["post_id"], age)]
        assert row["benchmark_posts"] == len(earlier)
        if earlier:
            with_benchmark += 1
            assert row["benchmark_engagement"] == pytest.approx(statistics.median(earlier))
            assert row["is_ahead"] == (s["engagement"] > statistics.median(earlier))
        else:
            assert row["benchmark_engagement"] is None and row["is_ahead"] is None
    assert with_benchmark > 20


def test_advocacy_rate_reach_participation_and_cross_department_counts(loaded) -> None:
    engine = loaded.engine
    reposts = employee_reposts(engine)
    assert any(r["original"]["account_kind"] == "brand" for r in reposts)
    accounts = rows(engine, "SELECT * FROM dim_account WHERE account_kind = 'employee'")
    runs = rows(engine, "SELECT platform, account_id, data_date FROM etl_account_run")
    posts = rows(engine, "SELECT account_key, publish_date FROM fct_post")
    # An employee counts as registered from its first run or post to its last one.
    seen: dict[str, list[date]] = defaultdict(list)
    for r in runs:
        seen[f"{r['platform']}:{r['account_id']}"].append(r["data_date"])
    for p in posts:
        seen[p["account_key"]].append(p["publish_date"])
    spans = {key: (min(days), max(days)) for key, days in seen.items()}
    for day in DAYS:
        for brand in {a["brand_id"] for a in accounts}:
            for department in {a["department"] for a in accounts if a["brand_id"] == brand}:
                members = {
                    a["account_key"]: a
                    for a in accounts
                    if (a["brand_id"], a["department"]) == (brand, department)
                }
                registered = {key for key, (first, last) in spans.items() if first <= day <= last}
                employees = set(members) & registered
                of_brand = [
                    r
                    for r in reposts
                    if r["account_key"] in members
                    and r["publish_date"] == day
                    and r["original"]["account_kind"] == "brand"
                ]
                active = {r["account_key"] for r in of_brand}
                firsts: dict[tuple[str, str], dict[str, Any]] = {}
                for r in sorted(of_brand, key=lambda r: (r["published_at"], r["post_id"])):
                    firsts.setdefault((r["account_key"], r["original_post_id"]), r)
                reach = sum(r["author_followers_at_publish"] or 0 for r in firsts.values())
                mart = rows(
                    engine,
                    "SELECT * FROM mart_advocacy_daily"
                    " WHERE brand_id = :b AND department = :dep AND stat_date = :d",
                    b=brand,
                    dep=department,
                    d=day,
                )
                if not employees and not of_brand:
                    assert mart == []
                    continue
                (row,) = mart
                assert row["employees"] == len(employees)
                assert row["active_advocates"] == len(active)
                assert row["employee_reposts"] == len(of_brand)
                assert row["reach_via_employees"] == reach
                expected_rate = len(active) * 100 / len(employees) if employees else None
                assert number(row["active_advocate_rate"]) == pytest.approx(expected_rate)
    cross: dict[tuple[str, date, str, str], int] = defaultdict(int)
    for r in reposts:
        group = r["original"]["department"] or "品牌账号"
        cross[(r["author"]["brand_id"], r["publish_date"], r["author"]["department"], group)] += 1
    marts = {
        (r["brand_id"], r["stat_date"], r["reposting_department"], r["original_group"]): r["reposts"]
        for r in rows(engine, "SELECT * FROM mart_cross_department")
    }
    assert marts == dict(cross) and any(key[3] != "品牌账号" for key in marts)


def _climate(engine: Engine, k: int) -> dict[tuple[str, str, date], dict[str, Any]]:
    employees = {
        a["account_key"]: a for a in rows(engine, "SELECT * FROM dim_account WHERE account_kind = 'employee'")
    }
    cells: dict[tuple[str, str, date], dict[str, Any]] = {}
    for post in rows(
        engine, "SELECT account_key, publish_date, sentiment_label, is_flagged_confidential FROM fct_post"
    ):
        author = employees.get(post["account_key"])
        if author is None:
            continue
        week = post["publish_date"] - timedelta(days=post["publish_date"].weekday())
        cell = cells.setdefault(
            (author["brand_id"], author["department"], week), {"authors": set(), "labels": [], "flagged": 0}
        )
        cell["authors"].add(post["account_key"])
        cell["labels"].append(post["sentiment_label"])
        cell["flagged"] += bool(post["is_flagged_confidential"])
    expected = {}
    for key, cell in cells.items():
        positive, negative = cell["labels"].count("positive"), cell["labels"].count("negative")
        suppressed = len(cell["authors"]) < k
        expected[key] = {
            "posts": len(cell["labels"]),
            "is_suppressed": suppressed,
            "net_sentiment": None
            if suppressed or positive + negative == 0
            else (positive - negative) * 100 / (positive + negative),
            "confidential_share": None if suppressed else cell["flagged"] * 100 / len(cell["labels"]),
        }
    return expected


@pytest.mark.parametrize("k", [5, 1, 1000])
def test_net_sentiment_and_suppression_under_k(loaded, k: int) -> None:
    engine = loaded.engine
    build_marts(engine, privacy_k=k)
    try:
        expected = _climate(engine, k)
        marts = {
            (r["brand_id"], r["department"], r["week_start"]): r
            for r in rows(engine, "SELECT * FROM mart_emotional_climate_weekly")
        }
        assert set(marts) == set(expected)
        for key, row in marts.items():
            want = expected[key]
            assert row["posts"] == want["posts"] and row["is_suppressed"] == want["is_suppressed"], key
            assert number(row["net_sentiment"]) == pytest.approx(want["net_sentiment"])
            assert number(row["confidential_share"]) == pytest.approx(want["confidential_share"])
            if row["is_suppressed"]:
                assert (row["positive_posts"], row["negative_posts"], row["confidential_posts"]) == (
                    None,
                ) * 3
            assert row["privacy_k"] == k
        suppressed = [row["is_suppressed"] for row in marts.values()]
        if k == 5:  # the demo world: some departments have 5 employees or more, one has fewer
            assert any(suppressed) and not all(suppressed)
        if k == 1000:
            assert all(suppressed)
        if k == 1:
            assert not any(suppressed)
        daily = rows(engine, "SELECT * FROM mart_sentiment_daily WHERE account_kind = 'employee'")
        hidden_weeks = {
            (brand, week) for (brand, _dept, week), cell in expected.items() if cell["is_suppressed"]
        }
        hidden_weeks |= {
            (r["brand_id"], r["stat_date"] - timedelta(days=r["stat_date"].weekday()))
            for r in daily
            if r["authors"] < k
        }
        assert daily
        for r in daily:
            week = r["stat_date"] - timedelta(days=r["stat_date"].weekday())
            few = r["authors"] < k
            assert r["is_suppressed"] == (few or (r["brand_id"], week) in hidden_weeks), r
            assert r["suppressed_because"] == (
                "fewer than k employees"
                if few
                else "protects a suppressed cell of the week"
                if (r["brand_id"], week) in hidden_weeks
                else None
            )
            if r["is_suppressed"]:
                assert (r["positive_posts"], r["negative_posts"], r["net_sentiment"]) == (None, None, None)
        # No suppressed cell can be had back by subtraction: where a brand's week hides a department
        # cell or a day, none of that week's daily employee figures is shown.
        for brand, week in hidden_weeks:
            days = [r for r in daily if r["brand_id"] == brand and 0 <= (r["stat_date"] - week).days < 7]
            assert all(r["positive_posts"] is None for r in days)
    finally:
        build_marts(engine)


def _dump(engine: Engine) -> dict[str, list[tuple]]:
    result = {}
    with engine.connect() as conn:
        for model in load_models():
            columns = ", ".join(c.name for c in model.columns)
            result[model.name] = sorted(
                (tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM {model.name}"))), key=repr
            )
    return result


def test_marts_rebuilt_twice_give_identical_rows(loaded) -> None:
    first = _dump(loaded.engine)
    assert all(first[name] for name in ("mart_account_daily", "mart_post_growth", "mart_advocacy_daily"))
    build_marts(loaded.engine)
    assert _dump(loaded.engine) == first


def test_rerunning_one_date_changes_only_that_dates_rows(loaded) -> None:
    engine, day = loaded.engine, DAYS[1]
    before = rows(engine, "SELECT * FROM mart_account_daily")
    # The same date run again later: the sandbox's clock has moved on, so that day's snapshot changes.
    loaded.server.set_now(
        RunWindow.for_date(day, 7).interval_end + SANDBOX_CLOCK_AFTER_DATE + timedelta(hours=6)
    )
    jobs.run_day("weibo", day)
    build_marts(engine)
    after = rows(engine, "SELECT * FROM mart_account_daily")
    key = lambda r: (r["account_key"], r["stat_date"])  # noqa: E731
    old, new = {key(r): r for r in before}, {key(r): r for r in after}
    assert old.keys() == new.keys()
    changed = {k for k in old if old[k] != new[k]}
    assert changed and {d for _, d in changed} <= {day, day + timedelta(days=1)}
    # The next day only differs where it is measured against this one: gains and follower change.
    for k in changed:
        if k[1] != day:
            differing = {c for c in old[k] if old[k][c] != new[k][c]}
            assert differing <= {"engagement_gain", "followers_change"}, (k, differing)
    # Put the original snapshot back so other tests see the loaded world.
    _run(loaded.server, day, ("weibo",))
    build_marts(engine)
    restored = rows(engine, "SELECT * FROM mart_account_daily")
    assert {key(r): r for r in restored} == old


def test_a_failing_data_test_names_the_model_the_test_and_the_rows(loaded) -> None:
    engine = loaded.engine
    assert all(result.passed for result in test_marts(engine))
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE mart_account_daily SET engagement_rate = -1 WHERE account_key IN "
                "(SELECT account_key FROM mart_account_daily WHERE platform = 'weibo' AND stat_date = :d "
                "ORDER BY account_key LIMIT 2) AND stat_date = :d"
            ),
            {"d": DATA_DATE},
        )
        conn.execute(text("UPDATE mart_post_growth SET account_key = 'weibo:nobody' WHERE age_days = 0"))
    try:
        with pytest.raises(MartError) as caught:
            check_marts(engine)
        message = str(caught.value)
        assert "mart_account_daily: range engagement_rate (min 0): 2 offending row(s)" in message
        zero_age = rows(engine, "SELECT count(*) AS n FROM mart_post_growth WHERE age_days = 0")[0]["n"]
        assert (
            f"mart_post_growth: relationships account_key -> dim_account.account_key: {zero_age} offending"
            in message
        )
        assert "weibo:nobody" in message
    finally:
        build_marts(engine)
    assert check_marts(engine)


def test_a_model_header_that_lies_about_its_columns_is_refused(tmp_path: Path, loaded) -> None:
    source = (settings.PROJECT_ROOT / "warehouse" / "marts" / "mart_collection_daily.sql").read_text(
        encoding="utf-8"
    )
    broken = tmp_path / "mart_collection_daily.sql"
    broken.write_text(source.replace("  api_calls: {", "  api_call_count: {"), encoding="utf-8")
    with pytest.raises(MartError, match="declares .*api_call_count.*make the header's columns match"):
        build_marts(loaded.engine, models=[parse_model(broken)])
    bad_test = tmp_path / "mart_collection_daily.sql"
    bad_test.write_text(
        source.replace("tests: [not_null, {accepted_values", "tests: [unique_ish, {accepted_values", 1)
    )
    with pytest.raises(MartError, match="unknown test 'unique_ish'"):
        parse_model(bad_test)
    build_marts(loaded.engine)


def test_metrics_exports_csv_with_bom_xlsx_and_json(loaded, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    kpis = metrics.kpi_rows(loaded.engine, DATA_DATE)
    assert {r["platform"] for r in kpis} == {"weibo", "wechat"}
    assert all(r["bci"] is not None for r in kpis if r["platform"] == "weibo")
    raw = metrics.to_csv(kpis)
    assert raw.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["display_name"] for r in parsed] == [r["display_name"] for r in kpis]
    assert any("山海" in r["display_name"] for r in parsed)
    path = tmp_path / "kpi.xlsx"
    metrics.render(kpis, "xlsx", "KPI", path)
    sheet = load_workbook(path).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(metrics.KPI_COLUMNS)
    for original, read_back in zip(kpis, values[1:], strict=True):
        for column, cell in zip(metrics.KPI_COLUMNS, read_back, strict=True):
            want = original[column]
            if isinstance(want, float):
                assert cell == pytest.approx(want)
            elif isinstance(want, date):
                assert cell.date() == want
            else:
                assert cell == want, column
    decoded = json.loads(metrics.to_json(kpis))
    assert decoded[0]["period_start"] == DATA_DATE.isoformat() and len(decoded) == len(kpis)
    week = metrics.kpi_rows(loaded.engine, DATA_DATE, period="week", brand="shanhai")
    assert week and {r["brand_id"] for r in week} == {"shanhai"} and {r["period"] for r in week} == {"week"}
    with pytest.raises(
        Exception, match="--brand 'nope' is not in the warehouse; known brands: jiguang, shanhai"
    ):
        metrics.kpi_rows(loaded.engine, DATA_DATE, brand="nope")


def _week_leaderboard(engine: Engine, brand: str, week_start: date) -> None:
    """The week's leaderboard of `brand` against the reposts counted from fct_post."""
    counts: dict[str, int] = defaultdict(int)
    for r in employee_reposts(engine):
        if r["author"]["brand_id"] == brand and r["original"]["account_kind"] == "brand":
            if week_start <= r["publish_date"] <= week_start + timedelta(days=6):
                counts[r["account_key"]] += 1
    week = rows(
        engine,
        "SELECT * FROM mart_advocate_leaderboard"
        " WHERE period = 'week' AND period_start = :s AND brand_id = :b",
        s=week_start,
        b=brand,
    )
    employees = rows(
        engine,
        "SELECT account_key FROM dim_account WHERE brand_id = :b AND account_kind = 'employee'",
        b=brand,
    )
    assert {r["account_key"]: r["employee_reposts"] for r in week} == {
        e["account_key"]: counts.get(e["account_key"], 0) for e in employees
    }
    ranked = sorted(week, key=lambda r: r["leaderboard_rank"])
    assert ranked[0]["leaderboard_rank"] == 1 and ranked[0]["employee_reposts"] == max(counts.values())
    assert [r["employee_reposts"] for r in ranked] == sorted(
        counts.get(e["account_key"], 0) for e in employees
    )[::-1]


def test_the_leaderboard_names_employees_only_of_brands_that_opted_in(loaded) -> None:
    engine = loaded.engine
    week_start = DATA_DATE - timedelta(days=DATA_DATE.weekday())
    # The shipped registry opts shanhai in (advocate_leaderboard: true), not jiguang.
    opted = rows(engine, "SELECT brand_id, is_leaderboard_opt_in FROM dim_brand ORDER BY brand_id")
    assert opted == [
        {"brand_id": "jiguang", "is_leaderboard_opt_in": False},
        {"brand_id": "shanhai", "is_leaderboard_opt_in": True},
    ]
    assert {r["brand_id"] for r in rows(engine, "SELECT brand_id FROM mart_advocate_leaderboard")} == {
        "shanhai"
    }
    _week_leaderboard(engine, "shanhai", week_start)
    with engine.begin() as conn:
        conn.execute(text("UPDATE dim_brand SET is_leaderboard_opt_in = (brand_id = 'jiguang')"))
    try:
        build_marts(engine)
        assert {r["brand_id"] for r in rows(engine, "SELECT brand_id FROM mart_advocate_leaderboard")} == {
            "jiguang"
        }
        _week_leaderboard(engine, "jiguang", week_start)
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE dim_brand SET is_leaderboard_opt_in = (brand_id = 'shanhai')"))
        build_marts(engine)


def test_the_summary_reads_bci_wci_and_advocacy_from_the_marts(loaded) -> None:
    from shengliang.report import day_summary

    summary = day_summary(loaded.engine, DATA_DATE, "test")
    for row in rows(
        loaded.engine,
        "SELECT m.*, a.display_name FROM mart_account_daily m JOIN dim_account a USING (account_key) "
        "WHERE m.stat_date = :d",
        d=DATA_DATE,
    ):
        line = next(line for line in summary.splitlines() if line.strip().startswith(row["display_name"]))
        if row["platform"] == "weibo" and row["bci"] is None:
            assert "BCI n/a" in line and "without counts" in line
        elif row["platform"] == "weibo":
            assert f"BCI {row['bci']:,.1f}" in line
        elif row["wci"] is None:
            assert "WCI n/a (no articles with figures)" in line
        else:
            assert f"WCI {row['wci']:,.1f}" in line and "counted as 0" in line
    for row in rows(loaded.engine, "SELECT * FROM mart_advocacy_daily WHERE stat_date = :d", d=DATA_DATE):
        assert f"    {row['department']}: {row['active_advocates']} / {row['employees']} (" in summary
    assert "emotional climate of employee posts" in summary and "suppressed" in summary


def test_upgrading_to_0003_keeps_every_row(loaded, tmp_path: Path) -> None:
    """A warehouse loaded before 0003, upgraded: same rows, renamed columns, terms with a platform."""
    from alembic import command

    from warehouse.migrate import _config, head_revision, upgrade

    def snapshot() -> dict[str, list[tuple]]:
        return {
            "accounts": sorted(
                tuple(r.values())
                for r in rows(loaded.engine, "SELECT account_key, account_kind, followers FROM dim_account")
            ),
            "terms": sorted(
                tuple(r.values())
                for r in rows(
                    loaded.engine, "SELECT platform, post_id, term, term_kind, term_count FROM fct_post_term"
                )
            ),
            "account_days": sorted(
                tuple(r.values())
                for r in rows(
                    loaded.engine, "SELECT account_key, stat_date, lost_followers FROM fct_account_daily"
                )
            ),
            "keywords": sorted(
                tuple(r.values())
                for r in rows(
                    loaded.engine, "SELECT platform, post_id, keyword, keyword_rank FROM fct_post_keyword"
                )
            ),
        }

    before = snapshot()
    assert {t[0] for t in before["terms"]} == {"weibo", "wechat"}
    config = _config()
    with loaded.engine.begin() as conn:
        for model in reversed(load_models()):  # marts select from the tables 0003 rebuilds
            conn.execute(text(f"DROP {model.materialized.upper()} IF EXISTS {model.name}"))
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    old = rows(loaded.engine, "SELECT kind, followers_count FROM dim_account")
    assert len(old) == len(before["accounts"])
    assert rows(loaded.engine, "SELECT count(cancelled_followers) AS n FROM fct_account_daily")[0]["n"] > 0
    assert upgrade(loaded.engine) == ("0002", head_revision())
    assert snapshot() == before
    build_marts(loaded.engine)


def test_readers_refuse_marts_never_built_and_bad_outputs(tmp_path: Path, loaded) -> None:
    from sqlalchemy import create_engine

    from shengliang.settings import ConfigError
    from warehouse.marts import require_built

    with fresh_warehouse("duckdb", tmp_path) as url:
        engine = create_engine(url)
        with pytest.raises(MartError, match="are not built yet: run `shengliang marts build`"):
            require_built(engine)
        engine.dispose()
    require_built(loaded.engine)
    kpis = metrics.kpi_rows(loaded.engine, DATA_DATE, period="month")
    # The loaded month goes on after the last loaded day: every row says so.
    assert kpis and all(r["is_period_complete"] is False for r in kpis)
    assert all(r["formula_version"].startswith("BCI") and "WCI V14.2" in r["formula_version"] for r in kpis)
    with pytest.raises(ConfigError, match="must end in .xlsx"):
        metrics.render(kpis, "xlsx", "KPI", tmp_path / "kpi.csv")
    with pytest.raises(ConfigError, match="the folder .*missing does not exist"):
        metrics.render(kpis, "csv", "KPI", tmp_path / "missing" / "kpi.csv")
    table = metrics.render(kpis, "table", "KPI", None)
    assert table and "The period is not over" in table


def test_a_quiet_day_cannot_be_recovered_from_the_weeks_department_cells(loaded) -> None:
    """A day hidden for covering fewer than k employees, in a week whose department cells are all
    shown: the week's other days are withheld too, so cells minus days gives nothing back."""
    engine, day, brand = loaded.engine, DAYS[2], "jiguang"
    before = rows(engine, "SELECT count(*) AS n FROM fct_post")[0]["n"]
    keep = rows(
        engine,
        "SELECT min(p.account_key) AS k FROM fct_post p JOIN dim_account a USING (account_key) "
        "WHERE a.brand_id = :b AND a.account_kind = 'employee' AND p.publish_date = :d",
        b=brand,
        d=day,
    )[0]["k"]
    with engine.begin() as conn:  # that day, only one of the brand's employees posted
        conn.execute(
            text(
                "DELETE FROM fct_post WHERE publish_date = :d AND account_key <> :keep AND account_key IN "
                "(SELECT account_key FROM dim_account WHERE brand_id = :b AND account_kind = 'employee')"
            ),
            {"d": day, "keep": keep, "b": brand},
        )
    try:
        build_marts(engine, privacy_k=2)  # every department cell of the week has 2 or more employees
        week = day - timedelta(days=day.weekday())
        cells = rows(
            engine,
            "SELECT * FROM mart_emotional_climate_weekly WHERE brand_id = :b AND week_start = :w",
            b=brand,
            w=week,
        )
        assert cells and not any(c["is_suppressed"] for c in cells)
        days = [
            r
            for r in rows(
                engine,
                "SELECT * FROM mart_sentiment_daily WHERE brand_id = :b AND account_kind = 'employee'",
                b=brand,
            )
            if 0 <= (r["stat_date"] - week).days < 7
        ]
        quiet = next(r for r in days if r["stat_date"] == day)
        assert quiet["authors"] == 1 and quiet["suppressed_because"] == "fewer than k employees"
        others = [r for r in days if r["stat_date"] != day]
        assert others and all(
            r["suppressed_because"] == "protects a suppressed cell of the week" for r in others
        )
        assert all(r["positive_posts"] is None and r["net_sentiment"] is None for r in days)
    finally:
        jobs.rebuild("weibo", day)  # the day's posts come back from the lake
        build_marts(engine)
    assert rows(engine, "SELECT count(*) AS n FROM fct_post")[0]["n"] == before


def test_inherited_columns_come_from_the_named_model(tmp_path: Path) -> None:
    models = {m.name: m for m in load_models()}
    daily, source = models["mart_account_daily"], models["int_account_period"]
    assert daily.column("bci") == source.column("bci") and "ln(posts + 1)" in str(
        source.column("bci_w1").formula
    )
    header = (
        "/*\nname: {name}\nmaterialized: view\ngrain: one row per x\ndescription: d\n"
        "{extra}columns:\n  {column}: inherit\n*/\nSELECT 1"
    )
    orphan = tmp_path / "orphan.sql"
    orphan.write_text(header.format(name="orphan", extra="", column="bci"), encoding="utf-8")
    with pytest.raises(MartError, match="column bci: 'inherit' needs columns_from"):
        parse_model(orphan)
    orphan.write_text(
        header.format(name="orphan", extra="columns_from: int_account_period\n", column="nonsense"),
        encoding="utf-8",
    )
    for model in models.values():
        (tmp_path / model.path.name).write_text(model.path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(MartError, match="column nonsense: int_account_period has no such column"):
        load_models(tmp_path)
