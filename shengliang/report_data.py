"""The daily report's content for one brand and date, read from the marts only (warehouse/marts/).

Every number the report shows is a `Figure`: its value, how it is displayed, and the mart cell it
came from (table, column and the key of its row). The HTML and the xlsx print figures, the
re-render compares them, and the tests read each one back against its mart cell.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

TREND_DAYS = 30
CLIMATE_WEEKS = 6
GROWTH_POSTS = 3
TOP_ROWS = 10
RISING_TERMS = 10
RISING_TERM_KINDS = ("word", "topic")
RISING_MIN_OCCURRENCES = 2  # a term used once that day is noise, whatever its ratio
# A key figure this far (in %) from its trailing 7-day average is abnormal (the mart leaves the
# average NULL below 3 days of figures). Post and article counts are small numbers that swing by
# half from one day to the next: not flagged.
ABNORMAL_PCT = 50.0
NOT_FLAGGED = {"posts", "articles"}

PLATFORM_LABELS = {"weibo": "微博", "wechat": "微信公众号"}
METRIC_LABELS = {
    "posts": "发博数",
    "engagement": "互动量（当日新博）",
    "engagement_gain": "互动增量（全部跟踪博文）",
    "engagement_rate": "互动率",
    "followers": "粉丝数",
    "bci": "BCI 微博传播指数",
    "articles": "发文数",
    "reads": "阅读数",
    "read_rate": "阅读率",
    "shares": "分享数",
    "wci": "WCI 微信传播指数",
}
WEIBO_METRICS = ("posts", "engagement", "engagement_gain", "engagement_rate", "followers", "bci")
WECHAT_METRICS = ("articles", "reads", "read_rate", "shares", "followers", "wci")
PERCENT_METRICS = {"engagement_rate", "read_rate"}
INDEX_METRICS = {"bci", "wci"}


def _json_safe(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def display_number(value: Any, kind: str = "count") -> str:
    """How the report prints a number: counts with separators, indexes with one decimal, % with two."""
    number = _number(value)
    if number is None:
        return "—"
    if kind == "percent":
        return f"{float(number):,.2f}%"
    if kind == "index":
        return f"{float(number):,.1f}"
    if kind == "change_pct":
        return f"{float(number):+,.1f}%"
    if kind == "change":
        return f"{number:+,}" if isinstance(number, int) else f"{number:+,.2f}"
    if kind == "average":  # an average of counts: one decimal for small numbers only
        return f"{float(number):,.1f}" if abs(float(number)) < 100 else f"{float(number):,.0f}"
    if isinstance(number, int):
        return f"{number:,}"
    return f"{number:,.2f}"


@dataclass(frozen=True)
class Figure:
    """One number of the report and the mart cell it came from."""

    key: str
    label: str
    value: float | int | None
    display: str
    table: str
    column: str
    where: tuple[tuple[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "display": self.display,
            "table": self.table,
            "column": self.column,
            "where": {k: _json_safe(v) for k, v in self.where},
        }


@dataclass
class Figures:
    """The report's figures by key, in the order they were added."""

    by_key: dict[str, Figure] = field(default_factory=dict)

    def add(
        self,
        key: str,
        label: str,
        value: Any,
        table: str,
        column: str,
        where: Mapping[str, Any],
        kind: str = "count",
    ) -> Figure:
        figure = Figure(
            key, label, _number(value), display_number(value, kind), table, column, tuple(where.items())
        )
        self.by_key[key] = figure
        return figure

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {key: figure.to_json() for key, figure in self.by_key.items()}


@dataclass(frozen=True)
class Completeness:
    platform: str
    ran: bool  # a run for the date is in the warehouse
    registered: Figure | None
    read: Figure | None
    reauthorize: Figure | None
    rate_limited: Figure | None
    failed: Figure | None
    without_figures: Figure | None


@dataclass(frozen=True)
class KeyFigure:
    metric: str
    label: str
    value: Figure
    previous: Figure
    change_vs_previous_pct: Figure
    trailing_average: Figure
    change_vs_trailing_pct: Figure
    is_abnormal: bool


@dataclass(frozen=True)
class AccountFigures:
    account_key: str
    platform: str
    display_name: str
    figures: tuple[KeyFigure, ...]


