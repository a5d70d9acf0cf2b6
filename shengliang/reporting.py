"""The daily report, end to end: render every brand's report for a date, then deliver it.

Used by `shengliang report`, `make demo` and the `daily_report` DAG. Rendering never depends on
delivery: a bad `config/reports.yml`, a webhook reference that resolves to nothing or a missing
SMTP connection fails the delivery with one clear error, after the report files are written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from shengliang import settings
from shengliang.report_config import (
    COMPLIANCE,
    SECTIONS,
    BrandDelivery,
    Defaults,
    ReportConfigError,
    load_report_config,
)
from shengliang.report_data import PLATFORM_LABELS, collect_report
from shengliang.report_render import (
    COMPLIANCE_MARKER,
    RenderedReport,
    add_compliance_sheet,
    email_variant,
    render_brand_report,
    render_compliance_html,
    report_dir,
)

if TYPE_CHECKING:
    from shengliang.delivery import Delivery

log = logging.getLogger(__name__)
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != COMPLIANCE)


@dataclass
class ReportRun:
    """What one render of a date produced, and the configuration problem delivery will meet, if any."""

    day: date
    reports: list[RenderedReport]
    config: dict[str, BrandDelivery] = field(default_factory=dict)
    config_error: ReportConfigError | None = None


def brands_in_warehouse(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT brand_id FROM dim_brand ORDER BY brand_id"))]


def load_config(engine: Engine, path: Path | None = None) -> dict[str, BrandDelivery]:
    return load_report_config(path or settings.reports_file(), brands_in_warehouse(engine))


def render_reports(
    engine: Engine,
    day: date,
    *,
    brands: Sequence[str] | None = None,
    data_dir: Path | None = None,
    config_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReportRun:
    """Render the date's report of each brand (all brands of the warehouse by default)."""
    from warehouse.marts import require_built

    require_built(engine)
    data_dir = data_dir or settings.data_dir()
    config: dict[str, BrandDelivery] = {}
    config_error = None
    try:
        config = load_config(engine, config_path)
    except ReportConfigError as error:
        config_error = error
        log.warning("the daily report's configuration is wrong (rendering every section; not sending)")
    chosen = list(brands) if brands else brands_in_warehouse(engine)
    reports = []
    with engine.connect() as conn:
        for position, brand_id in enumerate(chosen, start=1):
            data = collect_report(conn, brand_id, day)
            sections = config[brand_id].sections if brand_id in config else DEFAULT_SECTIONS
            rendered = render_brand_report(data, sections, data_dir)
            reports.append(rendered)
            if progress:
                progress(f"[{position}/{len(chosen)}] {brand_id} {day}: {rendered.html_path}")
    return ReportRun(day, reports, config, config_error)


def _confidential_rows(engine: Engine, brand_id: str, day: date) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    "SELECT * FROM mart_confidential_posts WHERE brand_id = :b AND publish_date = :d "
                    "ORDER BY account_key, post_id"
                ),
                {"b": brand_id, "d": day},
            )
        ]


def _brand_name(engine: Engine, brand_id: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT brand_name FROM dim_brand WHERE brand_id = :b"), {"b": brand_id}
            ).scalar_one()
        )


def report_link(delivery: BrandDelivery, report: RenderedReport) -> str:
    return f"{delivery.base_url}/{report.day.isoformat()}/{report.html_path.name}"


