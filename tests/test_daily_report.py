"""The daily report on DuckDB and PostgreSQL, read the way a person reads it: every number in the HTML
and the xlsx parsed back and compared with its mart cell, the page in a real headless Chromium, the
e-mail through a real SMTP server, the robots through a local HTTP server, and revisions."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from shengliang import jobs, reporting
from shengliang.daily import RunWindow
from shengliang.demo import SANDBOX_CLOCK_AFTER_DATE, sandbox_environment
from shengliang.report_data import WECHAT_METRICS, WEIBO_METRICS
from shengliang.report_render import CONFIDENTIAL_PLACEHOLDER
from tests.browser import check_page, require_chromium
from tests.conftest import DATA_DATE, fresh_warehouse
from warehouse.connect import open_warehouse

# Nine loaded days, so the data date has a full trailing week; LATE_DATE is loaded for Weibo only
# until the late-data test loads its WeChat figures.
DAYS = [DATA_DATE - timedelta(days=n) for n in range(8, -1, -1)]
LATE_DATE = DATA_DATE + timedelta(days=1)
BRANDS = ("jiguang", "shanhai")


def _at(server, day: date) -> None:
    server.set_now(RunWindow.for_date(day, 7).interval_end + SANDBOX_CLOCK_AFTER_DATE)


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Both platforms loaded for DAYS, Weibo only for LATE_DATE, marts built, reports of DATA_DATE."""
    from sandbox.server import SandboxServer

    tmp = tmp_path_factory.mktemp(f"report-{request.param}")
    with fresh_warehouse(request.param, tmp) as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHENGLIANG_DATA_DIR", str(tmp / "data"))
        patch.setenv("WAREHOUSE_URL", url)
        patch.delenv("SHENGLIANG_ACCOUNTS", raising=False)
        patch.delenv("SHENGLIANG_REPORTS", raising=False)
        patch.delenv("SHENGLIANG_PRIVACY_K", raising=False)
        patch.setenv("SHENGLIANG_HTTP_BACKOFF", "0.01")
        with SandboxServer(now=RunWindow.for_date(DAYS[0], 7).interval_end).start() as server:
            for name, value in sandbox_environment(server).items():
                patch.setenv(name, value)
            for day in DAYS:
                _at(server, day)
                jobs.run_day("weibo", day)
                jobs.run_day("wechat", day)
            _at(server, LATE_DATE)
            jobs.run_day("weibo", LATE_DATE)
            jobs.build_marts()
            with open_warehouse(url) as engine:
                run = reporting.render_reports(engine, DATA_DATE, data_dir=tmp / "data")
                yield SimpleNamespace(
                    engine=engine, server=server, url=url, tmp=tmp, data=tmp / "data", run=run, patch=patch
                )


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def report_of(world: Any, brand: str) -> Any:
    return next(r for r in world.run.reports if r.brand_id == brand)