@dataclass(frozen=True)
class ReportData:
    """Everything one brand's report shows for one date."""

    brand_id: str
    brand_name: str
    day: date
    built_at: Any
    privacy_k: int
    formula_versions: tuple[str, ...]
    platforms_registered: tuple[str, ...]
    completeness: tuple[Completeness, ...]
    key_figures: tuple[AccountFigures, ...]
    trends: dict[str, list[dict[str, Any]]]  # platform -> mart_account_daily rows of the brand accounts
    top_posts: list[dict[str, Any]]
    top_articles: list[dict[str, Any]]
    growth: dict[str, list[dict[str, Any]]]  # post_id -> mart_post_growth rows by age
    sentiment_days: list[dict[str, Any]]
    sentiment_today: list[dict[str, Any]]
    advocacy_today: list[dict[str, Any]]
    advocacy_week: list[dict[str, Any]]
    reach_by_day: list[dict[str, Any]]
    cross_department: list[dict[str, Any]]
    climate: list[dict[str, Any]]
    rising_terms: list[dict[str, Any]]
    leaderboard: list[dict[str, Any]]
    is_leaderboard_opt_in: bool
    week_start: date
    figures: Figures

    @property
    def missing_platforms(self) -> list[str]:
        return [c.platform for c in self.completeness if not c.ran]

    def warnings(self) -> list[str]:
        """Completeness and abnormal-figure warnings, in Chinese, most important first."""
        out = []
        for c in self.completeness:
            name = PLATFORM_LABELS[c.platform]
            if not c.ran:
                out.append(f"{name}数据缺失：{self.day} 的采集尚未完成，本报告不含{name}当日数据")
                continue
            for figure, what in (
                (c.reauthorize, "个账号需重新授权"),
                (c.rate_limited, "个账号因限流未读完"),
                (c.failed, "个账号读取失败"),
                (c.without_figures, "个账号当日数据尚未发布或延迟"),
            ):
                if figure is not None and figure.value:
                    out.append(f"{name}：{figure.display} {what}")
        for account in self.key_figures:
            for k in account.figures:
                if k.is_abnormal:
                    out.append(
                        f"异常：{account.display_name} {k.label} {k.value.display}，"
                        f"较7日均值 {k.change_vs_trailing_pct.display}"
                    )
        return out


def _rows(conn: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(text(sql), params)]


def _kind(metric: str) -> str:
    if metric in PERCENT_METRICS:
        return "percent"
    if metric in INDEX_METRICS:
        return "index"
    return "count"