def build_deliveries(
    engine: Engine, report: RenderedReport, delivery: BrandDelivery, *, smtp_conn_id: str
) -> list[Delivery]:
    """The channels of one brand's report: e-mail (compliance recipients apart) and each robot."""
    from shengliang import delivery as send

    brand_name = _brand_name(engine, report.brand_id)
    html, images = email_variant(report.html_path.read_text(encoding="utf-8"))
    link = escape(report_link(delivery, report))
    online = f'<p class="meta">在线查看：<a href="{link}">{link}</a></p>'
    html = html.replace('<div class="page">', '<div class="page">\n' + online, 1)
    xlsx = report.xlsx_path.read_bytes()
    subject = f"{brand_name} 声量日报 {report.day}" + (
        f"（第 {report.revision} 版）" if report.revision > 1 else ""
    )
    if report.missing_platforms:
        subject += "（" + "、".join(PLATFORM_LABELS[p] for p in report.missing_platforms) + "数据缺失）"
    attachment = f"{report.brand_id}-{report.day.isoformat()}.xlsx"
    channels = []
    compliance = set(delivery.compliance_email)
    regular = [r for r in delivery.email if r not in compliance]
    if regular:
        content = send.EmailContent(
            subject=subject,
            html=html.replace(COMPLIANCE_MARKER, ""),
            images=images,
            attachments={attachment: xlsx},
        )
        channels.append(
            send.Delivery(
                f"e-mail to {len(regular)} recipient(s)",
                partial(send.send_email, content, regular, conn_id=smtp_conn_id),
            )
        )
    if compliance:
        rows = _confidential_rows(engine, report.brand_id, report.day)
        section = render_compliance_html(brand_name, report.day, rows)
        content = send.EmailContent(
            subject=subject + "（含合规）",
            html=html.replace(COMPLIANCE_MARKER, section),
            images=images,
            attachments={attachment.replace(".xlsx", "-合规.xlsx"): add_compliance_sheet(xlsx, rows)},
        )
        recipients = list(delivery.compliance_email)
        channels.append(
            send.Delivery(
                f"compliance e-mail to {len(recipients)} recipient(s)",
                partial(send.send_email, content, recipients, conn_id=smtp_conn_id),
            )
        )
    digest = send.Digest(
        title=f"{brand_name} 声量日报 {report.day}",
        figures=[send.DigestFigure(label, value, change) for label, value, change in report.digest_figures],
        top_post=report.top_post,
        warnings=report.warnings[:3],
        link=report_link(delivery, report),
    )
    for number, robot in enumerate(delivery.robots, start=1):
        channels.append(
            send.Delivery(
                f"{robot.type} robot {number}",
                partial(send.post_digest, robot, digest, brand=report.brand_id),
            )
        )
    return channels


def deliver_report(
    engine: Engine,
    report: RenderedReport,
    config: dict[str, BrandDelivery],
    *,
    smtp_conn_id: str = "smtp_default",
) -> list[str]:
    """Send one brand's rendered report on every channel of its configuration; raises DeliveryError
    naming the failed channels and the brand, after trying them all. Channels that a previous try of
    the same report delivered (its .delivered.json) are not sent again."""
    from shengliang import delivery as send

    brand_delivery = config.get(report.brand_id)
    if brand_delivery is None:
        log.warning(
            "brand %s has no entry in %s: its report is not sent", report.brand_id, settings.reports_file()
        )
        return []
    if not brand_delivery.compliance_email and _confidential_rows(engine, report.brand_id, report.day):
        log.warning(
            "brand %s: employee posts of %s name confidential terms, and config/reports.yml gives the "
            "brand no compliance_email: nobody receives the compliance section",
            report.brand_id,
            report.day,
        )
    already = delivered_channels(report)
    channels = [
        c
        for c in build_deliveries(engine, report, brand_delivery, smtp_conn_id=smtp_conn_id)
        if c.channel not in already
    ]
    if already:
        log.info("brand %s: already delivered on %s; sending the rest", report.brand_id, ", ".join(already))
    try:
        sent = send.deliver_all(report.brand_id, channels)
    except send.DeliveryError as error:
        mark_delivered(report, already + list(getattr(error, "delivered", ())), complete=False)
        raise
    mark_delivered(report, already + sent, complete=True)
    return sent


def deliver_reports(
    engine: Engine, run: ReportRun, *, smtp_conn_id: str = "smtp_default"
) -> dict[str, list[str]]:
    """Send every rendered report; one brand's failure does not stop the others. Raises after trying all."""
    from shengliang import delivery as send

    if run.config_error is not None:
        raise run.config_error
    delivered: dict[str, list[str]] = {}
    failures: list[str] = []
    for report in run.reports:
        try:
            delivered[report.brand_id] = deliver_report(engine, report, run.config, smtp_conn_id=smtp_conn_id)
        except send.DeliveryError as error:
            failures.append(str(error))
    if failures:
        raise send.DeliveryError("; ".join(failures))
    return delivered