class FigureParser(HTMLParser):
    """Collects the text of every data-figure element, and the text of every numeric cell."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[tuple[str, str]] = []
        self.cells: list[dict[str, Any]] = []
        self._figure: str | None = None
        self._figure_text = ""
        self._cell: dict[str, Any] | None = None
        self._row_cells = 0
        self.images: list[dict[str, str]] = []
        self.headings: list[str] = []
        self._heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr":
            self._row_cells = 0
        if tag == "td":
            self._row_cells += 1
            self._cell = {
                "classes": (attributes.get("class") or "").split(),
                "text": "",
                "figure_texts": [],
                "first": self._row_cells == 1,
            }
        if "data-figure" in attributes:
            self._figure = attributes["data-figure"]
            self._figure_text = ""
        if tag == "img":
            self.images.append({k: v or "" for k, v in attributes.items()})
        if tag == "h2":
            self._heading = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._figure is not None:
            self.figures.append((self._figure, self._figure_text))
            if self._cell is not None:
                self._cell["figure_texts"].append(self._figure_text)
            self._figure = None
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        if tag == "h2" and self._heading is not None:
            self.headings.append(self._heading)
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._figure is not None:
            self._figure_text += data
        if self._cell is not None:
            self._cell["text"] += data
        if self._heading is not None:
            self._heading += data


def parse(html: str) -> FigureParser:
    parser = FigureParser()
    parser.feed(html)
    return parser


def shown_number(shown: str) -> tuple[float | None, int]:
    """A displayed number and its decimals: '12,345' -> (12345, 0), '+5.2%' -> (5.2, 1), '—' -> None."""
    shown = shown.strip()
    if shown == "—":
        return None, 0
    match = re.fullmatch(r"([+-]?[\d,]+)(?:\.(\d+))?%?", shown)
    assert match, f"not a number: {shown!r}"
    decimals = len(match[2] or "")
    return float(match[1].replace(",", "") + ("." + match[2] if match[2] else "")), decimals


def mart_cell(engine: Engine, spec: dict[str, Any]) -> Any:
    where = " AND ".join(f"{column} = :{column}" for column in spec["where"])
    params = {
        k: date.fromisoformat(v) if isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", v) else v
        for k, v in spec["where"].items()
    }
    found = rows(engine, f"SELECT {spec['column']} AS v FROM {spec['table']} WHERE {where}", **params)
    assert len(found) == 1, f"{spec}: {len(found)} mart rows"
    return found[0]["v"]


def assert_same(shown: str, value: Any, what: str) -> None:
    number, decimals = shown_number(shown)
    if value is None:
        assert number is None, f"{what}: shows {shown!r}, the mart holds NULL"
        return
    assert number is not None, f"{what}: shows —, the mart holds {value}"
    assert abs(number - float(value)) <= 0.5 * 10**-decimals + 1e-9, f"{what}: shows {shown!r}, mart {value}"


@pytest.mark.parametrize("brand", BRANDS)
def test_every_number_in_the_html_is_its_mart_cell(world: Any, brand: str) -> None:
    report = report_of(world, brand)
    html = report.html_path.read_text(encoding="utf-8")
    page = parse(html)
    specs = json.loads(report.figures_path.read_text(encoding="utf-8"))
    assert len(page.figures) >= 60
    for key, shown in page.figures:
        assert_same(shown, mart_cell(world.engine, specs[key]), f"{brand} {key} ({specs[key]['label']})")
    # No number is printed outside a figure: a numeric cell holds figures, a rank, or a dash.
    for cell in page.cells:
        if "num" not in cell["classes"] or cell["first"]:
            continue
        rest = cell["text"]
        for figure_text in cell["figure_texts"]:
            rest = rest.replace(figure_text, "", 1)
        suppressed = f"少于 {reporting.settings.privacy_k()} 人" in rest
        assert suppressed or not re.search(r"\d", rest), cell


@pytest.mark.parametrize("brand", BRANDS)
def test_the_html_shows_every_key_figure_and_top_post_of_the_marts(world: Any, brand: str) -> None:
    """Independent of the report's own bookkeeping: what the marts hold for the brand and date is
    shown, each cell by its key."""
    report = report_of(world, brand)
    shown = dict(parse(report.html_path.read_text(encoding="utf-8")).figures)
    key_rows = rows(
        world.engine,
        "SELECT k.*, a.account_kind FROM mart_key_figures_daily k JOIN dim_account a USING (account_key) "
        "WHERE k.brand_id = :b AND k.stat_date = :d",
        b=brand,
        d=DATA_DATE,
    )
    metrics = {(r["platform"], r["metric"]) for r in key_rows}
    assert metrics == {("weibo", m) for m in WEIBO_METRICS} | {("wechat", m) for m in WECHAT_METRICS}
    for r in key_rows:
        base = f"key.{r['account_key']}.{r['metric']}"
        assert_same(shown[f"{base}.value"], r["value"], base)
        assert_same(shown[f"{base}.previous_value"], r["previous_value"], base)
        assert_same(shown[f"{base}.change_vs_previous_pct"], r["change_vs_previous_pct"], base)
        assert_same(shown[f"{base}.trailing_7d_average"], r["trailing_7d_average"], base)
    top = rows(
        world.engine,
        "SELECT * FROM mart_top_posts_daily "
        "WHERE brand_id = :b AND stat_date = :d AND ranking = 'engagement'",
        b=brand,
        d=DATA_DATE,
    )
    assert len(top) == 10
    for r in top:
        assert_same(shown[f"top.weibo.{r['rank']}.engagement"], r["engagement"], f"top {r['rank']}")
    collection = rows(
        world.engine,
        "SELECT * FROM mart_collection_daily WHERE brand_id = :b AND stat_date = :d",
        b=brand,
        d=DATA_DATE,
    )
    assert {r["platform"] for r in collection} == {"weibo", "wechat"}
    for r in collection:
        assert_same(shown[f"completeness.{r['platform']}.accounts_read"], r["accounts_read"], "read")
        assert_same(
            shown[f"completeness.{r['platform']}.accounts_registered"], r["accounts_registered"], "reg"
        )


def test_top_posts_link_to_weibo_and_the_articles(world: Any) -> None:
    report = report_of(world, "shanhai")
    html = report.html_path.read_text(encoding="utf-8")
    top = rows(
        world.engine,
        "SELECT t.post_id, a.account_id, t.platform FROM mart_top_posts_daily t JOIN dim_account a "
        "USING (account_key) WHERE t.brand_id = 'shanhai' AND t.stat_date = :d AND t.ranking IN "
        "('engagement', 'reads')",
        d=DATA_DATE,
    )
    urls = rows(world.engine, "SELECT msgid, url FROM fct_article")
    article_url = {r["msgid"]: r["url"] for r in urls}
    for r in top:
        if r["platform"] == "weibo":
            assert f'href="https://weibo.com/{r["account_id"]}/{r["post_id"]}"' in html
        else:
            assert f'href="{article_url[r["post_id"]]}"'.replace("&", "&amp;") in html


@pytest.mark.parametrize("brand", BRANDS)
def test_every_number_in_the_xlsx_is_its_mart_cell(world: Any, brand: str) -> None:
    report = report_of(world, brand)
    book = load_workbook(report.xlsx_path)
    assert {"数据完整性", "关键指标", "热门内容", "员工倡导", "情感", "上升词", "口径说明"} <= set(
        book.sheetnames
    )
    sheet = book["关键指标"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["平台", "账号", "指标", "当日", "前一日"]
    names = {r["display_name"] for r in rows(world.engine, "SELECT display_name FROM dim_account")}
    key_rows = rows(
        world.engine,
        "SELECT k.*, a.display_name FROM mart_key_figures_daily k JOIN dim_account a USING (account_key) "
        "WHERE k.brand_id = :b AND k.stat_date = :d",
        b=brand,
        d=DATA_DATE,
    )
    from shengliang.report_data import METRIC_LABELS

    expected = {(r["display_name"], METRIC_LABELS[r["metric"]]): r for r in key_rows}
    seen = set()
    for line in sheet.iter_rows(min_row=2, values_only=True):
        record = dict(zip(header, line, strict=True))
        assert record["账号"] in names  # Chinese text intact
        mart = expected[(record["账号"], record["指标"])]
        seen.add((record["账号"], record["指标"]))
        for column, field in (
            ("当日", "value"),
            ("前一日", "previous_value"),
            ("7日均值", "trailing_7d_average"),
        ):
            if mart[field] is None:
                assert record[column] is None
            else:
                assert record[column] == pytest.approx(float(mart[field]))
    assert seen == set(expected)
    top = book["热门内容"]
    top_header = [c.value for c in top[1]]
    weibo = [dict(zip(top_header, r, strict=True)) for r in top.iter_rows(min_row=2, values_only=True)]
    mart_top = rows(
        world.engine,
        "SELECT * FROM mart_top_posts_daily "
        "WHERE brand_id = :b AND stat_date = :d AND ranking = 'engagement' "
        "ORDER BY rank",
        b=brand,
        d=DATA_DATE,
    )
    assert [(r["排名"], r["互动量"], r["内容"]) for r in weibo if r["平台"] == "微博"] == [
        (
            r["rank"],
            r["engagement"],
            CONFIDENTIAL_PLACEHOLDER if r["is_flagged_confidential"] else r["post_text"],
        )
        for r in mart_top
    ]


def test_completeness_comes_first_and_the_footnotes_last(world: Any) -> None:
    headings = parse(report_of(world, "shanhai").html_path.read_text(encoding="utf-8")).headings
    assert headings[0] == "数据完整性"
    assert headings[-1] == "口径说明"
    html = report_of(world, "shanhai").html_path.read_text(encoding="utf-8")
    for note in ("neutral excluded", "reach is an upper bound", "k = 5", "BCI", "WCI V14.2"):
        assert note in html


def test_a_platform_not_loaded_yet_is_named_missing(world: Any) -> None:
    run = reporting.render_reports(world.engine, LATE_DATE, brands=["shanhai"], data_dir=world.data)
    report = run.reports[0]
    assert report.missing_platforms == ["wechat"]
    html = report.html_path.read_text(encoding="utf-8")
    assert "微信公众号数据缺失" in html
    assert "缺失：" in html  # the completeness row of WeChat


def test_the_page_renders_in_chromium_with_every_chart(world: Any, tmp_path: Path) -> None:
    require_chromium()
    report = report_of(world, "shanhai")
    for width in (1280, 390):
        shot = tmp_path / f"shanhai-{width}.png"
        page = check_page(report.html_path, shot, width=width)
        assert page.title == f"山海茶饮 声量日报 {DATA_DATE}"
        assert "数据完整性" in page.text and "关键指标" in page.text
        assert len(page.images) >= 8
        assert page.broken_images == []
        assert all(image["natural_width"] > 0 for image in page.images)
        assert page.overflowing == [], page.overflowing
        assert page.document_scroll_width <= page.viewport_width
        assert shot.stat().st_size > 10_000


def _values(path: Path) -> dict[str, Any]:
    return {k: v["value"] for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


def test_late_wechat_data_gives_a_revision_listing_exactly_the_changed_figures(
    world: Any, tmp_path: Path
) -> None:
    """Runs last: it loads LATE_DATE's WeChat figures into the module's warehouse."""
    out = tmp_path / "data"
    first = reporting.render_reports(world.engine, LATE_DATE, brands=["shanhai"], data_dir=out).reports[0]
    assert first.revision == 1 and first.missing_platforms == ["wechat"]
    first_bytes = {p: p.read_bytes() for p in (first.html_path, first.xlsx_path, first.figures_path)}

    _at(world.server, LATE_DATE)
    jobs.run_day("wechat", LATE_DATE)
    jobs.build_marts()
    second = reporting.render_reports(world.engine, LATE_DATE, brands=["shanhai"], data_dir=out).reports[0]

    assert second.revision == 2 and second.missing_platforms == []
    assert second.html_path.name == "shanhai.r2.html" and second.previous_html == first.html_path
    assert {p: p.read_bytes() for p in first_bytes} == first_bytes  # the earlier files are kept as they were
    before, after = _values(first.figures_path), _values(second.figures_path)

    def differs(key: str) -> bool:
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            return (a is None) != (b is None)
        return abs(float(a) - float(b)) > 1e-9 * max(1.0, abs(float(a)))

    expected = {k for k in before.keys() | after.keys() if differs(k)}
    listed = re.findall(r'data-change="([^"]+)"', second.html_path.read_text(encoding="utf-8"))
    assert sorted(listed) == sorted(expected)
    assert len(listed) == len(set(listed)) == len(second.changes)
    assert "completeness.wechat.accounts_read" in expected
    wechat_brand = rows(
        world.engine,
        "SELECT account_key FROM dim_account WHERE brand_id = 'shanhai' AND platform = 'wechat' "
        "AND account_kind = 'brand'",
    )[0]["account_key"]
    assert f"key.{wechat_brand}.reads.value" in expected
    assert not [k for k in expected if k.startswith("key.weibo:")]  # the Weibo figures did not change
    sheet = load_workbook(second.xlsx_path)["与上一版的变化"]
    assert sheet.max_row - 1 == len(expected)

    # Nothing changed since: the latest revision stands, no new file.
    files = sorted(p.name for p in second.html_path.parent.iterdir())
    third = reporting.render_reports(world.engine, LATE_DATE, brands=["shanhai"], data_dir=out).reports[0]
    assert (third.revision, third.is_new, third.html_path) == (2, False, second.html_path)
    assert sorted(p.name for p in second.html_path.parent.iterdir()) == files


def test_rising_terms_never_show_a_confidential_term(world: Any) -> None:
    flagged = rows(world.engine, "SELECT confidential_terms FROM mart_confidential_posts")
    confidential = {term for r in flagged for term in json.loads(r["confidential_terms"])}
    assert confidential  # the sandbox's employees let some slip
    terms = {r["term"] for r in rows(world.engine, "SELECT DISTINCT term FROM mart_rising_terms")}
    assert terms and not {t for t in terms if any(c in t for c in confidential)}
    for report in world.run.reports:
        html = report.html_path.read_text(encoding="utf-8")
        assert not [c for c in confidential if c in html], report.brand_id


def test_rising_terms_against_the_facts(world: Any) -> None:
    """mart_rising_terms recomputed in Python from fct_post_term, per brand, for the data date."""
    from collections import defaultdict

    terms = rows(
        world.engine,
        "SELECT t.platform, t.term, t.term_kind, t.term_count, a.brand_id, a.account_kind, "
        "COALESCE(p.publish_date, r.publish_date) AS publish_date, p.is_flagged_confidential "
        "FROM fct_post_term t "
        "LEFT JOIN fct_post p ON t.platform = 'weibo' AND p.post_id = t.post_id "
        "LEFT JOIN fct_article r ON t.platform = 'wechat' AND r.msgid = t.post_id "
        "JOIN dim_account a ON a.account_key = COALESCE(p.account_key, r.account_key)",
    )
    occurrences: dict[tuple, int] = defaultdict(int)
    for t in terms:
        if t["is_flagged_confidential"]:
            continue
        key = (t["brand_id"], t["platform"], t["account_kind"], t["term"], t["term_kind"])
        occurrences[key + (t["publish_date"],)] += t["term_count"]
    mart = rows(world.engine, "SELECT * FROM mart_rising_terms WHERE stat_date = :d", d=DATA_DATE)
    assert len(mart) == len([k for k in occurrences if k[-1] == DATA_DATE])
    for r in mart:
        key = (r["brand_id"], r["platform"], r["account_kind"], r["term"], r["term_kind"])
        assert r["occurrences"] == occurrences[key + (DATA_DATE,)]
        before = sum(occurrences.get(key + (DATA_DATE - timedelta(days=n),), 0) for n in range(1, 8))
        assert r["baseline_daily_occurrences"] == pytest.approx(before / 7)
        assert r["rise_ratio"] == pytest.approx((r["occurrences"] + 1) / (before / 7 + 1))


# --- delivery: `shengliang report --send` against a real SMTP server and a local robot endpoint ----

REPORTS_YML = """
defaults:
  base_url: https://reports.example.test/shengliang