def collect_report(conn: Connection, brand_id: str, day: date) -> ReportData:
    """Read one brand's report for `day` from the marts."""
    brand = _rows(
        conn,
        "SELECT brand_id, brand_name, is_leaderboard_opt_in FROM dim_brand WHERE brand_id = :b",
        b=brand_id,
    )
    if not brand:
        known = [r["brand_id"] for r in _rows(conn, "SELECT brand_id FROM dim_brand ORDER BY brand_id")]
        from shengliang.settings import ConfigError

        raise ConfigError(
            f"brand {brand_id!r} is not in the warehouse (dim_brand). "
            f"Use one of: {', '.join(known) or 'none'}"
        )
    build = _rows(conn, "SELECT built_at, privacy_k, bci_formula, wci_formula FROM mart_build")[0]
    figures = Figures()
    week_start = day - timedelta(days=day.weekday())
    trend_from = day - timedelta(days=TREND_DAYS - 1)
    platforms = tuple(
        r["platform"]
        for r in _rows(
            conn,
            "SELECT DISTINCT platform FROM dim_account WHERE brand_id = :b ORDER BY platform DESC",
            b=brand_id,
        )
    )
    completeness = tuple(_completeness(conn, figures, brand_id, day, p) for p in platforms)
    key_figures = _key_figures(conn, figures, brand_id, day)
    trends = {
        p: _rows(
            conn,
            "SELECT m.stat_date, m.account_key, a.display_name, m.engagement, m.engagement_gain, m.bci, "
            "m.reads, m.wci FROM mart_account_daily m JOIN dim_account a ON a.account_key = m.account_key "
            "WHERE m.brand_id = :b AND m.platform = :p AND m.account_kind = 'brand' "
            "AND m.stat_date BETWEEN :start AND :d ORDER BY m.account_key, m.stat_date",
            b=brand_id,
            p=p,
            start=trend_from,
            d=day,
        )
        for p in platforms
    }
    top = _rows(
        conn,
        "SELECT t.*, a.display_name FROM mart_top_posts_daily t "
        "JOIN dim_account a ON a.account_key = t.account_key "
        "WHERE t.brand_id = :b AND t.stat_date = :d AND t.ranking IN ('engagement', 'reads') "
        "AND t.rank <= :n ORDER BY t.ranking, t.rank",
        b=brand_id,
        d=day,
        n=TOP_ROWS,
    )
    top_posts = [r for r in top if r["ranking"] == "engagement"]
    top_articles = [r for r in top if r["ranking"] == "reads"]
    for r in top_posts:
        where = {"brand_id": brand_id, "stat_date": day, "ranking": "engagement", "rank": r["rank"]}
        figures.add(
            f"top.weibo.{r['rank']}.engagement",
            f"热门微博 {r['rank']} 互动量",
            r["engagement"],
            "mart_top_posts_daily",
            "engagement",
            where,
        )
        figures.add(
            f"top.weibo.{r['rank']}.engagement_gain",
            f"热门微博 {r['rank']} 当日增量",
            r["engagement_gain"],
            "mart_top_posts_daily",
            "engagement_gain",
            where,
        )
    for r in top_articles:
        where = {"brand_id": brand_id, "stat_date": day, "ranking": "reads", "rank": r["rank"]}
        figures.add(
            f"top.wechat.{r['rank']}.reads",
            f"热门文章 {r['rank']} 阅读数",
            r["reads"],
            "mart_top_posts_daily",
            "reads",
            where,
        )
    growth: dict[str, list[dict[str, Any]]] = {}
    for r in top_posts[:GROWTH_POSTS]:
        growth[r["post_id"]] = _rows(
            conn,
            "SELECT age_days, engagement, benchmark_engagement, benchmark_posts FROM mart_post_growth "
            "WHERE post_id = :p AND snapshot_date <= :d ORDER BY age_days",
            p=r["post_id"],
            d=day,
        )
    sentiment_days = _rows(
        conn,
        "SELECT * FROM mart_sentiment_daily WHERE brand_id = :b AND stat_date BETWEEN :start AND :d "
        "ORDER BY account_kind, stat_date",
        b=brand_id,
        start=trend_from,
        d=day,
    )
    sentiment_today = [r for r in sentiment_days if r["stat_date"] == day]
    for r in sentiment_today:
        where = {"brand_id": brand_id, "stat_date": day, "account_kind": r["account_kind"]}
        who = "品牌账号" if r["account_kind"] == "brand" else "员工"
        for column, label in (
            ("posts", "博文"),
            ("positive_posts", "正面"),
            ("neutral_posts", "中性"),
            ("negative_posts", "负面"),
            ("net_sentiment", "净情感"),
        ):
            kind = "average" if column == "net_sentiment" else "count"
            figures.add(
                f"sentiment.{r['account_kind']}.{column}",
                f"{who}{label}",
                r[column],
                "mart_sentiment_daily",
                column,
                where,
                kind,
            )
    advocacy_today = _advocacy(conn, figures, "mart_advocacy_daily", "advocacy.day", brand_id, day)
    advocacy_week = _advocacy(conn, figures, "mart_advocacy_weekly", "advocacy.week", brand_id, week_start)
    reach_by_day = _rows(
        conn,
        "SELECT stat_date, department, reach_via_employees, employee_reposts FROM mart_advocacy_daily "
        "WHERE brand_id = :b AND stat_date BETWEEN :start AND :d ORDER BY stat_date, department",
        b=brand_id,
        start=trend_from,
        d=day,
    )
    cross = _rows(
        conn,
        "SELECT * FROM mart_cross_department WHERE brand_id = :b AND stat_date = :d "
        "ORDER BY reposting_department, original_group",
        b=brand_id,
        d=day,
    )
    for r in cross:
        where = {
            "brand_id": brand_id,
            "stat_date": day,
            "reposting_department": r["reposting_department"],
            "original_group": r["original_group"],
        }
        figures.add(
            f"cross.{r['reposting_department']}.{r['original_group']}",
            f"{r['reposting_department']} 转发 {r['original_group']}",
            r["reposts"],
            "mart_cross_department",
            "reposts",
            where,
        )
    climate = _rows(
        conn,
        "SELECT * FROM mart_emotional_climate_weekly "
        "WHERE brand_id = :b AND week_start BETWEEN :start AND :w "
        "ORDER BY department, week_start",
        b=brand_id,
        start=week_start - timedelta(weeks=CLIMATE_WEEKS - 1),
        w=week_start,
    )
    for r in climate:
        if r["week_start"] != week_start:
            continue
        where = {"brand_id": brand_id, "department": r["department"], "week_start": week_start}
        figures.add(
            f"climate.{r['department']}.employees_posting",
            f"{r['department']} 发博员工",
            r["employees_posting"],
            "mart_emotional_climate_weekly",
            "employees_posting",
            where,
        )
        figures.add(
            f"climate.{r['department']}.net_sentiment",
            f"{r['department']} 净情感",
            r["net_sentiment"],
            "mart_emotional_climate_weekly",
            "net_sentiment",
            where,
            "average",
        )
    kinds = ", ".join(f"'{k}'" for k in RISING_TERM_KINDS)
    rising = _rows(
        conn,
        "SELECT * FROM mart_rising_terms WHERE brand_id = :b AND stat_date = :d "
        f"AND term_kind IN ({kinds}) AND occurrences >= :least "
        "ORDER BY rise_ratio DESC, occurrences DESC, term LIMIT :n",
        b=brand_id,
        d=day,
        n=RISING_TERMS,
        least=RISING_MIN_OCCURRENCES,
    )
    for position, r in enumerate(rising, start=1):
        where = {
            "brand_id": brand_id,
            "stat_date": day,
            "platform": r["platform"],
            "account_kind": r["account_kind"],
            "term": r["term"],
            "term_kind": r["term_kind"],
        }
        figures.add(
            f"rising.{position}.occurrences",
            f"上升词 {r['term']} 次数",
            r["occurrences"],
            "mart_rising_terms",
            "occurrences",
            where,
        )
        figures.add(
            f"rising.{position}.rise_ratio",
            f"上升词 {r['term']} 上升倍数",
            r["rise_ratio"],
            "mart_rising_terms",
            "rise_ratio",
            where,
            "average",
        )
    opted_in = bool(brand[0]["is_leaderboard_opt_in"])
    leaderboard = _rows(
        conn,
        "SELECT * FROM mart_advocate_leaderboard "
        "WHERE brand_id = :b AND period = 'week' AND period_start = :w "
        "AND leaderboard_rank <= :n ORDER BY leaderboard_rank",
        b=brand_id,
        w=week_start,
        n=TOP_ROWS,
    )
    for r in leaderboard:
        where = {"account_key": r["account_key"], "period": "week", "period_start": week_start}
        figures.add(
            f"leaderboard.{r['leaderboard_rank']}.employee_reposts",
            f"排行 {r['leaderboard_rank']} 转发",
            r["employee_reposts"],
            "mart_advocate_leaderboard",
            "employee_reposts",
            where,
        )
        figures.add(
            f"leaderboard.{r['leaderboard_rank']}.reach_via_employee",
            f"排行 {r['leaderboard_rank']} 触达",
            r["reach_via_employee"],
            "mart_advocate_leaderboard",
            "reach_via_employee",
            where,
        )
    return ReportData(
        brand_id=brand_id,
        brand_name=brand[0]["brand_name"],
        day=day,
        built_at=build["built_at"],
        privacy_k=int(build["privacy_k"]),
        formula_versions=(build["bci_formula"], build["wci_formula"]),
        platforms_registered=platforms,
        completeness=completeness,
        key_figures=key_figures,
        trends=trends,
        top_posts=top_posts,
        top_articles=top_articles,
        growth=growth,
        sentiment_days=sentiment_days,
        sentiment_today=sentiment_today,
        advocacy_today=advocacy_today,
        advocacy_week=advocacy_week,
        reach_by_day=reach_by_day,
        cross_department=cross,
        climate=climate,
        rising_terms=rising,
        leaderboard=leaderboard,
        is_leaderboard_opt_in=opted_in,
        week_start=week_start,
        figures=figures,
    )


