"""`shengliang metrics`: the KPI table of one date (or its ISO week or month), read from the marts.

Formats: a table for the console, CSV with a UTF-8 byte-order mark (so Excel shows the Chinese
text), xlsx (openpyxl) and JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from shengliang.settings import ConfigError

PERIODS = ("day", "week", "month")
FORMATS = ("table", "csv", "xlsx", "json")

# Columns of the KPI table, in order; every one comes from mart_account_daily or mart_account_period.
KPI_COLUMNS = (
    "brand_id",
    "platform",
    "account_key",
    "display_name",
    "account_kind",
    "department",
    "period",
    "period_start",
    "period_end",
    "is_period_complete",
    "posts",
    "posts_without_counts",
    "reposts",
    "comments",
    "likes",
    "engagement",
    "engagement_gain",
    "engagement_rate",
    "followers",
    "followers_change",
    "bci",
    "articles",
    "reads",
    "readers",
    "read_rate",
    "shares",
    "new_followers",
    "lost_followers",
    "wci",
    "wci_o",
    "wci_a",
    "wci_h",
    "wci_p",
    "is_wci_zl_missing",
    "formula_version",
)
FORMULA_NOTE = (
    "BCI: (0.2 ln(posts+1) + 0.8 (0.4 ln(reposts+1) + 0.4 ln(comments+1) + 0.2 ln(likes+1))) x 160, "
    "as republished from Qingbo (version unverified). WCI V14.2; where is_wci_zl_missing, 在看 and "
    "likes were not collected and count as 0. engagement_rate: engagement / the authors' followers when "
    "each post was first read x 100 (a per-post rate). reads, readers and shares: the account's day "
    "(all its articles, getuserread/getusershare). Where posts_without_counts > 0, engagement and BCI "
    "are empty: some posts were read after the period. Where is_period_complete is false, the period "
    "has days after the latest load."
)


def period_start(day: date, period: str) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ConfigError(f"--period {period!r}: use one of {', '.join(PERIODS)}")


def kpi_rows(
    engine: Engine, day: date, *, brand: str | None = None, period: str = "day"
) -> list[dict[str, Any]]:
    """One row per account: the figures of `day`, or of the ISO week or month containing it."""
    start = period_start(day, period)
    if period == "day":
        source = "mart_account_daily m"
        where = "m.stat_date = :start"
        period_columns = (
            "'day' AS period, m.stat_date AS period_start, m.stat_date AS period_end, "
            "TRUE AS is_period_complete"
        )
    else:
        source = "mart_account_period m"
        where = "m.period = :period AND m.period_start = :start"
        period_columns = "m.period, m.period_start, m.period_end, m.is_period_complete"
    computed = (
        "display_name",
        "period",
        "period_start",
        "period_end",
        "is_period_complete",
        "formula_version",
    )
    select = ", ".join(f"m.{c}" for c in KPI_COLUMNS if c not in computed)
    sql = (
        f"SELECT {select}, a.display_name, {period_columns}, "
        f"b.bci_formula || '; ' || b.wci_formula AS formula_version FROM {source} "
        "JOIN dim_account a ON a.account_key = m.account_key CROSS JOIN mart_build b "
        f"WHERE {where} AND (CAST(:brand AS TEXT) IS NULL OR m.brand_id = :brand) "
        "ORDER BY m.brand_id, m.platform, m.account_kind, m.account_key"
    )
    with engine.connect() as conn:
        if brand is not None:
            known = conn.execute(
                text("SELECT count(*) FROM dim_brand WHERE brand_id = :brand"), {"brand": brand}
            ).scalar_one()
            if not known:
                names = [r[0] for r in conn.execute(text("SELECT brand_id FROM dim_brand ORDER BY 1"))]
                raise ConfigError(
                    f"--brand {brand!r} is not in the warehouse; known brands: {', '.join(names)}"
                )
        result = conn.execute(text(sql), {"start": start, "period": period, "brand": brand})
        rows = [dict(row._mapping) for row in result]
    return [{column: _plain(row[column]) for column in KPI_COLUMNS} for row in rows]


def _plain(value: Any) -> Any:
    """Database values as plain Python: Decimal and numpy-ish numbers to int/float."""
    if value is None or isinstance(value, bool | int | float | str | date):
        return value
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    return int(as_float) if as_float.is_integer() else as_float


def _json_default(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark: Excel then reads the Chinese names correctly."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(KPI_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8-sig")


def to_json(rows: Sequence[dict[str, Any]]) -> bytes:
    """A list of row objects; every row carries formula_version (see FORMULA_NOTE)."""
    return json.dumps(list(rows), ensure_ascii=False, indent=2, default=_json_default).encode("utf-8") + b"\n"


def write_xlsx(rows: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "KPI"
    sheet.append(list(KPI_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[c] for c in KPI_COLUMNS])
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("notes")
    notes.append([title])
    notes.append([FORMULA_NOTE])
    workbook.save(path)


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def to_table(rows: Sequence[dict[str, Any]], title: str) -> str:
    """An aligned console table (East Asian wide characters counted as two columns)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for header in (
        "account",
        "kind",
        "dept",
        "posts/art.",
        "engagement",
        "gain",
        "rate %",
        "followers",
        "Δ followers",
        "BCI",
        "reads",
        "read %",
        "WCI",
    ):
        table.add_column(header, justify="left" if header in ("account", "kind", "dept") else "right")
    for row in rows:
        weibo = row["platform"] == "weibo"
        wci = _number(row["wci"], 1) + ("*" if row["is_wci_zl_missing"] and row["wci"] is not None else "")
        table.add_row(
            row["display_name"],
            row["account_kind"],
            row["department"] or "",
            _number(row["posts"] if weibo else row["articles"]),
            _number(row["engagement"]),
            _number(row["engagement_gain"]),
            _number(row["engagement_rate"], 3),
            _number(row["followers"]),
            _number(row["followers_change"]),
            _number(row["bci"], 1),
            _number(row["reads"]),
            _number(row["read_rate"], 2),
            wci,
        )
    console = Console(width=200, record=True, file=io.StringIO(), force_terminal=False)
    console.print(table)
    console.print("* WCI with 在看 and likes counted as 0 (not collected).", style="dim")
    console.print(
        "rate %: engagement / the authors' followers when each post was first read (per post); reads: the "
        "account's day, all articles. '-': no figure (no posts, or counts missing: see the CSV's "
        "posts_without_counts).",
        style="dim",
    )
    if any(not row["is_period_complete"] for row in rows):
        console.print("The period is not over: it has days after the latest load.", style="bold")
    return console.export_text()


def render(rows: Sequence[dict[str, Any]], fmt: str, title: str, output: Path | None) -> str | None:
    """Write rows in `fmt` to `output` (or return the text for stdout); returns what to print."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if output is not None and not output.parent.is_dir():
        raise ConfigError(
            f"--output {output}: the folder {output.parent} does not exist; create it or pick another"
        )
    if fmt == "xlsx":
        if output is None:
            raise ConfigError("--format xlsx writes a file: give --output FILE.xlsx")
        if output.suffix.lower() != ".xlsx":
            raise ConfigError(f"--output {output}: an xlsx file must end in .xlsx (or use --format csv)")
        write_xlsx(rows, output, title)
        return f"wrote {len(rows)} rows to {output}"
    if fmt == "table":
        content = to_table(rows, title).encode("utf-8")
    elif fmt == "csv":
        content = to_csv(rows)
    else:
        content = to_json(rows)
    if output is None:
        return content.decode("utf-8-sig")
    output.write_bytes(content)
    return f"wrote {len(rows)} rows to {output}"
