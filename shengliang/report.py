"""What landed: the summary the demo prints and analysts get with `shengliang summary`, read from the
marts (warehouse/marts/) only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text


def _rows(conn: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(text(sql), params)]


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.{digits}f}"


def _excerpt(value: str | None, width: int = 32) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= width else value[: width - 1] + "…"


def has_data(engine: Engine, data_date: date) -> bool:
    """Whether the marts hold any account row or run for the date."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM mart_account_daily WHERE stat_date = :d) "
                "+ (SELECT count(*) FROM mart_collection_daily WHERE stat_date = :d)"
            ),
            {"d": data_date},
        ).scalar_one()
    return bool(found)


def _pct(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{float(value):,.{digits}f}%"


def _signed(value: Any) -> str:
    return "n/a" if value is None else f"{value:+,}"


def day_summary(engine: Engine, data_date: date, warehouse: str) -> str:
    """Per brand: collection, every account's KPIs with BCI or WCI, top posts, sentiment, advocacy per
    department and the week's emotional climate; then the terms rising fastest."""
    week_start = data_date - timedelta(days=data_date.weekday())
    with engine.connect() as conn:
        brands = _rows(conn, "SELECT brand_id, brand_name FROM dim_brand ORDER BY brand_id")
        built = _rows(conn, "SELECT built_at, privacy_k, bci_formula, wci_formula FROM mart_build")
        lines = [f"Shengliang summary for {data_date} (Beijing time), read from the marts"]
        if built:
            b = built[0]
            lines.append(
                f"  marts built {b['built_at']:%Y-%m-%d %H:%M} UTC; privacy threshold k = {b['privacy_k']}"
            )
        for brand in brands:
            lines += [""] + _brand_section(conn, brand, data_date, week_start)
        # mart_rising_terms, not v_rising_terms: it leaves out posts naming a confidential term.
        rising = _rows(
            conn,
            "SELECT brand_id, account_kind, term, occurrences, rise_ratio FROM mart_rising_terms "
            "WHERE stat_date = :d AND platform = 'weibo' AND term_kind = 'word' AND occurrences >= 2 "
            "ORDER BY rise_ratio DESC, occurrences DESC, term LIMIT 5",
            d=data_date,
        )
    lines += ["", "Words rising fastest on Weibo against their 7-day baseline (mart_rising_terms):"]
    lines += [
        f"  {r['term']} [{r['brand_id']} {r['account_kind']}] used {r['occurrences']}x, "
        f"{float(r['rise_ratio']):.1f}x the baseline"
        for r in rising
    ] or ["  (none)"]
    lines.append(f"warehouse: {warehouse}")
    if built:
        lines.append(f"formulas: {built[0]['bci_formula']}; {built[0]['wci_formula']}")
    return "\n".join(lines)


def _brand_section(conn: Connection, brand: dict[str, Any], day: date, week_start: date) -> list[str]:
    brand_id = brand["brand_id"]
    lines = [f"== {brand['brand_name']} ({brand_id}) =="]
    for c in _rows(
        conn,
        "SELECT * FROM mart_collection_daily WHERE brand_id = :b AND stat_date = :d ORDER BY platform",
        b=brand_id,
        d=day,
    ):
        problems = [
            f"{c[key]} {label}"
            for key, label in (
                ("accounts_reauthorize", "must re-authorize"),
                ("accounts_rate_limited", "rate-limited"),
                ("accounts_failed", "failed"),
            )
            if c[key]
        ]
        lines.append(
            f"  {c['platform']}: {c['accounts_read']} of {c['accounts_registered']} accounts read, "
            f"{c['api_calls']} API calls" + (f" ({', '.join(problems)})" if problems else "")
        )
    accounts = _rows(
        conn,
        "SELECT m.*, a.display_name FROM mart_account_daily m JOIN dim_account a USING (account_key) "
        "WHERE m.brand_id = :b AND m.stat_date = :d ORDER BY m.platform DESC, m.account_kind, m.account_key",
        b=brand_id,
        d=day,
    )
    weibo = [a for a in accounts if a["platform"] == "weibo"]
    wechat = [a for a in accounts if a["platform"] == "wechat"]
    if weibo:
        lines.append(
            "  Weibo accounts: posts published that day, their engagement, engagement gained that day by "
            "every tracked post, engagement rate per post, followers (change), BCI"
        )
        for a in weibo:
            who = a["display_name"] + (f" [{a['department']}]" if a["department"] else " [brand]")
            late = (
                f" ({a['posts_without_counts']} read later, without counts: no engagement or BCI)"
                if a["posts_without_counts"]
                else ""
            )
            lines.append(
                f"    {who}: {a['posts']} posts, engagement {_n(a['engagement'])}, "
                f"gain {_n(a['engagement_gain'])}, rate {_pct(a['engagement_rate'])}, "
                f"followers {_n(a['followers'])} ({_signed(a['followers_change'])}), "
                f"BCI {_n(a['bci'], 1)}{late}"
            )
    if wechat:
        lines.append(
            "  WeChat accounts: articles published that day, the account's reads that day (all articles), "
            "read rate, followers (new/lost), WCI of that day's articles"
        )
        for a in wechat:
            note = " (在看 and likes not collected: counted as 0)" if a["is_wci_zl_missing"] else ""
            if a["wci"] is None:
                note = " (no articles with figures)"
            moves = (
                f"+{a['new_followers']:,}/-{a['lost_followers']:,}"
                if a["new_followers"] is not None and a["lost_followers"] is not None
                else "n/a"
            )
            lines.append(
                f"    {a['display_name']}: {a['articles']} articles, {_n(a['reads'])} reads, "
                f"read rate {_pct(a['read_rate'])}, followers {_n(a['followers'])} ({moves}), "
                f"WCI {_n(a['wci'], 1)}{note}"
            )
    top = _rows(
        conn,
        "SELECT t.*, a.display_name FROM mart_top_posts_daily t JOIN dim_account a USING (account_key) "
        "WHERE t.brand_id = :b AND t.stat_date = :d AND t.ranking = 'engagement' AND t.rank <= 3 "
        "ORDER BY t.rank",
        b=brand_id,
        d=day,
    )
    if top:
        lines.append("  top posts tracked that day, by engagement to date (published on):")
        lines += [
            f"    {t['rank']}. {_n(t['engagement'])}  {t['display_name']} ({t['publish_date']:%m-%d})  "
            + ("(names a confidential term: for compliance only)" if t["is_flagged_confidential"] else "")
            + _excerpt(t["post_text"])
            for t in top
        ]
    sentiment = _rows(
        conn,
        "SELECT * FROM mart_sentiment_daily WHERE brand_id = :b AND stat_date = :d ORDER BY account_kind",
        b=brand_id,
        d=day,
    )
    for s in sentiment:
        if s["is_suppressed"]:
            lines.append(
                f"  sentiment of {s['account_kind']} posts: suppressed ({s['suppressed_because']}; "
                f"{s['authors']} authors)"
            )
        else:
            lines.append(
                f"  sentiment of {s['account_kind']} posts: {s['positive_posts']} positive, "
                f"{s['neutral_posts']} "
                f"neutral, {s['negative_posts']} negative, net {_n(s['net_sentiment'], 0)}"
            )
    lines += _advocacy_lines(conn, brand_id, day, week_start)
    return lines


def _advocacy_lines(conn: Connection, brand_id: str, day: date, week_start: date) -> list[str]:
    lines: list[str] = []
    week_note = "" if day == week_start + timedelta(days=6) else f", through {day}: the week is not over"
    periods = (
        (f"on {day}", "mart_advocacy_daily", day),
        (f"in the week from {week_start}{week_note}", "mart_advocacy_weekly", week_start),
    )
    for label, view, start in periods:
        rows = _rows(
            conn,
            f"SELECT * FROM {view} WHERE brand_id = :b AND stat_date = :d ORDER BY department",
            b=brand_id,
            d=start,
        )
        if not rows:
            continue
        lines.append(
            f"  advocacy {label}: department: active advocates / employees (rate), "
            "reposts of brand posts, reach via employees (upper bound: audiences overlap)"
        )
        lines += _department_lines(rows)
    climate = _rows(
        conn,
        "SELECT * FROM mart_emotional_climate_weekly WHERE brand_id = :b AND week_start = :w "
        "ORDER BY department",
        b=brand_id,
        w=week_start,
    )
    if climate:
        lines.append(
            f"  emotional climate of employee posts in the week from {week_start}{week_note} "
            "(net sentiment, neutral excluded; share naming a confidential term):"
        )
        for c in climate:
            if c["is_suppressed"]:
                lines.append(
                    f"    {c['department']}: suppressed ({c['employees_posting']} employees posting, "
                    f"fewer than k = {c['privacy_k']})"
                )
            else:
                lines.append(
                    f"    {c['department']}: net {_n(c['net_sentiment'], 0)}, "
                    f"{_n(c['confidential_share'], 1)}% of {c['posts']} posts name a confidential term"
                )
    return lines


def _department_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [
        f"    {r['department']}: {r['active_advocates']} / {r['employees']} "
        f"({_n(r['active_advocate_rate'], 0)}%), "
        f"{r['employee_reposts']} reposts, reach {_n(r['reach_via_employees'])}"
        for r in rows
    ]