def _completeness(
    conn: Connection, figures: Figures, brand_id: str, day: date, platform: str
) -> Completeness:
    rows = _rows(
        conn,
        "SELECT * FROM mart_collection_daily WHERE brand_id = :b AND platform = :p AND stat_date = :d",
        b=brand_id,
        p=platform,
        d=day,
    )
    if not rows:
        return Completeness(platform, False, None, None, None, None, None, None)
    row = rows[0]
    where = {"brand_id": brand_id, "platform": platform, "stat_date": day}
    name = PLATFORM_LABELS[platform]

    def add(column: str, label: str) -> Figure:
        return figures.add(
            f"completeness.{platform}.{column}",
            f"{name}{label}",
            row[column],
            "mart_collection_daily",
            column,
            where,
        )

    return Completeness(
        platform,
        True,
        add("accounts_registered", "：注册账号"),
        add("accounts_read", "：已读取账号"),
        add("accounts_reauthorize", "：需重新授权"),
        add("accounts_rate_limited", "：限流"),
        add("accounts_failed", "：失败"),
        add("accounts_without_figures", "：数据缺失或延迟"),
    )


def _key_figure(figures: Figures, row: dict[str, Any], day: date) -> KeyFigure:
    metric = row["metric"]
    where = {"account_key": row["account_key"], "stat_date": day, "metric": metric}
    label = METRIC_LABELS[metric]
    kind = _kind(metric)

    def add(column: str, suffix: str, shown: str) -> Figure:
        return figures.add(
            f"key.{row['account_key']}.{metric}.{column}",
            f"{row['display_name']} {label}{suffix}",
            row[column],
            "mart_key_figures_daily",
            column,
            where,
            shown,
        )

    change_trailing = add("change_vs_trailing_7d_pct", " 较7日均值", "change_pct")
    return KeyFigure(
        metric=metric,
        label=label,
        value=add("value", "", kind),
        previous=add("previous_value", " 前一日", kind),
        change_vs_previous_pct=add("change_vs_previous_pct", " 较前日", "change_pct"),
        trailing_average=add("trailing_7d_average", " 7日均值", "average" if kind == "count" else kind),
        change_vs_trailing_pct=change_trailing,
        is_abnormal=(
            metric not in NOT_FLAGGED
            and change_trailing.value is not None
            and abs(float(change_trailing.value)) >= ABNORMAL_PCT
        ),
    )


