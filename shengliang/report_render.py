"""The daily report's outputs: charts, the self-contained HTML, the xlsx and the figures file.

`render_brand_report` turns a `ReportData` into files under `data/reports/<date>/`. A date already
reported keeps its files: the new render is written beside them (`<brand>.r2.html`, ...) and lists
the figures that changed since the latest earlier render.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from shengliang import charts
from shengliang.report_config import COMPLIANCE, SECTIONS
from shengliang.report_data import (
    METRIC_LABELS,
    PLATFORM_LABELS,
    Figure,
    ReportData,
    display_number,
    figure_changes,
    figures_json,
)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
COMPLIANCE_MARKER = "<!--compliance-section-->"
KIND_LABELS = {"brand": "品牌账号", "employee": "员工"}
SUPPRESSED_BECAUSE = {
    "fewer than k employees": "已隐藏：发博员工少于 {k} 人",
    "protects a suppressed cell of the week": "已隐藏：保护同周已隐藏的单元格",
}
# In place of an employee post that names a confidential term (its text goes to compliance only).
CONFIDENTIAL_PLACEHOLDER = "（含涉密词，内容仅发送给合规收件人）"
_DATA_IMAGE = re.compile(
    r'<img data-chart="(?P<key>[a-z0-9_]+)" src="data:image/png;base64,(?P<data>[A-Za-z0-9+/=]+)"'
)
_REVISION = re.compile(r"^(?P<brand>.+?)(?:\.r(?P<n>\d+))?\.figures\.json$")

# Footnotes: each figure's definition in Chinese, for the mart column it comes from (the column must
# exist in that mart's header: docs/warehouse.md has the full English definitions).
FOOTNOTES = (
    (
        "mart_account_daily",
        "engagement",
        "互动量（当日新博）",
        "当日发布的博文在当日快照时的转发 + 评论 + 点赞",
    ),
    (
        "mart_account_daily",
        "engagement_gain",
        "互动增量",
        "所有跟踪中的博文（发布后 7 天内）当日新增的转评赞之和",
    ),
    (
        "mart_account_daily",
        "engagement_rate",
        "互动率",
        "当日新博的互动量 ÷ 作者首次读取时的粉丝数 × 100%（按博文计）",
    ),
    (
        "mart_account_daily",
        "bci",
        "BCI 微博传播指数",
        "(0.2 W1 + 0.8 W2) × 160；W1 = ln(发博数 + 1)，"
        "W2 = 0.4 ln(转发 + 1) + 0.4 ln(评论 + 1) + 0.2 ln(点赞 + 1)",
    ),
    ("mart_account_daily", "reads", "阅读数", "公众号当日全部文章的阅读次数（getuserread）"),
    ("mart_account_daily", "read_rate", "阅读率", "当日阅读人数 ÷ 当日粉丝数 × 100%"),
    ("mart_account_daily", "shares", "分享数", "公众号当日全部文章的分享次数（getusershare）"),
    (
        "mart_account_daily",
        "wci",
        "WCI 微信传播指数",
        "(0.6 O + 0.2 A + 0.1 H + 0.1 P)² × 1.2 × 10，按当日文章的阅读、在看、点赞、分享计算；"
        "在看与点赞尚未采集时按 0 计",
    ),
    (
        "mart_key_figures_daily",
        "trailing_7d_average",
        "7日均值",
        "当日之前 7 天中有数据各天的平均值；少于 3 天有数据时不显示",
    ),
    (
        "mart_post_growth",
        "benchmark_engagement",
        "账号基准",
        "同账号在该博文发布前 90 天内发布的博文，在相同发布天数时互动量的中位数",
    ),
    (
        "mart_sentiment_daily",
        "net_sentiment",
        "净情感",
        "（正面 − 负面）÷（正面 + 负面）× 100，中性博文不计入（neutral excluded）",
    ),
    ("mart_advocacy_daily", "active_advocate_rate", "参与率", "当期转发过品牌博文的员工 ÷ 部门员工数 × 100%"),
    (
        "mart_advocacy_daily",
        "reach_via_employees",
        "员工触达",
        "转发员工在转发时的粉丝数之和（每位员工每条品牌博文计一次），"
        "为上限值：粉丝之间有重叠（reach is an upper bound）",
    ),
    (
        "mart_rising_terms",
        "rise_ratio",
        "上升倍数",
        "（当日次数 + 1）÷（前 7 天日均次数 + 1）；只列当日出现至少 2 次的词",
    ),
)


@dataclass(frozen=True)
class RenderedReport:
    brand_id: str
    day: date
    html_path: Path
    xlsx_path: Path
    figures_path: Path
    revision: int
    changes: list[dict[str, Any]]
    previous_html: Path | None
    warnings: list[str]
    missing_platforms: list[str]
    digest_figures: list[tuple[str, str, str | None]]  # label, value, change
    top_post: tuple[str, str] | None
    is_new: bool = True  # False: nothing changed since this revision, which was kept as it was

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (an Airflow XCom between the render and deliver tasks)."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for name in ("html_path", "xlsx_path", "figures_path", "previous_html"):
            out[name] = None if out[name] is None else str(out[name])
        out["day"] = self.day.isoformat()
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RenderedReport:
        values = dict(raw)
        for name in ("html_path", "xlsx_path", "figures_path", "previous_html"):
            values[name] = None if values[name] is None else Path(values[name])
        values["day"] = date.fromisoformat(values["day"])
        values["digest_figures"] = [tuple(f) for f in values["digest_figures"]]
        values["top_post"] = None if values["top_post"] is None else tuple(values["top_post"])
        return cls(**values)


def report_dir(data_dir: Path, day: date) -> Path:
    return data_dir / "reports" / day.isoformat()


def _revisions(folder: Path, brand_id: str) -> list[tuple[int, Path]]:
    found = []
    for path in folder.glob(f"{brand_id}*.figures.json"):
        match = _REVISION.match(path.name)
        if match and match["brand"] == brand_id:
            found.append((int(match["n"] or 1), path))
    return sorted(found)


def _stem(brand_id: str, revision: int) -> str:
    return brand_id if revision == 1 else f"{brand_id}.r{revision}"


# --- charts ---------------------------------------------------------------------------------------


def _series(rows: Sequence[dict[str, Any]], days: Sequence[date], column: str) -> list[float | None]:
    by_day = {r["stat_date"]: r[column] for r in rows}
    return [None if by_day.get(d) is None else float(by_day[d]) for d in days]


def _per_account(
    rows: Sequence[dict[str, Any]], days: Sequence[date], column: str, label: str
) -> dict[str, list[float | None]]:
    """One series per brand account: "<account> <label>" -> the column by day."""
    accounts = sorted({(r["account_key"], r["display_name"]) for r in rows})
    return {
        f"{name} {label}": _series([r for r in rows if r["account_key"] == key], days, column)
        for key, name in accounts
    }


# The 30-day trend of each platform: (column, label) on the left axis, then the right axis.
TREND_SERIES = {
    "weibo": (("engagement_gain", "互动增量"), ("bci", "BCI")),
    "wechat": (("reads", "阅读数"), ("wci", "WCI")),
}


def build_charts(data: ReportData, sections: Sequence[str]) -> list[charts.Chart]:
    days = [data.day - timedelta(days=n) for n in range(29, -1, -1)]
    out: list[charts.Chart] = []
    if "trends" in sections:
        for platform in data.platforms_registered:
            rows = data.trends.get(platform, [])
            (left_column, left_label), (right_column, right_label) = TREND_SERIES[platform]

            name = PLATFORM_LABELS[platform]
            out.append(
                charts.line_chart(
                    f"trend_{platform}",
                    f"{name} 近30日{left_label}与 {right_label}",
                    days,
                    _per_account(rows, days, left_column, left_label),
                    left_label,
                    _per_account(rows, days, right_column, right_label),
                    right_label,
                    alt=f"{name}品牌账号近30日每日{left_label}（左轴）与 {right_label}（右轴）",
                )
            )
    if "growth" in sections and data.growth:
        ages = sorted({r["age_days"] for rows in data.growth.values() for r in rows})
        series: dict[str, list[float | None]] = {}
        dashed = []
        names = {p["post_id"]: f"第{p['rank']}名" for p in data.top_posts}
        for post_id, rows in data.growth.items():
            by_age = {r["age_days"]: r for r in rows}
            label = names.get(post_id, post_id)
            series[f"{label} 互动量"] = [
                None if a not in by_age else float(by_age[a]["engagement"]) for a in ages
            ]
            benchmark = [
                None
                if a not in by_age or by_age[a]["benchmark_engagement"] is None
                else float(by_age[a]["benchmark_engagement"])
                for a in ages
            ]
            if any(v is not None for v in benchmark):  # no 90-day history yet: no benchmark line
                series[f"{label} 账号基准"] = benchmark
                dashed.append(f"{label} 账号基准")
        out.append(
            charts.line_chart(
                "growth",
                "今日热门微博的增长曲线与账号基准",
                ages,
                series,
                "互动量",
                dashed=dashed,
                x_label="发布后天数",
                alt="今日前三热门微博按发布后天数的互动量，虚线为账号同龄博文中位数基准",
            )
        )
    if "sentiment" in sections:
        for kind, who in (("brand", "品牌账号"), ("employee", "员工")):
            rows = [r for r in data.sentiment_days if r["account_kind"] == kind]
            if not rows and kind == "employee":
                continue
            by_day = {r["stat_date"]: r for r in rows}
            stacks = {
                label: [
                    None if d not in by_day or by_day[d][col] is None else float(by_day[d][col]) for d in days
                ]
                for col, label in (
                    ("positive_posts", "正面"),
                    ("neutral_posts", "中性"),
                    ("negative_posts", "负面"),
                )
            }
            masked = [bool(by_day[d]["is_suppressed"]) if d in by_day else False for d in days]
            net = [
                None
                if d not in by_day or by_day[d]["net_sentiment"] is None
                else float(by_day[d]["net_sentiment"])
                for d in days
            ]
            out.append(
                charts.stacked_bar_chart(
                    f"sentiment_{kind}",
                    f"{who}博文情感（近30日）",
                    days,
                    stacks,
                    "博文数",
                    masked=masked,
                    masked_label="已隐藏（隐私门槛）",
                    line=("净情感", net),
                    line_label="净情感",
                    alt=f"{who}每日正面、中性、负面博文数与净情感；灰色斜线为按隐私门槛隐藏的日期",
                )
            )
    if "advocacy" in sections:
        departments = sorted(
            {r["department"] for r in data.advocacy_today} | {r["department"] for r in data.advocacy_week}
        )
        if departments:
            today = {r["department"]: r for r in data.advocacy_today}
            week = {r["department"]: r for r in data.advocacy_week}

            def rate(rows: dict[str, dict[str, Any]], d: str) -> float | None:
                value = rows.get(d, {}).get("active_advocate_rate")
                return None if value is None else float(value)

            out.append(
                charts.bar_chart(
                    "advocacy_participation",
                    "各部门员工参与率",
                    departments,
                    {
                        "当日": [rate(today, d) for d in departments],
                        "本周": [rate(week, d) for d in departments],
                    },
                    "参与率 %",
                    value_format="{:.0f}%",
                    alt="各部门转发品牌博文的员工占比，当日与本周",
                )
            )
        reach_departments = sorted({r["department"] for r in data.reach_by_day})
        if reach_departments:
            reach = {
                d: _series(
                    [r for r in data.reach_by_day if r["department"] == d], days, "reach_via_employees"
                )
                for d in reach_departments
            }
            out.append(
                charts.line_chart(
                    "advocacy_reach",
                    "员工触达（近30日，上限值）",
                    days,
                    reach,
                    "触达粉丝数",
                    alt="各部门员工转发品牌博文触达的粉丝数上限，近30日",
                )
            )
        if data.cross_department:
            rows_ = sorted({r["reposting_department"] for r in data.cross_department})
            cols = sorted({r["original_group"] for r in data.cross_department})
            cell = {
                (r["reposting_department"], r["original_group"]): float(r["reposts"])
                for r in data.cross_department
            }
            out.append(
                charts.heatmap_chart(
                    "cross_department",
                    "跨部门转发（当日，行：转发部门，列：原作者）",
                    rows_,
                    cols,
                    [[cell.get((a, b)) for b in cols] for a in rows_],
                    alt="当日各部门员工转发品牌账号与其他部门同事博文的次数",
                )
            )
    if "climate" in sections and data.climate:
        weeks = sorted({r["week_start"] for r in data.climate})
        departments = sorted({r["department"] for r in data.climate})
        by = {(r["department"], r["week_start"]): r for r in data.climate}
        values = [
            [
                None
                if (d, w) not in by or by[(d, w)]["net_sentiment"] is None
                else float(by[(d, w)]["net_sentiment"])
                for w in weeks
            ]
            for d in departments
        ]
        masked_cells = [
            [bool(by[(d, w)]["is_suppressed"]) if (d, w) in by else False for w in weeks] for d in departments
        ]
        out.append(
            charts.heatmap_chart(
                "climate",
                "各部门情绪氛围（净情感，按周）",
                departments,
                [f"{w:%m-%d}周" for w in weeks],
                values,
                masked=masked_cells,
                masked_label=f"已隐藏<{data.privacy_k}人",
                vmin=-100,
                vmax=100,
                diverging=True,
                alt="各部门员工博文按周的净情感；灰色为人数少于隐私门槛而隐藏的单元格",
            )
        )
    if "rising_terms" in sections and data.rising_terms:
        terms = [r["term"] for r in data.rising_terms]
        out.append(
            charts.bar_chart(
                "rising_terms",
                "上升最快的词（较前7日基线）",
                terms,
                {"上升倍数": [float(r["rise_ratio"]) for r in data.rising_terms]},
                "上升倍数",
                horizontal=True,
                value_format="{:.1f}×",
                alt="当日用词较前7日日均的上升倍数",
            )
        )
    return out


# --- HTML -----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["excerpt"] = _excerpt
    return env


def _excerpt(value: str | None, width: int = 60) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= width else value[: width - 1] + "…"


@lru_cache(maxsize=1)
def _footnotes() -> tuple[dict[str, str], ...]:
    """FOOTNOTES, once checked against the mart headers (a footnote whose column is gone fails)."""
    from warehouse.marts import load_models

    models = {m.name: m for m in load_models()}
    for model, column, _, _ in FOOTNOTES:
        models[model].column(column)
    return tuple({"label": label, "description": text} for _, _, label, text in FOOTNOTES)


def render_html(
    data: ReportData,
    chart_list: Sequence[charts.Chart],
    sections: Sequence[str],
    changes: list[dict[str, Any]] | None,
    revision: int,
) -> str:
    template = _environment().get_template("daily_report.html")

    def fig(figure: Figure | None) -> jinja2.runtime.Markup:
        if figure is None:
            return jinja2.utils.markupsafe.Markup('<span class="na">—</span>')
        return jinja2.utils.markupsafe.Markup('<span class="fig" data-figure="{}">{}</span>').format(
            figure.key, figure.display
        )

    def image(chart: charts.Chart) -> jinja2.runtime.Markup:
        data_uri = base64.b64encode(chart.png).decode("ascii")
        return jinja2.utils.markupsafe.Markup(
            '<img data-chart="{}" src="data:image/png;base64,{}" width="{}" height="{}" alt="{}">'
        ).format(chart.key, data_uri, chart.width_px, chart.height_px, chart.alt)

    return template.render(
        data=data,
        sections=set(sections),
        charts={c.key: c for c in chart_list},
        changes=changes,
        revision=revision,
        warnings=data.warnings(),
        fig=fig,
        image=image,
        figures=data.figures.by_key,
        platform_labels=PLATFORM_LABELS,
        metric_labels=METRIC_LABELS,
        footnotes=_footnotes(),
        compliance_marker=jinja2.utils.markupsafe.Markup(COMPLIANCE_MARKER),
        confidential_placeholder=CONFIDENTIAL_PLACEHOLDER,
        built_at_beijing=_beijing(data.built_at),
        all_sections=SECTIONS,
    )


def _beijing(moment: Any) -> str:
    """mart_build.built_at is UTC without a zone."""
    from datetime import UTC, datetime

    from shengliang.settings import BEIJING

    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    return str(moment)


def email_variant(html: str) -> tuple[str, dict[str, bytes]]:
    """The report HTML for an e-mail body: each embedded chart becomes an inline image (cid:)."""
    images: dict[str, bytes] = {}

    def swap(match: re.Match[str]) -> str:
        name = f"{match['key']}.png"
        images[name] = base64.b64decode(match["data"])
        return f'<img data-chart="{match["key"]}" src="cid:{name}"'

    return _DATA_IMAGE.sub(swap, html), images


# --- xlsx -----------------------------------------------------------------------------------------


def _display_width(value: Any) -> float:
    text = value.display if isinstance(value, Figure) else str(value if value is not None else "")
    return sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in text)  # CJK characters are twice as wide


def _sheet(book: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """One sheet: a bold frozen header, figures as numbers (2 decimals where fractional), links as
    hyperlinks, columns wide enough for Chinese headers."""
    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([v.value if isinstance(v, Figure) else v for v in row])
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(cell.value, float):
                cell.number_format = "#,##0.00"
            elif isinstance(cell.value, int) and not isinstance(cell.value, bool):
                cell.number_format = "#,##0"
            elif isinstance(value, str) and value.startswith(("https://", "http://")):
                cell.hyperlink = value
                cell.style = "Hyperlink"
    for index, name in enumerate(header, start=1):
        width = max([_display_width(name)] + [_display_width(r[index - 1]) for r in rows])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, width + 2))
    sheet.freeze_panes = "A2"


def render_xlsx(data: ReportData, sections: Sequence[str], changes: list[dict[str, Any]] | None) -> bytes:
    book = Workbook()
    book.remove(book.active)
    f = data.figures.by_key
    rows: list[list[Any]] = []
    if "completeness" in sections:
        rows = []
        for c in data.completeness:
            rows.append(
                [
                    PLATFORM_LABELS[c.platform],
                    "是" if c.ran else "否（缺失）",
                    c.registered,
                    c.read,
                    c.reauthorize,
                    c.rate_limited,
                    c.failed,
                    c.without_figures,
                ]
            )
        _sheet(
            book,
            "数据完整性",
            [
                "平台",
                "已采集",
                "注册账号",
                "已读取",
                "需重新授权",
                "限流",
                "失败",
                "数据缺失或延迟",
            ],
            rows,
        )
    if "key_figures" in sections:
        rows = []
        for account in data.key_figures:
            for k in account.figures:
                rows.append(
                    [
                        PLATFORM_LABELS[account.platform],
                        account.display_name,
                        k.label,
                        k.value,
                        k.previous,
                        k.change_vs_previous_pct,
                        k.trailing_average,
                        k.change_vs_trailing_pct,
                        "异常" if k.is_abnormal else "",
                    ]
                )
        _sheet(
            book,
            "关键指标",
            ["平台", "账号", "指标", "当日", "前一日", "较前日 %", "7日均值", "较7日均值 %", "提示"],
            rows,
        )
    if "top_posts" in sections:
        rows = []
        for r in data.top_posts:
            rows.append(
                [
                    "微博",
                    r["rank"],
                    r["display_name"],
                    r["publish_date"],
                    CONFIDENTIAL_PLACEHOLDER if r["is_flagged_confidential"] else r["post_text"],
                    r["url"],
                    f[f"top.weibo.{r['rank']}.engagement"],
                    f[f"top.weibo.{r['rank']}.engagement_gain"],
                    None,
                ]
            )
        for r in data.top_articles:
            rows.append(
                [
                    "微信公众号",
                    r["rank"],
                    r["display_name"],
                    r["publish_date"],
                    r["post_text"],
                    r["url"],
                    None,
                    None,
                    f[f"top.wechat.{r['rank']}.reads"],
                ]
            )
        _sheet(
            book,
            "热门内容",
            ["平台", "排名", "账号", "发布日期", "内容", "链接", "互动量", "当日增量", "阅读数"],
            rows,
        )
    if "advocacy" in sections:
        rows = []
        for period, prefix, source in (
            ("当日", "advocacy.day", data.advocacy_today),
            ("本周", "advocacy.week", data.advocacy_week),
        ):
            for r in source:
                d = r["department"]
                rows.append(
                    [period, d]
                    + [
                        f[f"{prefix}.{d}.{c}"]
                        for c in (
                            "employees",
                            "active_advocates",
                            "active_advocate_rate",
                            "employee_reposts",
                            "reach_via_employees",
                        )
                    ]
                )
        _sheet(
            book,
            "员工倡导",
            ["周期", "部门", "员工", "活跃员工", "参与率 %", "转发品牌博文", "员工触达（上限）"],
            rows,
        )
        _sheet(
            book,
            "跨部门转发",
            ["转发部门", "原作者", "转发次数"],
            [
                [
                    r["reposting_department"],
                    r["original_group"],
                    f[f"cross.{r['reposting_department']}.{r['original_group']}"],
                ]
                for r in data.cross_department
            ],
        )
    if "sentiment" in sections:
        rows = []
        for r in data.sentiment_today:
            who = "品牌账号" if r["account_kind"] == "brand" else "员工"
            k = r["account_kind"]
            rows.append(
                [who]
                + [
                    f[f"sentiment.{k}.{c}"]
                    for c in ("posts", "positive_posts", "neutral_posts", "negative_posts", "net_sentiment")
                ]
                + [
                    SUPPRESSED_BECAUSE[r["suppressed_because"]].format(k=data.privacy_k)
                    if r["is_suppressed"]
                    else ""
                ]
            )
        _sheet(book, "情感", ["账号类型", "博文", "正面", "中性", "负面", "净情感", "隐私"], rows)
    if "climate" in sections:
        rows = []
        for r in data.climate:
            if r["week_start"] != data.week_start:
                continue
            d = r["department"]
            rows.append(
                [
                    d,
                    r["week_start"],
                    f[f"climate.{d}.employees_posting"],
                    f[f"climate.{d}.net_sentiment"],
                    f"已隐藏（少于 {data.privacy_k} 人）" if r["is_suppressed"] else "",
                ]
            )
        _sheet(book, "情绪氛围", ["部门", "周一", "发博员工", "净情感", "隐私"], rows)
    if "rising_terms" in sections:
        _sheet(
            book,
            "上升词",
            ["排名", "词", "平台", "账号类型", "次数", "上升倍数"],
            [
                [
                    n,
                    r["term"],
                    PLATFORM_LABELS[r["platform"]],
                    KIND_LABELS[r["account_kind"]],
                    f[f"rising.{n}.occurrences"],
                    f[f"rising.{n}.rise_ratio"],
                ]
                for n, r in enumerate(data.rising_terms, start=1)
            ],
        )
    if "leaderboard" in sections and data.is_leaderboard_opt_in:
        _sheet(
            book,
            "员工排行",
            ["排名", "员工", "部门", "转发品牌博文", "触达"],
            [
                [
                    r["leaderboard_rank"],
                    r["display_name"],
                    r["department"],
                    f[f"leaderboard.{r['leaderboard_rank']}.employee_reposts"],
                    f[f"leaderboard.{r['leaderboard_rank']}.reach_via_employee"],
                ]
                for r in data.leaderboard
            ],
        )
    notes: list[list[Any]] = [[label, text] for _, _, label, text in FOOTNOTES]
    notes += [["公式版本", "；".join(data.formula_versions)], ["隐私门槛", f"k = {data.privacy_k}"]]
    _sheet(book, "口径说明", ["指标", "定义"], notes)
    if changes is not None:
        _sheet(
            book,
            "与上一版的变化",
            ["指标", "上一版", "本版"],
            [[c["label"], c["before"], c["after"]] for c in changes],
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def add_compliance_sheet(xlsx: bytes, rows: Sequence[dict[str, Any]]) -> bytes:
    """The compliance recipients' copy of the xlsx: the report's sheets plus the flagged posts."""
    book = load_workbook(io.BytesIO(xlsx))
    _sheet(
        book,
        "合规：涉密词博文",
        ["发布日期", "员工", "部门", "涉密词", "内容", "链接"],
        [
            [
                r["publish_date"],
                r["display_name"],
                r["department"],
                "、".join(json.loads(r["confidential_terms"])),
                r["post_text"],
                r["url"],
            ]
            for r in rows
        ],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render_compliance_html(brand_name: str, day: date, rows: Sequence[dict[str, Any]]) -> str:
    return (
        _environment()
        .get_template("compliance_section.html")
        .render(
            brand_name=brand_name,
            day=day,
            rows=[dict(r, terms="、".join(json.loads(r["confidential_terms"]))) for r in rows],
        )
    )


# --- files ----------------------------------------------------------------------------------------


def render_brand_report(data: ReportData, sections: Sequence[str], data_dir: Path) -> RenderedReport:
    """Write `<brand>.html`, `<brand>.xlsx` and `<brand>.figures.json`; a date already reported gets
    the next revision (`<brand>.r2.html`, ...) if a figure changed, and otherwise keeps its latest
    revision as it is (returned with is_new False, so its delivery record stands)."""
    sections = [s for s in sections if s != COMPLIANCE]
    folder = report_dir(data_dir, data.day)
    folder.mkdir(parents=True, exist_ok=True)
    earlier = _revisions(folder, data.brand_id)
    revision = earlier[-1][0] + 1 if earlier else 1
    current = data.figures.to_json()
    changes = None
    if earlier:
        previous = json.loads(earlier[-1][1].read_text(encoding="utf-8"))
        changes = figure_changes(previous, current)
        if not changes:
            return _rendered(data, folder, earlier[-1][0], [], is_new=False)
    chart_list = build_charts(data, sections)
    html = render_html(data, chart_list, sections, changes, revision)
    xlsx = render_xlsx(data, sections, changes)
    stem = _stem(data.brand_id, revision)
    paths = {suffix: folder / f"{stem}{suffix}" for suffix in (".html", ".xlsx", ".figures.json")}
    for suffix, payload in (
        (".html", html.encode("utf-8")),
        (".xlsx", xlsx),
        (".figures.json", figures_json(data.figures).encode("utf-8")),
    ):
        temporary = paths[suffix].with_name(paths[suffix].name + ".tmp")
        temporary.write_bytes(payload)
        temporary.replace(paths[suffix])
    return _rendered(data, folder, revision, changes or [], is_new=True)


def _rendered(
    data: ReportData, folder: Path, revision: int, changes: list[dict[str, Any]], *, is_new: bool
) -> RenderedReport:
    stem = _stem(data.brand_id, revision)
    earlier = folder / f"{_stem(data.brand_id, revision - 1)}.html" if revision > 1 else None
    return RenderedReport(
        brand_id=data.brand_id,
        day=data.day,
        html_path=folder / f"{stem}.html",
        xlsx_path=folder / f"{stem}.xlsx",
        figures_path=folder / f"{stem}.figures.json",
        revision=revision,
        changes=changes,
        previous_html=earlier,
        warnings=data.warnings(),
        missing_platforms=data.missing_platforms,
        digest_figures=_digest_figures(data),
        top_post=_top_post(data),
        is_new=is_new,
    )


def _digest_figures(data: ReportData) -> list[tuple[str, str, str | None]]:
    wanted = {"weibo": ("engagement_gain", "bci", "followers"), "wechat": ("reads", "wci", "followers")}
    out = []
    for account in data.key_figures:
        for k in account.figures:
            if k.metric in wanted[account.platform] and k.value.value is not None:
                change = k.change_vs_previous_pct.display
                out.append(
                    (
                        f"{PLATFORM_LABELS[account.platform]} {k.label}",
                        k.value.display,
                        None if change == "—" else f"{change} 较前日",
                    )
                )
    return out[:6]


def _top_post(data: ReportData) -> tuple[str, str] | None:
    if not data.top_posts:
        return None
    top = data.top_posts[0]
    return (
        f"{top['display_name']}："
        f"{CONFIDENTIAL_PLACEHOLDER if top['is_flagged_confidential'] else _excerpt(top['post_text'], 40)}"
        f"（互动 {display_number(top['engagement'])}）",
        top["url"],
    )
