"""Chart primitives (shengliang/charts.py): real rendering with matplotlib's Agg canvas, decoded with PIL.

Some tests draw through the private figure builders (``charts._line_figure`` …) so that they can look at
what was drawn (every text element's font, the line data) besides the PNG the public function returns.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.text import Text
from PIL import Image

from shengliang import charts
from shengliang.charts import Chart, ChartFontError

LABELS = "互动量 微博传播指数 正面 中性 负面 已隐藏 暂无数据 市场部 净情感 参与率 上升最快的词 情绪气候"
DAYS = [date(2026, 10, 12) + timedelta(days=offset) for offset in range(30)]
DEPARTMENTS = ["市场部", "销售部", "人力资源部", "客户服务与体验管理部（华东区域）"]
WEEKS = ["2026-W43", "2026-W44", "2026-W45"]


def _wave(count: int, base: float, amplitude: float) -> list[float | None]:
    return [round(base + amplitude * np.sin(day / 3), 1) for day in range(count)]


# Each primitive: the public function, its figure builder and arguments that draw Chinese text everywhere.
PRIMITIVES: dict[str, tuple[Callable[..., Chart], Callable[..., tuple[Figure, str]], dict[str, Any]]] = {
    "trend": (
        charts.line_chart,
        charts._line_figure,
        {
            "title": "微博 近30天互动量与传播指数",
            "x": DAYS,
            "left": {"互动量": _wave(30, 50_000, 20_000)},
            "left_label": "互动量",
            "right": {"微博传播指数": _wave(30, 500, 150)},
            "right_label": "BCI",
        },
    ),
    "growth": (
        charts.line_chart,
        charts._line_figure,
        {
            "title": "帖子增长曲线",
            "x": list(range(15)),
            "left": {
                "本帖": [day * day * 100 for day in range(15)],
                "同类均值": [day * 90 for day in range(15)],
            },
            "left_label": "累计互动量",
            "dashed": ["同类均值"],
            "x_label": "发布后天数",
        },
    ),
    "sentiment": (
        charts.stacked_bar_chart,
        charts._stacked_bar_figure,
        {
            "title": "每日情感分布",
            "x": DAYS,
            "stacks": {"正面": _wave(30, 120, 40), "中性": _wave(30, 200, 50), "负面": _wave(30, 60, 30)},
            "y_label": "评论数",
            "masked": [day in (3, 4, 17) for day in range(30)],
            "line": ("净情感", _wave(30, 20, 30)),
            "line_label": "净情感值",
        },
    ),
    "participation": (
        charts.bar_chart,
        charts._bar_figure,
        {
            "title": "各部门参与率",
            "categories": DEPARTMENTS,
            "series": {"本周": [30, 45, None, 80], "上周": [28, 40, 15, 70]},
            "value_label": "参与率（%）",
            "value_format": "{:.0f}%",
        },
    ),
    "rising_terms": (
        charts.bar_chart,
        charts._bar_figure,
        {
            "title": "上升最快的词",
            # "$" pairs would be mathtext (drawn in a font without CJK glyphs) unless escaped.
            "categories": ["新品发布会", "双十一", "质量问题投诉处理太慢了怎么办呢", "$100 和 $200 优惠"],
            "series": {"增幅": [320, 280, 90, None]},
            "value_label": "提及次数增幅",
            "horizontal": True,
        },
    ),
    "climate": (
        charts.heatmap_chart,
        charts._heatmap_figure,
        {
            "title": "各部门情绪气候（净情感）",
            "rows": DEPARTMENTS,
            "columns": WEEKS,
            "values": [[41, -35, None], [-92, 72, 7], [15, -97, 93], [0, 55, -60]],
            "masked": [
                [False, False, False],
                [False, True, False],
                [False, False, False],
                [True, False, False],
            ],
            "diverging": True,
            "vmin": -100,
            "vmax": 100,
        },
    ),
    "amplification": (
        charts.heatmap_chart,
        charts._heatmap_figure,
        {
            "title": "跨部门转发放大矩阵",
            "rows": DEPARTMENTS,
            "columns": ["总部", "华东", "华南"],
            "values": [[66, 4, 287], [111, 291, 235], [360, 318, 12_000], [102, 177, 50]],
        },
    ),
}

# Each primitive's arguments with nothing to draw.
EMPTY: dict[str, tuple[Callable[..., Chart], dict[str, Any]]] = {
    "line": (charts.line_chart, {"title": "趋势", "x": [], "left": {"互动量": []}, "left_label": "互动量"}),
    "line_all_none": (
        charts.line_chart,
        {"title": "趋势", "x": [1, 2], "left": {"互动量": [None, None]}, "left_label": "互动量"},
    ),
    "stacked": (charts.stacked_bar_chart, {"title": "情感", "x": [], "stacks": {}, "y_label": "评论数"}),
    "bar": (charts.bar_chart, {"title": "参与率", "categories": [], "series": {}, "value_label": "参与率"}),
    "heatmap": (charts.heatmap_chart, {"title": "气候", "rows": [], "columns": [], "values": []}),
    "heatmap_all_none": (
        charts.heatmap_chart,
        {"title": "气候", "rows": ["市场部"], "columns": WEEKS, "values": [[None, None, None]]},
    ),
}


def _image(chart: Chart) -> Image.Image:
    image = Image.open(io.BytesIO(chart.png))
    image.load()
    return image


def _drawn(builder: Callable[..., tuple[Figure, str]], arguments: dict[str, Any]) -> Figure:
    """The builder's figure, rendered once so that every tick label exists and is laid out."""
    figure, _alt = builder(**arguments)
    charts._png(figure)
    return figure