def _marker(report: RenderedReport) -> Path:
    return report.html_path.with_name(report.html_path.name.removesuffix(".html") + ".delivered.json")


def delivered_channels(report: RenderedReport) -> list[str]:
    marker = _marker(report)
    if not marker.exists():
        return []
    return list(json.loads(marker.read_text(encoding="utf-8"))["channels"])


def mark_delivered(report: RenderedReport, channels: Sequence[str], *, complete: bool) -> None:
    _marker(report).write_text(
        json.dumps(
            {"at": datetime.now(UTC).isoformat(), "complete": complete, "channels": list(channels)},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def delivered_brands(day: date, data_dir: Path | None = None) -> set[str]:
    """Brands whose report of `day` was delivered on every channel already (any revision)."""
    folder = report_dir(data_dir or settings.data_dir(), day)
    done = set()
    for marker in folder.glob("*.delivered.json"):
        if json.loads(marker.read_text(encoding="utf-8")).get("complete"):
            done.add(marker.name.split(".")[0])
    return done


def describe(run: ReportRun) -> list[str]:
    lines = []
    for r in run.reports:
        status = "; ".join(r.warnings) if r.warnings else "complete"
        if not r.is_new:
            revision = f" (unchanged: no figure differs from revision {r.revision}, kept as it was)"
        elif r.revision > 1:
            revision = f" (revision {r.revision}: {len(r.changes)} figures changed since the previous one)"
        else:
            revision = ""
        lines.append(f"  {r.brand_id}: {r.html_path}  {r.xlsx_path.name}{revision}  [{status}]")
    return lines


def report_dates(event_extras: Sequence[dict], run_after: datetime | None) -> list[tuple[date, bool]]:
    """The data dates a daily_report run reports, each with whether it is the deadline's run.

    A run triggered by the warehouse assets reports every date its events carry; the deadline's run
    (no events) reports the day before the run's Beijing date."""
    days = sorted({date.fromisoformat(str(e["data_date"])) for e in event_extras if e and e.get("data_date")})
    if days:
        return [(d, False) for d in days]
    if run_after is None:
        raise ValueError("a daily_report run without asset events needs its run_after time")
    return [(run_after.astimezone(settings.BEIJING).date() - timedelta(days=1), True)]


def report_deadline(path: Path | None = None) -> time:
    """defaults.deadline of config/reports.yml (Beijing time), 09:30 if the file cannot be read."""
    import yaml

    try:
        raw = yaml.safe_load((path or settings.reports_file()).read_text(encoding="utf-8")) or {}
        return Defaults.model_validate({"base_url": "-", **(raw.get("defaults") or {})}).deadline
    except Exception as error:  # the render task reports the configuration error by name
        log.warning("daily report deadline: %s; using 09:30", type(error).__name__)
        return time(9, 30)


def render_planned(dates: Sequence[dict]) -> list[dict]:
    """The render step of the daily_report DAG: each planned date, skipping on the deadline's run the
    brands already delivered; returns the rendered reports (JSON-safe) to deliver."""
    from warehouse.connect import open_warehouse

    out: list[dict] = []
    with open_warehouse(settings.warehouse_url()) as engine:
        for planned in dates:
            day = date.fromisoformat(planned["date"])
            brands = brands_in_warehouse(engine)
            if planned.get("deadline"):
                done = delivered_brands(day)
                if done:
                    log.info("%s: already delivered for %s, not sent again", ", ".join(sorted(done)), day)
                brands = [b for b in brands if b not in done]
            if not brands:
                continue
            run = render_reports(engine, day, brands=brands, progress=log.info)
            if run.config_error is not None:
                raise run.config_error
            out += [r.to_dict() for r in run.reports]
    return out


def deliver_rendered(raw: dict) -> list[str]:
    """The deliver step of the daily_report DAG, for one rendered report."""
    from warehouse.connect import open_warehouse

    report = RenderedReport.from_dict(raw)
    with open_warehouse(settings.warehouse_url()) as engine:
        return deliver_report(engine, report, load_config(engine), smtp_conn_id="smtp_default")