def _key_figures(conn: Connection, figures: Figures, brand_id: str, day: date) -> tuple[AccountFigures, ...]:
    rows = _rows(
        conn,
        "SELECT k.*, a.display_name FROM mart_key_figures_daily k "
        "JOIN dim_account a ON a.account_key = k.account_key "
        "WHERE k.brand_id = :b AND k.stat_date = :d ORDER BY k.platform DESC, k.account_key",
        b=brand_id,
        d=day,
    )
    order = {m: n for n, m in enumerate(WEIBO_METRICS + WECHAT_METRICS)}
    by_account: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_account.setdefault(r["account_key"], []).append(r)
    accounts = []
    for account_key, account_rows in by_account.items():
        account_rows.sort(key=lambda r: (order[r["metric"]], r["metric"]))
        accounts.append(
            AccountFigures(
                account_key,
                account_rows[0]["platform"],
                account_rows[0]["display_name"],
                tuple(_key_figure(figures, r, day) for r in account_rows),
            )
        )
    return tuple(accounts)


def _advocacy(
    conn: Connection, figures: Figures, table: str, prefix: str, brand_id: str, start: date
) -> list[dict[str, Any]]:
    rows = _rows(
        conn,
        f"SELECT * FROM {table} WHERE brand_id = :b AND stat_date = :d ORDER BY department",
        b=brand_id,
        d=start,
    )
    for r in rows:
        where = {"brand_id": brand_id, "department": r["department"], "stat_date": start}
        for column, label, kind in (
            ("employees", "员工", "count"),
            ("active_advocates", "活跃员工", "count"),
            ("active_advocate_rate", "参与率", "percent"),
            ("employee_reposts", "转发品牌博文", "count"),
            ("reach_via_employees", "员工触达", "count"),
        ):
            figures.add(
                f"{prefix}.{r['department']}.{column}",
                f"{r['department']} {label}",
                r[column],
                table,
                column,
                where,
                kind,
            )
    return rows


def figure_changes(
    previous: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The figures whose value differs between two renders of the same date (added and removed too)."""
    changes = []
    for key in list(current) + [k for k in previous if k not in current]:
        old = previous.get(key)
        new = current.get(key)
        old_value = None if old is None else old.get("value")
        new_value = None if new is None else new.get("value")
        if old is not None and new is not None and _same(old_value, new_value):
            continue
        if old is None and new_value is None or new is None and old_value is None:
            continue
        changes.append(
            {
                "key": key,
                "label": (new or old or {}).get("label", key),
                "before": "—" if old is None else old.get("display", "—"),
                "after": "—" if new is None else new.get("display", "—"),
            }
        )
    return changes


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


def figures_json(figures: Figures) -> str:
    return json.dumps(figures.to_json(), ensure_ascii=False, indent=1, sort_keys=False)