def _texts(figure: Figure) -> list[Text]:
    return [text for text in figure.findobj(Text) if text.get_visible() and text.get_text()]


def _glyph_warnings(caught: list[warnings.WarningMessage], caplog: pytest.LogCaptureFixture) -> list[str]:
    messages = [str(warning.message) for warning in caught] + [
        record.getMessage() for record in caplog.records
    ]
    # "Glyph … missing from font(s) …" (text) and "Font 'rm' does not have a glyph for …" (mathtext).
    return [message for message in messages if "glyph" in message.lower()]


# --- Font -----------------------------------------------------------------------------------------------


def test_the_font_is_the_free_noto_sans_cjk_shipped_by_mplfonts() -> None:
    path = charts.cjk_font_path()

    assert path.name == "NotoSansCJKsc-Regular.otf"
    assert path.parent.name == "fonts" and path.parent.parent.name == "mplfonts"
    assert path.is_file()


def test_the_font_the_charts_use_resolves_to_the_noto_file_and_has_every_label_glyph() -> None:
    used = findfont(charts.cjk_font_properties(), fallback_to_default=False)

    assert Path(used) == charts.cjk_font_path()
    assert charts.missing_glyphs(LABELS) == set()
    assert charts.missing_glyphs(LABELS, Path(used)) == set()
    assert charts.missing_glyphs("−…—0123456789,.%（）万亿") == set()  # tick and value text


def test_the_glyph_check_fails_for_matplotlibs_default_font() -> None:
    default = Path(findfont(FontProperties(family="DejaVu Sans"), fallback_to_default=False))

    missing = charts.missing_glyphs(LABELS, default)

    assert default.name == "DejaVuSans.ttf"
    assert missing == set(LABELS.replace(" ", ""))
    assert charts.missing_glyphs("BCI 2026", default) == set()


def test_missing_glyphs_ignores_whitespace_and_reports_what_the_font_lacks() -> None:
    assert charts.missing_glyphs(" 正面\t中性\n") == set()
    assert charts.missing_glyphs("正面\U0001f600") == {"\U0001f600"}  # an emoji: not in Noto Sans CJK