brands:
  shanhai:
    email: [marketing@shanhai.test, boss@shanhai.test]
    compliance_email: [compliance@shanhai.test]
    robots:
      - {type: wecom, webhook_env: T_WECOM}
      - {type: dingtalk, webhook_env: T_DING, secret_env: T_DING_SECRET}
      - {type: feishu, webhook_connection: t_feishu, secret_connection: t_feishu_secret}
  jiguang:
    email: [marketing@jiguang.test]
"""
DING_SECRET = "SEC-ding-test-secret-0123456789"
FEISHU_SECRET = "feishu-test-secret-abcdef"


@pytest.fixture
def channels(world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) as smtp_default, a robot endpoint for the three robot types, and
    a reports.yml naming where their webhooks and secrets live; a fresh report folder."""
    import threading

    from aiosmtpd.controller import Controller
    from tenacity import wait_none

    from shengliang import delivery
    from tests.test_delivery import Mailbox, RobotServer, free_port

    monkeypatch.setattr(delivery, "RETRY_WAIT", wait_none())
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    extra = {
        "disable_tls": True,
        "disable_ssl": True,
        "from_email": "report@shengliang.test",
        "retry_limit": 0,
    }
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port, "extra": extra}),
    )
    robots = RobotServer()
    threading.Thread(target=robots.httpd.serve_forever, daemon=True).start()
    robots.answers["/open-apis/bot/v2/hook/fs-token"] = (200, {"code": 0, "msg": "success"})
    monkeypatch.setenv("T_WECOM", f"{robots.base}/cgi-bin/webhook/send?key=wecom-key-123")
    monkeypatch.setenv("T_DING", f"{robots.base}/robot/send?access_token=ding-token-456")
    monkeypatch.setenv("T_DING_SECRET", DING_SECRET)
    monkeypatch.setenv(
        "AIRFLOW_CONN_T_FEISHU",
        json.dumps({"conn_type": "http", "host": f"{robots.base}/open-apis/bot/v2/hook/fs-token"}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_T_FEISHU_SECRET", json.dumps({"conn_type": "generic", "password": FEISHU_SECRET})
    )
    config = tmp_path / "reports.yml"
    config.write_text(REPORTS_YML, encoding="utf-8")
    monkeypatch.setenv("SHENGLIANG_REPORTS", str(config))
    monkeypatch.setenv("SHENGLIANG_DATA_DIR", str(tmp_path / "data"))
    try:
        yield SimpleNamespace(mailbox=mailbox, robots=robots, config=config, data=tmp_path / "data")
    finally:
        smtp.stop()
        robots.httpd.shutdown()
        robots.httpd.server_close()


def _cli(*argv: str) -> int:
    from shengliang.cli import _main

    return _main(list(argv))


def _messages(mailbox: Any) -> dict[str, Any]:
    from email import message_from_bytes, policy

    out = {}
    for envelope in mailbox.envelopes:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        for recipient in envelope.rcpt_tos:
            out[recipient] = message
    return out


def _html_and_parts(message: Any) -> tuple[str, dict[str, bytes], dict[str, bytes]]:
    html = message.get_body(preferencelist=("html",)).get_content()
    images, attachments = {}, {}
    for part in message.walk():
        if part.get_content_maintype() == "image":
            images[part["Content-ID"].strip("<>")] = part.get_payload(decode=True)
        elif part.get_filename():
            attachments[part.get_filename()] = part.get_payload(decode=True)
    return html, images, attachments


def test_send_delivers_the_email_and_every_robot(world: Any, channels: Any, capsys: Any) -> None:
    assert _cli("report", "--date", DATA_DATE.isoformat(), "--brand", "shanhai", "--send") == 0
    html_path = channels.data / "reports" / DATA_DATE.isoformat() / "shanhai.html"
    assert html_path.exists() and str(html_path) in capsys.readouterr().out
    messages = _messages(channels.mailbox)
    assert set(messages) == {"marketing@shanhai.test", "boss@shanhai.test", "compliance@shanhai.test"}
    regular = messages["marketing@shanhai.test"]
    assert regular["Subject"] == f"山海茶饮 声量日报 {DATA_DATE}"
    html, images, attachments = _html_and_parts(regular)
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert len(cids) >= 8 and set(cids) == set(images)
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    assert "data:image" not in html  # inline images, not a data URI the mail client may block
    assert f'href="https://reports.example.test/shengliang/{DATA_DATE}/shanhai.html"' in html  # online copy
    xlsx_name = f"shanhai-{DATA_DATE}.xlsx"
    assert attachments == {xlsx_name: html_path.with_suffix(".xlsx").read_bytes()}
    # The figures of the mail are the report's.
    file_figures = dict(parse(html_path.read_text(encoding="utf-8")).figures)
    assert dict(parse(html).figures) == file_figures

    # Robots: one message each, signed as the platforms check.
    import base64
    import hashlib
    import hmac
    from urllib.parse import quote_plus

    wecom = channels.robots.to("/cgi-bin/webhook/send")
    ding = channels.robots.to("/robot/send")
    feishu = channels.robots.to("/open-apis/bot/v2/hook/fs-token")
    assert len(wecom) == len(ding) == len(feishu) == 1
    link = f"https://reports.example.test/shengliang/{DATA_DATE}/shanhai.html"
    assert wecom[0]["body"]["msgtype"] == "markdown" and link in wecom[0]["body"]["markdown"]["content"]
    query = ding[0]["query"]
    expected = base64.b64encode(
        hmac.new(
            DING_SECRET.encode(), f"{query['timestamp']}\n{DING_SECRET}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert quote_plus(query["sign"]) == quote_plus(expected) and link in ding[0]["body"]["markdown"]["text"]
    body = feishu[0]["body"]
    expected = base64.b64encode(
        hmac.new(f"{body['timestamp']}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert body["sign"] == expected and link in json.dumps(body, ensure_ascii=False)
    digest = wecom[0]["body"]["markdown"]["content"]
    for account in report_of(world, "shanhai").digest_figures[:4]:
        assert account[1] in digest  # key figures with their values


def test_the_compliance_section_reaches_only_its_list(world: Any, channels: Any) -> None:
    assert _cli("report", "--date", DATA_DATE.isoformat(), "--brand", "shanhai", "--send") == 0
    flagged = rows(
        world.engine,
        "SELECT * FROM mart_confidential_posts WHERE brand_id = 'shanhai' AND publish_date = :d",
        d=DATA_DATE,
    )
    assert flagged
    terms = {t for r in flagged for t in json.loads(r["confidential_terms"])}
    messages = _messages(channels.mailbox)
    for recipient, message in messages.items():
        html, _, attachments = _html_and_parts(message)
        book = load_workbook(io.BytesIO(next(iter(attachments.values()))))
        cells = " ".join(str(c) for s in book for row in s.iter_rows(values_only=True) for c in row if c)
        if recipient == "compliance@shanhai.test":
            assert list(attachments) == [f"shanhai-{DATA_DATE}-合规.xlsx"]
            assert "合规：含涉密词的员工博文" in html
            assert all(t in html for t in terms) and all(r["url"] in html for r in flagged)
            assert "合规：涉密词博文" in book.sheetnames and all(t in cells for t in terms)
        else:
            assert "合规" not in html and not [t for t in terms if t in html]
            assert not [s for s in book.sheetnames if "合规" in s] and not [t for t in terms if t in cells]
    robots = json.dumps([r["body"] for r in channels.robots.requests], ensure_ascii=False)
    assert not [t for t in terms if t in robots]
    published = (channels.data / "reports" / DATA_DATE.isoformat() / "shanhai.html").read_text(
        encoding="utf-8"
    )
    assert not [t for t in terms if t in published]  # the published file is everybody's


def test_an_unknown_brand_in_the_configuration_is_one_error_and_the_files_are_written(
    world: Any, channels: Any, capsys: Any
) -> None:
    channels.config.write_text(REPORTS_YML + "  nosuchbrand:\n    email: [x@y.test]\n", encoding="utf-8")
    assert _cli("report", "--date", DATA_DATE.isoformat(), "--send") == 2
    err = capsys.readouterr().err
    assert f"{channels.config}: brands.nosuchbrand: not a brand of the account registry" in err
    assert err.count("not a brand of the account registry") == 1 and "Traceback" not in err
    folder = channels.data / "reports" / DATA_DATE.isoformat()
    assert {p.name for p in folder.glob("*.html")} == {"shanhai.html", "jiguang.html"}
    assert channels.mailbox.envelopes == []


def test_a_webhook_that_resolves_to_nothing_names_it_and_the_rest_is_delivered(
    world: Any, channels: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.delenv("T_DING")
    assert _cli("report", "--date", DATA_DATE.isoformat(), "--brand", "shanhai", "--send") == 2
    err = capsys.readouterr().err
    assert "T_DING" in err and "dingtalk robot 2" in err and "shanhai" in err and ".." not in err
    assert DING_SECRET not in err and "wecom-key-123" not in err
    assert len(_messages(channels.mailbox)) == 3  # the e-mails and the other robots still went
    assert len(channels.robots.to("/cgi-bin/webhook/send")) == 1
    assert (channels.data / "reports" / DATA_DATE.isoformat() / "shanhai.html").exists()
    marker = json.loads(
        (channels.data / "reports" / DATA_DATE.isoformat() / "shanhai.delivered.json").read_text(
            encoding="utf-8"
        )
    )
    assert marker["complete"] is False and "dingtalk robot 2" not in marker["channels"]
    # The same report again (the deliver task's retry, or the command run again) sends only what
    # failed: no second e-mail.
    from shengliang.delivery import DeliveryError

    report = reporting.render_reports(
        world.engine, DATA_DATE, brands=["shanhai"], data_dir=channels.data
    ).reports[0]
    assert (report.revision, report.is_new) == (1, False)  # nothing changed: the same report
    config = reporting.load_config(world.engine)
    with pytest.raises(DeliveryError, match="T_DING"):
        reporting.deliver_report(world.engine, report, config)
    assert len(channels.mailbox.envelopes) == 2  # the list's e-mail and the compliance e-mail, once
    monkeypatch.setenv("T_DING", f"{channels.robots.base}/robot/send?access_token=ding-token-456")
    capsys.readouterr()
    assert _cli("report", "--date", DATA_DATE.isoformat(), "--brand", "shanhai", "--send") == 0
    out = capsys.readouterr().out
    assert "sent shanhai: dingtalk robot 2" in out and "shanhai already had: e-mail to 2 recipient(s)" in out
    assert len(channels.mailbox.envelopes) == 2 and len(channels.robots.to("/robot/send")) == 1
    assert len(channels.robots.to("/cgi-bin/webhook/send")) == 1
    assert reporting.delivered_brands(DATA_DATE, channels.data) == {"shanhai"}
    assert not list(channels.data.glob("reports/*/shanhai.r2.*"))


def test_a_missing_smtp_connection_says_how_to_add_it(
    world: Any, channels: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")
    assert _cli("report", "--date", DATA_DATE.isoformat(), "--brand", "jiguang", "--send") == 2
    err = capsys.readouterr().err
    assert "smtp_default" in err and "AIRFLOW_CONN_SMTP_DEFAULT" in err and "jiguang" in err
    assert (channels.data / "reports" / DATA_DATE.isoformat() / "jiguang.html").exists()


def test_key_figures_against_the_account_marts(world: Any) -> None:
    """mart_key_figures_daily recomputed in Python from mart_account_daily: the day before, the
    trailing 7-day average of the days with a figure (NULL below 3 days) and both changes."""
    from shengliang.report_data import WECHAT_METRICS, WEIBO_METRICS

    accounts = rows(world.engine, "SELECT * FROM mart_account_daily WHERE account_kind = 'brand'")
    by = {(r["account_key"], r["stat_date"]): r for r in accounts}
    mart = rows(world.engine, "SELECT * FROM mart_key_figures_daily")
    assert len(mart) == sum(
        len(WEIBO_METRICS if r["platform"] == "weibo" else WECHAT_METRICS) for r in accounts
    )

    def figure(account: str, day: date, metric: str) -> float | None:
        row = by.get((account, day))
        return None if row is None or row[metric] is None else float(row[metric])

    for r in mart:
        value = figure(r["account_key"], r["stat_date"], r["metric"])
        before = [
            figure(r["account_key"], r["stat_date"] - timedelta(days=n), r["metric"]) for n in range(1, 8)
        ]
        known = [v for v in before if v is not None]
        previous = before[0]
        average = sum(known) / len(known) if len(known) >= 3 else None
        assert r["trailing_7d_days"] == len(known)
        for column, expected in (
            ("value", value),
            ("previous_value", previous),
            ("trailing_7d_average", average),
            (
                "change_vs_previous_pct",
                None if value is None or not previous else (value - previous) / previous * 100,
            ),
            (
                "change_vs_trailing_7d_pct",
                None if value is None or not average else (value - average) / average * 100,
            ),
        ):
            if expected is None:
                assert r[column] is None, (r, column)
            else:
                assert r[column] == pytest.approx(expected), (r, column)