def test_a_missing_font_package_is_a_chart_font_error_saying_how_to_install_it() -> None:
    with pytest.raises(ChartFontError, match=r"pip install shengliang_no_such_font_package"):
        charts._packaged_font("shengliang_no_such_font_package", "NotoSansCJKsc-Regular.otf")
    with pytest.raises(ChartFontError, match=r"pip install mplfonts"):
        charts._packaged_font("mplfonts", "NoSuchFont.otf")
    assert issubclass(ChartFontError, RuntimeError)


@pytest.mark.parametrize("name", PRIMITIVES)
def test_every_text_drawn_uses_the_noto_font_and_has_its_glyphs(name: str) -> None:
    _public, builder, arguments = PRIMITIVES[name]

    texts = _texts(_drawn(builder, arguments))

    assert len(texts) >= 5
    for text in texts:
        assert Path(findfont(text.get_fontproperties(), fallback_to_default=False)) == charts.cjk_font_path()
        assert charts.missing_glyphs(text.get_text()) == set(), text.get_text()


@pytest.mark.parametrize("name", PRIMITIVES)
def test_nothing_is_drawn_outside_the_image(name: str) -> None:
    _public, builder, arguments = PRIMITIVES[name]
    figure = _drawn(builder, arguments)

    extent = figure.get_tightbbox(figure.canvas.get_renderer())  # inches

    width, height = figure.get_size_inches()
    assert extent.x0 >= 0 and extent.y0 >= 0
    assert extent.x1 <= width + 0.01 and extent.y1 <= height + 0.01


def test_rendering_chinese_labels_emits_no_missing_glyph_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for public, _builder, arguments in PRIMITIVES.values():
            public("chart", **arguments)
        for public, arguments in EMPTY.values():
            public("empty", **arguments)

    assert _glyph_warnings(caught, caplog) == []


def test_the_warning_check_catches_chinese_drawn_in_the_default_font(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    figure = Figure()
    figure.text(0.5, 0.5, "互动量", fontproperties=FontProperties(family="DejaVu Sans"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts._png(figure)

    assert _glyph_warnings(caught, caplog)


# --- PNG output -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRIMITIVES)
def test_each_primitive_returns_a_png_of_the_declared_size_that_is_not_blank(name: str) -> None:
    public, _builder, arguments = PRIMITIVES[name]

    chart = public(f"chart_{name}", **arguments)
    image = _image(chart)

    assert chart.key == f"chart_{name}" and chart.title == arguments["title"]
    assert image.format == "PNG"
    assert image.size == (chart.width_px, chart.height_px)
    assert chart.width_px == 760 and 300 <= chart.height_px <= 700
    assert "Software" not in image.info
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50
    assert chart.alt.startswith(("折线图", "堆叠柱状图", "柱状图", "条形图", "热力图"))
    assert arguments["title"] in chart.alt


@pytest.mark.parametrize("name", PRIMITIVES)
def test_the_same_input_gives_the_same_bytes(name: str) -> None:
    public, _builder, arguments = PRIMITIVES[name]

    assert public("a", **arguments).png == public("a", **arguments).png


def test_charts_rendered_in_parallel_threads_equal_the_serial_ones() -> None:
    expected = {name: public("a", **arguments).png for name, (public, _b, arguments) in PRIMITIVES.items()}
    results: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def render(name: str) -> None:
        public, _builder, arguments = PRIMITIVES[name]
        try:
            results[name] = public("a", **arguments).png
        except BaseException as error:  # reported below, with the thread's name
            errors.append(error)

    threads = [threading.Thread(target=render, args=(name,)) for name in PRIMITIVES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert results == expected


def test_the_caller_alt_text_replaces_the_generated_one() -> None:
    public, _builder, arguments = PRIMITIVES["trend"]

    assert public("a", **arguments, alt="近30天互动量").alt == "近30天互动量"


# --- Gaps, empty input, masking -------------------------------------------------------------------------


@pytest.mark.parametrize("name", EMPTY)
def test_empty_input_gives_a_valid_no_data_chart(name: str) -> None:
    public, arguments = EMPTY[name]

    chart = public("empty", **arguments)
    image = _image(chart)

    assert image.format == "PNG" and image.size == (chart.width_px, chart.height_px) == (760, chart.height_px)
    assert "暂无数据" in chart.alt
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 2  # the title and the notice are drawn


def test_the_no_data_chart_shows_the_notice_and_the_title() -> None:
    figure, alt = charts._bar_figure(title="各部门参与率", categories=[], series={}, value_label="参与率")
    charts._png(figure)

    assert {text.get_text() for text in _texts(figure)} == {"各部门参与率", "暂无数据"}
    assert alt == "各部门参与率：暂无数据。"


def test_none_in_a_line_is_a_gap_not_a_zero() -> None:
    def trend(values: list[float | None]) -> dict[str, Any]:
        return {"title": "趋势", "x": DAYS[:5], "left": {"互动量": values}, "left_label": "互动量"}

    with_gap = charts.line_chart("a", **trend([5, 6, None, 8, 9]))
    with_zero = charts.line_chart("a", **trend([5, 6, 0, 8, 9]))
    figure, _alt = charts._line_figure(**trend([5, 6, None, 8, 9]))

    assert with_gap.png != with_zero.png
    drawn = np.asarray(figure.axes[0].lines[0].get_ydata(), dtype=float)
    assert np.isnan(drawn[2]) and not np.isnan(drawn[[0, 1, 3, 4]]).any()


def test_a_point_between_gaps_gets_a_marker() -> None:
    figure, _alt = charts._line_figure(
        title="趋势", x=[1, 2, 3, 4, 5], left={"互动量": [None, 5, None, 7, 8]}, left_label="互动量"
    )

    lines = figure.axes[0].lines
    assert len(lines) == 2
    assert lines[1].get_marker() == "o" and list(lines[1].get_xdata()) == [2.0]


def test_dates_are_labelled_month_day_ending_at_the_last_date() -> None:
    _public, builder, arguments = PRIMITIVES["trend"]

    labels = [label.get_text() for label in _drawn(builder, arguments).axes[0].get_xticklabels()]

    assert labels[-1] == "11-10"
    assert all(len(label) == 5 and label[2] == "-" for label in labels)


def test_none_bars_and_cells_are_marked_with_a_dash() -> None:
    _p, bar_builder, bar_arguments = PRIMITIVES["participation"]
    _p, heat_builder, heat_arguments = PRIMITIVES["climate"]

    bar_texts = [text.get_text() for text in _texts(_drawn(bar_builder, bar_arguments))]
    heat_texts = [text.get_text() for text in _texts(_drawn(heat_builder, heat_arguments))]

    assert bar_texts.count("—") == 1 and "15%" in bar_texts
    assert heat_texts.count("—") == 1 and heat_texts.count("已隐藏") == 2


def test_long_labels_are_shortened_with_an_ellipsis() -> None:
    _public, builder, arguments = PRIMITIVES["rising_terms"]

    labels = [label.get_text() for label in _drawn(builder, arguments).axes[0].get_yticklabels()]

    assert labels[0] == "新品发布会"
    assert labels[2] == "质量问题投诉处理太慢了…" and len(labels[2]) == 12


def test_masked_days_are_drawn_as_suppressed_not_as_values() -> None:
    _public, builder, arguments = PRIMITIVES["sentiment"]
    unmasked = {**arguments, "masked": None}

    masked_chart = charts.stacked_bar_chart("a", **arguments)
    unmasked_chart = charts.stacked_bar_chart("a", **unmasked)
    figure = _drawn(builder, arguments)

    assert masked_chart.png != unmasked_chart.png
    texts = [text.get_text() for text in _texts(figure)]
    assert texts.count("已隐藏") == 3 + 1  # one per masked day and the legend entry
    axes = figure.axes[0]
    for container in axes.containers:  # the masked days' own values are not drawn
        heights = [patch.get_height() for patch in container.patches]
        assert heights[3] == heights[4] == heights[17] == 0
    net_line = figure.axes[1].lines[-1]
    assert np.isnan(np.asarray(net_line.get_ydata(), dtype=float)[[3, 4, 17]]).all()
    assert "3处已隐藏" in masked_chart.alt


def test_all_days_masked_is_still_a_chart_of_suppressed_days() -> None:
    figure, alt = charts._stacked_bar_figure(
        title="情感", x=["周一", "周二"], stacks={"正面": [3, 4]}, y_label="评论数", masked=[True, True]
    )
    charts._png(figure)

    assert [text.get_text() for text in _texts(figure)].count("已隐藏") == 3
    assert "暂无数据" not in alt


def test_masked_heatmap_cells_differ_from_unmasked_and_from_empty_cells() -> None:
    _public, _builder, arguments = PRIMITIVES["climate"]
    none_instead = {
        **arguments,
        "masked": None,
        "values": [[41, -35, None], [-92, None, 7], [15, -97, 93], [None, 55, -60]],
    }

    masked = charts.heatmap_chart("a", **arguments).png
    unmasked = charts.heatmap_chart("a", **{**arguments, "masked": None}).png
    gaps = charts.heatmap_chart("a", **none_instead).png

    assert len({masked, unmasked, gaps}) == 3


def test_sentiment_stacks_default_to_green_grey_red() -> None:
    _public, builder, arguments = PRIMITIVES["sentiment"]

    containers = _drawn(builder, arguments).axes[0].containers

    colours = [container.patches[0].get_facecolor() for container in containers]
    assert colours == [to_rgba("#3BA55C"), to_rgba("#B0B7C3"), to_rgba("#E0524F")]


def test_the_diverging_heatmap_is_centred_on_zero() -> None:
    figure, _alt = charts._heatmap_figure(
        title="气候", rows=["市场部"], columns=WEEKS, values=[[-20, 0, 80]], diverging=True
    )

    norm = figure.axes[0].collections[0].norm
    assert norm(0) == pytest.approx(0.5)
    assert norm(-80) == pytest.approx(0.0) and norm(80) == pytest.approx(1.0)


# --- Argument checks ------------------------------------------------------------------------------------


def test_bad_arguments_are_rejected_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="names a file"):
        charts.line_chart("trend weibo/1", "趋势", [1], {"互动量": [1]}, "互动量")
    with pytest.raises(ValueError, match="has 2 values, expected 3"):
        charts.line_chart("a", "趋势", [1, 2, 3], {"互动量": [1, 2]}, "互动量")
    with pytest.raises(ValueError, match="dashed"):
        charts.line_chart("a", "趋势", [1, 2], {"互动量": [1, 2]}, "互动量", dashed=["均值"])
    with pytest.raises(TypeError, match="dates or only ints"):
        charts.line_chart("a", "趋势", [date(2026, 1, 1), 2], {"互动量": [1, 2]}, "互动量")
    with pytest.raises(ValueError, match="masked has 1 flags"):
        charts.stacked_bar_chart("a", "情感", ["周一", "周二"], {"正面": [1, 2]}, "评论数", masked=[True])
    with pytest.raises(ValueError, match="values has 1 rows"):
        charts.heatmap_chart("a", "气候", ["市场部", "销售部"], WEEKS, [[1, 2, 3]])


def test_a_trend_with_one_day_of_data_keeps_its_whole_date_range() -> None:
    """A first day's data: the x axis still spans the 30 days, and an axis with only gaps shows no
    made-up scale."""
    days = [date(2026, 12, 3) - timedelta(days=n) for n in range(29, -1, -1)]
    fig, _ = charts._line_figure(
        title="趋势",
        x=days,
        left={"互动增量": [None] * 30},
        left_label="互动增量",
        right={"BCI": [None] * 29 + [996.7]},
        right_label="BCI",
    )
    left = fig.axes[0]
    low, high = left.get_xlim()
    assert low <= days[0].toordinal() and high >= days[-1].toordinal()
    assert list(left.get_yticks()) == []
