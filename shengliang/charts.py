"""Chart primitives for the daily brand report: PNG images with Chinese labels, for an HTML e-mail.

Each primitive draws one chart with matplotlib's object API (a ``Figure`` on an Agg canvas; no pyplot and
no rcParams changes, so charts may be rendered from several threads at once) and returns a :class:`Chart`
with the PNG bytes, 760 px wide (an e-mail column), and a Chinese alt text. Same input, same bytes.

Conventions shared by all primitives:

* ``None`` (or NaN) is a gap, never a zero: lines break, a missing bar is marked "—", a cell shows "—".
* Masked (privacy-suppressed) positions are drawn grey and hatched and carry a label ("已隐藏"); their
  values, if the caller passed any, are not drawn.
* Input with nothing to draw (no finite value and nothing masked) gives a valid chart reading "暂无数据".
* All text uses Noto Sans CJK SC as shipped by the ``mplfonts`` package (SIL OFL licence), registered
  with matplotlib's font manager once per process and named explicitly on every text element.
"""

from __future__ import annotations

import io
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap, LinearSegmentedColormap, Normalize, TwoSlopeNorm, to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter, MaxNLocator

log = logging.getLogger(__name__)

__all__ = [
    "Chart",
    "ChartFontError",
    "NO_DATA_TEXT",
    "bar_chart",
    "cjk_font_path",
    "cjk_font_properties",
    "heatmap_chart",
    "line_chart",
    "missing_glyphs",
    "stacked_bar_chart",
]

# --- Geometry -------------------------------------------------------------------------------------------

DPI = 100
WIDTH_PX = 760
LINE_HEIGHT_PX = 340
STACKED_HEIGHT_PX = 360
BAR_HEIGHT_PX = 330
# Horizontal bars and heatmaps grow with their row count, between these bounds.
MIN_HEIGHT_PX = 300
MAX_HEIGHT_PX = 700
# Rough width of the plotting area, for deciding whether tick labels need rotating or thinning.
_PLOT_WIDTH_PX = 620

# --- Style ----------------------------------------------------------------------------------------------

TITLE_SIZE = 12.0
LABEL_SIZE = 9.0
TICK_SIZE = 8.5
LEGEND_SIZE = 9.0
NOTE_SIZE = 8.0

TEXT_COLOR = "#1F2937"
MUTED_COLOR = "#6B7280"
AXIS_COLOR = "#9CA3AF"
GRID_COLOR = "#E5E7EB"
MASK_FACE = "#EEF0F3"
MASK_HATCH = "#B8BEC7"
NET_LINE_COLOR = "#374151"

# Tableau 10: distinct, print-safe; series take colours in order.
PALETTE = (
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#76B7B2",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
)
SENTIMENT_COLORS = {"正面": "#3BA55C", "中性": "#B0B7C3", "负面": "#E0524F"}

DIVERGING_CMAP = LinearSegmentedColormap.from_list(
    "shengliang_diverging", ["#B2182B", "#EF8A62", "#F7F7F7", "#7FBF7B", "#1B7837"]
)
SEQUENTIAL_CMAP = LinearSegmentedColormap.from_list(
    "shengliang_sequential", ["#F3F7FB", "#8DB3D9", "#1F4E79"]
)

NO_DATA_TEXT = "暂无数据"
GAP_TEXT = "—"
MAX_LABEL_CHARS = 12
_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

# --- Result ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    key: str  # stable id, used as a file/CID name, e.g. "trend_weibo"
    title: str  # Chinese title, also drawn in the chart
    png: bytes
    width_px: int
    height_px: int
    alt: str  # alt text (Chinese), short description of what is plotted


class ChartFontError(RuntimeError):
    """The CJK font the charts need is not installed."""


# --- Font -----------------------------------------------------------------------------------------------

_FONT_PACKAGE = "mplfonts"
_FONT_FILE = "NotoSansCJKsc-Regular.otf"  # SIL OFL; mplfonts also ships SimHei.ttf, which is not free
_FALLBACK_FAMILY = "DejaVu Sans"  # ships with matplotlib; covers a few symbols Noto CJK lacks
_register_lock = threading.Lock()


def _packaged_font(package: str, file_name: str) -> Path:
    """A font file inside an installed package's fonts/ folder; ChartFontError when it is not there."""
    hint = f"install it with `pip install {package}`"
    try:
        resource = resources.files(package) / "fonts" / file_name
    except ModuleNotFoundError as error:
        raise ChartFontError(
            f"Charts need the CJK font {file_name} from the Python package {package!r}, which is not "
            f"installed: {hint}"
        ) from error
    path = Path(str(resource))
    if not path.is_file():
        raise ChartFontError(f"The package {package!r} has no font file {path}: re-{hint}")
    return path


@cache
def cjk_font_path() -> Path:
    """The Noto Sans CJK SC file shipped by mplfonts; ChartFontError when mplfonts is not installed."""
    return _packaged_font(_FONT_PACKAGE, _FONT_FILE)


@cache
def _cjk_family() -> str:
    """Register the font with matplotlib's font manager (once per process) and return its family name."""
    path = cjk_font_path()
    with _register_lock:  # @cache may run this twice in racing threads: add the file only once
        if not any(entry.fname == str(path) for entry in font_manager.fontManager.ttflist):
            font_manager.fontManager.addfont(str(path))
    family = FT2Font(str(path)).family_name
    found = font_manager.findfont(FontProperties(family=family), fallback_to_default=False)
    if Path(found) != path:
        # Another installed font has the same family name and wins the font manager's lookup.
        log.warning("Font family %r resolves to %s, not to %s", family, found, path)
    return family


def cjk_font_properties(size: float = LABEL_SIZE) -> FontProperties:
    """The font every chart text uses: Noto Sans CJK SC, then DejaVu Sans for glyphs it lacks."""
    return FontProperties(family=[_cjk_family(), _FALLBACK_FAMILY], size=size)


@cache
def _charmap(font_path: Path) -> frozenset[int]:
    return frozenset(FT2Font(str(font_path)).get_charmap())


def missing_glyphs(text: str, font_path: Path | None = None) -> set[str]:
    """Characters of text (whitespace ignored) that have no glyph in the font, by default the CJK font."""
    codepoints = _charmap(font_path or cjk_font_path())
    return {char for char in text if not char.isspace() and ord(char) not in codepoints}


# --- Small helpers --------------------------------------------------------------------------------------


def _plain(text: str) -> str:
    """Escape "$" so that matplotlib never reads a label as mathtext."""
    return text.replace("$", r"\$")


def _shorten(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _text_width_px(text: str, size_pt: float) -> float:
    """Estimated rendered width: CJK characters are one em wide, others about 0.6 em."""
    em = size_pt * DPI / 72
    return sum(em if unicodedata.east_asian_width(char) in "WF" else 0.6 * em for char in text)


def _minus(text: str) -> str:
    return text.replace("-", "\u2212")


def _unit_for(magnitude: float) -> tuple[float, str]:
    """Chinese number units: 万 (10⁴) and 亿 (10⁸)."""
    if magnitude >= 1e8:
        return 1e8, "亿"
    if magnitude >= 1e4:
        return 1e4, "万"
    return 1.0, ""


class _CompactFormatter(Formatter):
    """Tick labels in one Chinese unit per axis (0, 0.5万, 1万 …; 250, 500 …), with as many decimals as
    the ticks need, thousands separators and a typographic minus."""

    def __init__(self) -> None:
        self._scale, self._suffix, self._decimals = 1.0, "", 0

    def set_locs(self, locs: Sequence[float]) -> None:
        finite = [float(loc) for loc in locs if math.isfinite(loc)]
        self._scale, self._suffix = _unit_for(max((abs(loc) for loc in finite), default=0.0))
        scaled = [loc / self._scale for loc in finite]
        self._decimals = next(
            (digits for digits in range(5) if all(abs(round(v, digits) - v) < 1e-9 for v in scaled)), 4
        )

    def __call__(self, x: float, pos: int | None = None) -> str:
        if not math.isfinite(x):
            return ""
        value = x / self._scale
        if round(value, self._decimals) == 0:
            return "0"
        return _minus(f"{value:,.{self._decimals}f}{self._suffix}")


def _format_value(value: float, value_format: str) -> str:
    return _minus(value_format.format(value)) if math.isfinite(value) else GAP_TEXT


def _check_key(key: str) -> None:
    if not _KEY_PATTERN.fullmatch(key):
        raise ValueError(f"Chart key {key!r} must be letters, digits, '_', '-' or '.' (it names a file)")


def _floats(values: Sequence[float | None], expected: int, what: str) -> np.ndarray:
    """Values as floats with NaN for None; the length must match the x axis."""
    if len(values) != expected:
        raise ValueError(f"{what} has {len(values)} values, expected {expected}")
    return np.array([math.nan if value is None else float(value) for value in values], dtype=float)


def _series(series: Mapping[str, Sequence[float | None]], expected: int, what: str) -> dict[str, np.ndarray]:
    return {name: _floats(values, expected, f"{what} series {name!r}") for name, values in series.items()}


def _has_data(arrays: Collection[np.ndarray]) -> bool:
    return any(bool(np.isfinite(array).any()) for array in arrays)


def _mask(masked: Sequence[bool] | None, expected: int) -> np.ndarray:
    if masked is None:
        return np.zeros(expected, dtype=bool)
    if len(masked) != expected:
        raise ValueError(f"masked has {len(masked)} flags, expected {expected}")
    return np.array([bool(flag) for flag in masked], dtype=bool)


def _date_label(day: date) -> str:
    return day.strftime("%m-%d")


def _thinned(count: int, max_labels: int) -> int:
    """Label every n-th position so that at most max_labels are shown (counted back from the last)."""
    for step in (1, 2, 3, 5, 7, 10, 14, 15, 30):
        if math.ceil(count / step) <= max_labels:
            return step
    return math.ceil(count / max_labels)


def _palette_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


# --- Figure scaffolding ---------------------------------------------------------------------------------


def _new_figure(title: str, height_px: int) -> Figure:
    fig = Figure(
        figsize=(WIDTH_PX / DPI, height_px / DPI),
        dpi=DPI,
        layout=ConstrainedLayoutEngine(w_pad=6 / 72, h_pad=6 / 72),
        facecolor="white",
    )
    FigureCanvasAgg(fig)
    fig.suptitle(
        _plain(title), x=0.012, ha="left", color=TEXT_COLOR, fontproperties=cjk_font_properties(TITLE_SIZE)
    )
    return fig


def _style_axes(ax: Axes, grid_axis: Literal["x", "y"] | None = "y") -> None:
    """Light grid, no top/right spines, every tick label in the CJK font."""
    ax.set_facecolor("white")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(AXIS_COLOR)
    ax.tick_params(
        labelfontfamily=_cjk_family(),
        labelsize=TICK_SIZE,
        labelcolor=MUTED_COLOR,
        color=AXIS_COLOR,
        length=3,
    )
    ax.set_axisbelow(True)
    if grid_axis is None:
        ax.grid(False)
    else:
        ax.grid(True, axis=grid_axis, color=GRID_COLOR, linewidth=0.8)
    for offset_text in (ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()):
        offset_text.set_fontproperties(cjk_font_properties(TICK_SIZE))


def _style_twin(ax: Axes) -> None:
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.grid(False)
    ax.tick_params(
        labelfontfamily=_cjk_family(), labelsize=TICK_SIZE, labelcolor=MUTED_COLOR, color=AXIS_COLOR, length=3
    )
    ax.yaxis.get_offset_text().set_fontproperties(cjk_font_properties(TICK_SIZE))


def _axis_label(ax: Axes, which: str, label: str | None) -> None:
    if not label:
        return
    font = cjk_font_properties(LABEL_SIZE)
    if which == "x":
        ax.set_xlabel(_plain(label), fontproperties=font, color=MUTED_COLOR)
    else:
        ax.set_ylabel(_plain(label), fontproperties=font, color=MUTED_COLOR)


def _legend(ax: Axes, handles: Sequence[Patch | Line2D], labels: Sequence[str]) -> None:
    """One legend row above the plot area (constrained layout makes room for it below the title)."""
    if not handles:
        return
    # As many columns as fit the image width: an entry is its marker (about 2.4 em) plus its text.
    em_px = LEGEND_SIZE * DPI / 72
    widest_px = max(_text_width_px(label, LEGEND_SIZE) for label in labels) + 3.8 * em_px
    columns = max(1, min(len(handles), 6, int((WIDTH_PX - 80) // widest_px)))
    ax.legend(
        handles,
        [_plain(label) for label in labels],
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        borderaxespad=0.0,
        ncols=columns,
        prop=cjk_font_properties(LEGEND_SIZE),
        frameon=False,
        handlelength=1.6,
        columnspacing=1.4,
        labelcolor=TEXT_COLOR,
    )


def _masked_patch(label: str) -> Patch:
    return Patch(facecolor=MASK_FACE, edgecolor=MASK_HATCH, hatch="///", linewidth=0, label=label)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()


def _chart(key: str, title: str, drawn: tuple[Figure, str], alt: str | None) -> Chart:
    """PNG and metadata of a drawn figure; alt, when given, replaces the generated alt text."""
    fig, default_alt = drawn
    width_px, height_px = (round(size * DPI) for size in fig.get_size_inches())
    return Chart(
        key=key, title=title, png=_png(fig), width_px=width_px, height_px=height_px, alt=alt or default_alt
    )


def _empty_figure(title: str, height_px: int) -> Figure:
    fig = _new_figure(title, height_px)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        NO_DATA_TEXT,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=MUTED_COLOR,
        fontproperties=cjk_font_properties(14),
    )
    return fig


def _no_data(title: str, height_px: int) -> tuple[Figure, str]:
    return _empty_figure(title, height_px), f"{title}：{NO_DATA_TEXT}。"


def _rows_height(rows: int, per_row_px: float, base_px: float) -> int:
    """Height for a chart with one band per row, rounded to 10 px and kept within the bounds."""
    raw = base_px + rows * per_row_px
    return int(min(MAX_HEIGHT_PX, max(MIN_HEIGHT_PX, round(raw / 10) * 10)))


# --- Line chart -----------------------------------------------------------------------------------------


def _x_positions(x: Sequence[date | int]) -> tuple[np.ndarray, bool]:
    """Numeric x positions (dates as day ordinals) and whether x holds dates."""
    if all(isinstance(value, date) for value in x):
        positions = np.array([value.toordinal() for value in x if isinstance(value, date)], dtype=float)
        is_dates = True
    elif all(isinstance(value, int) and not isinstance(value, bool) for value in x):
        positions = np.array(x, dtype=float)
        is_dates = False
    else:
        raise TypeError("x must hold only dates or only ints")
    if len(positions) > 1 and not bool(np.all(np.diff(positions) > 0)):
        raise ValueError("x must be strictly increasing")
    return positions, is_dates


def _isolated(values: np.ndarray) -> np.ndarray:
    """Finite points with no finite neighbour: a line would not show them, so they get a marker."""
    finite = np.isfinite(values)
    before = np.concatenate(([False], finite[:-1]))
    after = np.concatenate((finite[1:], [False]))
    return finite & ~before & ~after


def _plot_lines(
    ax: Axes,
    positions: np.ndarray,
    series: Mapping[str, np.ndarray],
    dashed: Collection[str],
    first_color: int,
    suffix: str,
) -> tuple[list[Line2D], list[str]]:
    handles: list[Line2D] = []
    labels: list[str] = []
    for index, (name, values) in enumerate(series.items()):
        color = _palette_color(first_color + index)
        style = "--" if name in dashed else "-"
        (line,) = ax.plot(positions, values, color=color, linestyle=style, linewidth=1.8)
        isolated = _isolated(values)
        if isolated.any():
            ax.plot(
                positions[isolated], values[isolated], color=color, marker="o", markersize=4, linestyle="none"
            )
        handles.append(line)
        labels.append(name + suffix)
    return handles, labels


def _floor_at_zero(ax: Axes, series: Collection[np.ndarray]) -> None:
    finite = [array[np.isfinite(array)] for array in series]
    values = np.concatenate(finite) if finite else np.array([])
    if values.size and float(values.min()) >= 0:
        highest = float(values.max())
        ax.set_ylim(0, highest * 1.1 if highest > 0 else 1)  # headroom: the top point stays visible
    elif not values.size:  # an axis whose series are all gaps: no made-up scale around 0
        ax.set_ylim(0, 1)
        ax.set_yticks([])


def line_chart(
    key: str,
    title: str,
    x: Sequence[date | int],
    left: Mapping[str, Sequence[float | None]],
    left_label: str,
    right: Mapping[str, Sequence[float | None]] | None = None,
    right_label: str | None = None,
    dashed: Collection[str] = (),
    x_label: str | None = None,
    alt: str | None = None,
) -> Chart:
    """Lines over dates (shown as MM-DD) or ints (e.g. age in days), with an optional right y axis.

    Series named in ``dashed`` (benchmarks) are drawn dashed. The legend covers both axes; right-axis
    series are labelled "（右轴）". A point between two gaps gets a marker so that it stays visible.
    """
    _check_key(key)
    return _chart(
        key,
        title,
        _line_figure(
            title=title,
            x=x,
            left=left,
            left_label=left_label,
            right=right,
            right_label=right_label,
            dashed=dashed,
            x_label=x_label,
        ),
        alt,
    )


def _line_figure(
    title: str,
    x: Sequence[date | int],
    left: Mapping[str, Sequence[float | None]],
    left_label: str,
    right: Mapping[str, Sequence[float | None]] | None = None,
    right_label: str | None = None,
    dashed: Collection[str] = (),
    x_label: str | None = None,
) -> tuple[Figure, str]:
    positions, is_dates = _x_positions(x)
    left_values = _series(left, len(x), "left")
    right_values = _series(right or {}, len(x), "right")
    if shared := left_values.keys() & right_values.keys():
        raise ValueError(f"series on both axes: {sorted(shared)}")
    if unknown := set(dashed) - left_values.keys() - right_values.keys():
        raise ValueError(f"dashed names no series: {sorted(unknown)}")
    if not _has_data([*left_values.values(), *right_values.values()]):
        return _no_data(title, LINE_HEIGHT_PX)

    fig = _new_figure(title, LINE_HEIGHT_PX)
    ax = fig.add_subplot()
    _style_axes(ax)
    handles, labels = _plot_lines(ax, positions, left_values, dashed, 0, "")
    _floor_at_zero(ax, left_values.values())
    ax.yaxis.set_major_formatter(_CompactFormatter())
    _axis_label(ax, "y", left_label)
    if right_values:
        twin = ax.twinx()
        _style_twin(twin)
        more_handles, more_labels = _plot_lines(
            twin, positions, right_values, dashed, len(left_values), "（右轴）"
        )
        handles += more_handles
        labels += more_labels
        _floor_at_zero(twin, right_values.values())
        twin.yaxis.set_major_formatter(_CompactFormatter())
        _axis_label(twin, "y", right_label)

    if is_dates:
        step = _thinned(int(positions[-1] - positions[0]) + 1, 8)
        ticks = np.arange(positions[-1], positions[0] - 0.5, -step)[::-1]
        ax.xaxis.set_major_locator(FixedLocator(ticks.tolist()))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda value, _pos: _date_label(date.fromordinal(int(round(value)))))
        )
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        ax.xaxis.set_major_formatter(_CompactFormatter())
    # The whole x range, even where only a few points have values (a first day's data).
    span = float(positions[-1] - positions[0]) if len(positions) > 1 else 1.0
    ax.set_xlim(float(positions[0]) - span * 0.01, float(positions[-1]) + span * 0.01)
    _axis_label(ax, "x", x_label)
    _legend(ax, handles, labels)

    first, last = (_date_label(value) if isinstance(value, date) else str(value) for value in (x[0], x[-1]))
    x_name = x_label or ("日期" if is_dates else "")
    alt = f"折线图：{title}。横轴{x_name}{first}至{last}；左轴{left_label}：{'、'.join(left_values)}"
    if right_values:
        alt += f"；右轴{right_label or ''}：{'、'.join(right_values)}"
    alt += "。"
    return fig, alt


# --- Stacked bar chart ----------------------------------------------------------------------------------


def _category_ticks(ax: Axes, labels: Sequence[str], horizontal: bool = False) -> None:
    """One tick per category; long labels shortened; vertical bars rotate labels that would collide."""
    shown = [_plain(_shorten(label)) for label in labels]
    positions = np.arange(len(labels))
    if horizontal:
        ax.set_yticks(positions, shown)
        return
    ax.set_xticks(positions, shown)
    slot_px = _PLOT_WIDTH_PX / max(len(labels), 1)
    if max((_text_width_px(label, TICK_SIZE) for label in shown), default=0) > 0.9 * slot_px:
        for tick_label in ax.get_xticklabels():
            tick_label.set_rotation(35)
            tick_label.set_horizontalalignment("right")
            tick_label.set_rotation_mode("anchor")


def _x_categories(x: Sequence[date | str]) -> tuple[list[str], bool]:
    if all(isinstance(value, date) for value in x):
        return [_date_label(value) for value in x if isinstance(value, date)], True
    if all(isinstance(value, str) for value in x):
        return [str(value) for value in x], False
    raise TypeError("x must hold only dates or only strings")


def _stack_colors(names: Sequence[str], colors: Mapping[str, str] | None) -> dict[str, str]:
    chosen: dict[str, str] = {}
    other = 0
    for name in names:
        if colors and name in colors:
            chosen[name] = colors[name]
        elif name in SENTIMENT_COLORS:
            chosen[name] = SENTIMENT_COLORS[name]
        else:
            chosen[name] = _palette_color(other)
            other += 1
    return chosen


def _masked_spans(ax: Axes, indexes: Sequence[int], label: str, count: int) -> None:
    """Full-height grey hatched bars with the label, so that suppressed reads as suppressed, not zero."""
    slot_px = _PLOT_WIDTH_PX / max(count, 1)
    rotation = 90 if _text_width_px(label, NOTE_SIZE) > 0.75 * slot_px else 0
    for index in indexes:
        ax.axvspan(
            index - 0.4,
            index + 0.4,
            facecolor=MASK_FACE,
            edgecolor=MASK_HATCH,
            hatch="///",
            linewidth=0,
            zorder=1,
        )
        ax.text(
            index,
            0.5,
            _plain(label),
            transform=ax.get_xaxis_transform(),
            rotation=rotation,
            ha="center",
            va="center",
            color=MUTED_COLOR,
            fontproperties=cjk_font_properties(NOTE_SIZE),
            bbox={"facecolor": MASK_FACE, "edgecolor": "none", "pad": 1.5},
            zorder=3,
        )


def _gap_marks(ax: Axes, indexes: Sequence[int], horizontal: bool = False) -> None:
    """A "—" at the baseline where a value is missing, so that a gap does not read as a zero."""
    for index in indexes:
        if horizontal:
            ax.text(
                0,
                index,
                " " + GAP_TEXT,
                ha="left",
                va="center",
                color=MUTED_COLOR,
                fontproperties=cjk_font_properties(NOTE_SIZE),
            )
        else:
            ax.text(
                index,
                0.01,
                GAP_TEXT,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                color=MUTED_COLOR,
                fontproperties=cjk_font_properties(NOTE_SIZE),
            )


def stacked_bar_chart(
    key: str,
    title: str,
    x: Sequence[date | str],
    stacks: Mapping[str, Sequence[float | None]],
    y_label: str,
    colors: Mapping[str, str] | None = None,
    masked: Sequence[bool] | None = None,
    masked_label: str = "已隐藏",
    line: tuple[str, Sequence[float | None]] | None = None,
    line_label: str | None = None,
    alt: str | None = None,
    line_limits: tuple[float, float] | None = (-100.0, 100.0),
) -> Chart:
    """Stacked bars per x (bottom to top in mapping order), optionally a line on a right axis.

    Stacks named 正面/中性/负面 are green/grey/red unless ``colors`` says otherwise; values must be ≥ 0.
    Masked positions show a full-height grey hatched bar with ``masked_label`` (also in the legend) and
    none of their values. The line (e.g. net sentiment) uses ``line_limits`` on the right axis (None: auto).
    """
    _check_key(key)
    return _chart(
        key,
        title,
        _stacked_bar_figure(
            title=title,
            x=x,
            stacks=stacks,
            y_label=y_label,
            colors=colors,
            masked=masked,
            masked_label=masked_label,
            line=line,
            line_label=line_label,
            line_limits=line_limits,
        ),
        alt,
    )


def _stacked_bar_figure(
    title: str,
    x: Sequence[date | str],
    stacks: Mapping[str, Sequence[float | None]],
    y_label: str,
    colors: Mapping[str, str] | None = None,
    masked: Sequence[bool] | None = None,
    masked_label: str = "已隐藏",
    line: tuple[str, Sequence[float | None]] | None = None,
    line_label: str | None = None,
    line_limits: tuple[float, float] | None = (-100.0, 100.0),
) -> tuple[Figure, str]:
    labels, is_dates = _x_categories(x)
    count = len(x)
    stack_values = _series(stacks, count, "stacks")
    if any(bool((array[np.isfinite(array)] < 0).any()) for array in stack_values.values()):
        raise ValueError("stacked values must not be negative")
    hidden = _mask(masked, count)
    line_name, line_values = (line[0], _floats(line[1], count, f"line {line[0]!r}")) if line else ("", None)
    # Suppressed positions show nothing but the grey bar, whatever values came with them.
    for array in stack_values.values():
        array[hidden] = math.nan
    if line_values is not None:
        line_values[hidden] = math.nan
    drawn = [*stack_values.values(), *([line_values] if line_values is not None else [])]
    if not _has_data(drawn) and not hidden.any():
        return _no_data(title, STACKED_HEIGHT_PX)

    fig = _new_figure(title, STACKED_HEIGHT_PX)
    ax = fig.add_subplot()
    _style_axes(ax)
    positions = np.arange(count, dtype=float)
    bottom = np.zeros(count)
    handles: list[Patch | Line2D] = []
    legend_labels: list[str] = []
    for name, color in _stack_colors(list(stack_values), colors).items():
        heights = np.nan_to_num(stack_values[name], nan=0.0)
        bars = ax.bar(positions, heights, width=0.8, bottom=bottom, color=color, linewidth=0, zorder=2)
        bottom += heights
        handles.append(bars.patches[0] if bars.patches else Patch(facecolor=color))
        legend_labels.append(name)
    no_values = ~np.any(np.isfinite(np.array(list(stack_values.values())).reshape(-1, count)), axis=0)
    _gap_marks(ax, [int(index) for index in np.flatnonzero(no_values & ~hidden)])
    if hidden.any():
        _masked_spans(ax, [int(index) for index in np.flatnonzero(hidden)], masked_label, count)
        handles.append(_masked_patch(masked_label))
        legend_labels.append(masked_label)
    top = float(bottom.max()) if count else 0.0
    ax.set_ylim(0, top * 1.08 if top > 0 else 1)
    ax.set_xlim(-0.6, count - 0.4)
    ax.yaxis.set_major_formatter(_CompactFormatter())
    _axis_label(ax, "y", y_label)

    if is_dates:
        # Every step-th day is labelled, counted back from the last; unlabelled days get no tick.
        labelled = list(range(count - 1, -1, -_thinned(count, 10)))[::-1]
        ax.set_xticks(positions[labelled], [labels[index] for index in labelled])
    else:
        _category_ticks(ax, labels)

    if line_values is not None:
        twin = ax.twinx()
        _style_twin(twin)
        if line_limits is not None:
            twin.set_ylim(*line_limits)
            if line_limits[0] < 0 < line_limits[1]:
                twin.axhline(0, color=AXIS_COLOR, linewidth=0.8, linestyle=":", zorder=1)
        (net_line,) = twin.plot(
            positions, line_values, color=NET_LINE_COLOR, linewidth=1.6, marker="o", markersize=3, zorder=4
        )
        twin.yaxis.set_major_formatter(_CompactFormatter())
        _axis_label(twin, "y", line_label)
        handles.append(net_line)
        legend_labels.append(line_name + "（右轴）")
    _legend(ax, handles, legend_labels)

    span = f"{labels[0]}至{labels[-1]}" if is_dates and labels else f"{count}项"
    alt = f"堆叠柱状图：{title}。{span}"
    if stack_values:
        alt += f"，{y_label}按{'、'.join(stack_values)}堆叠"
    if line_values is not None:
        alt += f"；折线为{line_name}（右轴）"
    if hidden.any():
        alt += f"；{int(hidden.sum())}处{masked_label}"
    alt += "。"
    return fig, alt


# --- Grouped bar chart ----------------------------------------------------------------------------------


def bar_chart(
    key: str,
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    value_label: str,
    horizontal: bool = False,
    value_format: str = "{:,.0f}",
    alt: str | None = None,
) -> Chart:
    """Grouped bars, one group per category. Horizontal bars list categories top to bottom and print each
    value at the bar's end (vertical bars too, where the values fit). Labels over 12 characters end in "…".
    Horizontal charts grow with the number of categories (300-700 px).
    """
    _check_key(key)
    return _chart(
        key,
        title,
        _bar_figure(
            title=title,
            categories=categories,
            series=series,
            value_label=value_label,
            horizontal=horizontal,
            value_format=value_format,
        ),
        alt,
    )


def _bar_figure(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    value_label: str,
    horizontal: bool = False,
    value_format: str = "{:,.0f}",
) -> tuple[Figure, str]:
    count = len(categories)
    values = _series(series, count, "series")
    group_count = max(len(values), 1)
    height = _rows_height(count, 10 + 12 * group_count, 90) if horizontal else BAR_HEIGHT_PX
    if not _has_data(list(values.values())):
        return _no_data(title, height)

    fig = _new_figure(title, height)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="x" if horizontal else "y")
    positions = np.arange(count, dtype=float)
    width = 0.8 / group_count
    value_texts = [[_format_value(value, value_format) for value in array] for array in values.values()]
    slot_px = _PLOT_WIDTH_PX / max(count * group_count, 1)
    widest = max((_text_width_px(text, NOTE_SIZE) for texts in value_texts for text in texts), default=0.0)
    print_values = horizontal or widest <= slot_px
    handles: list[Patch | Line2D] = []
    for index, array in enumerate(values.values()):
        offsets = positions - 0.4 + width * (index + 0.5)
        lengths = np.nan_to_num(array, nan=0.0)
        color = _palette_color(index)
        if horizontal:
            bars = ax.barh(offsets, lengths, height=width * 0.92, color=color, linewidth=0, zorder=2)
        else:
            bars = ax.bar(offsets, lengths, width=width * 0.92, color=color, linewidth=0, zorder=2)
        handles.append(bars.patches[0] if bars.patches else Patch(facecolor=color))
        if print_values:
            ax.bar_label(
                bars,
                labels=[_plain(text) for text in value_texts[index]],
                padding=3,
                color=TEXT_COLOR,
                fontproperties=cjk_font_properties(NOTE_SIZE),
            )
        else:
            _gap_marks(ax, [int(i) for i in np.flatnonzero(~np.isfinite(array))], horizontal)

    finite = np.concatenate([array[np.isfinite(array)] for array in values.values()])
    low, high = min(0.0, float(finite.min())), max(0.0, float(finite.max()))
    room = 0.16 if print_values else 0.05  # space for the printed values
    limits = (low - (high - low) * room if low < 0 else 0.0, high + (high - low) * room if high > 0 else 0.0)
    if low < 0:  # a baseline where bars change direction
        (ax.axvline if horizontal else ax.axhline)(0, color=AXIS_COLOR, linewidth=0.8, zorder=1)
    if horizontal:
        ax.set_xlim(*limits)
        ax.set_ylim(count - 0.5, -0.5)  # first category on top
        ax.xaxis.set_major_formatter(_CompactFormatter())
        _category_ticks(ax, categories, horizontal=True)
        ax.tick_params(axis="y", length=0)
        _axis_label(ax, "x", value_label)
    else:
        ax.set_ylim(*limits)
        ax.set_xlim(-0.6, count - 0.4)
        ax.yaxis.set_major_formatter(_CompactFormatter())
        _category_ticks(ax, categories)
        ax.tick_params(axis="x", length=0)
        _axis_label(ax, "y", value_label)
    if len(values) > 1:
        _legend(ax, handles, list(values))

    alt = f"{'条形图' if horizontal else '柱状图'}：{title}。{count}个类别的{value_label}"
    if len(values) > 1:
        alt += f"（{'、'.join(values)}）"
    first_name, first = next(iter(values.items()))
    if np.isfinite(first).any():
        best = int(np.nanargmax(first))
        alt += f"；{first_name if len(values) > 1 else ''}最高为{categories[best]}（{value_texts[0][best]}）"
    alt += "。"
    return fig, alt


# --- Heatmap --------------------------------------------------------------------------------------------


def _heat_norm(finite: np.ndarray, vmin: float | None, vmax: float | None, diverging: bool) -> Normalize:
    """Diverging: centred on 0, symmetric unless vmin/vmax say otherwise. Else from 0 (or the lowest
    value, if negative) to the highest value."""
    lowest = float(finite.min()) if finite.size else 0.0
    highest = float(finite.max()) if finite.size else 1.0
    if diverging:
        bound = max(abs(lowest), abs(highest)) or 1.0
        low = -bound if vmin is None else vmin
        high = bound if vmax is None else vmax
        if low < 0 < high:
            return TwoSlopeNorm(vcenter=0.0, vmin=low, vmax=high)
    else:
        low = min(0.0, lowest) if vmin is None else vmin
        high = highest if vmax is None else vmax
    return Normalize(vmin=low, vmax=high if high > low else low + 1)


def _text_color_on(rgba: tuple[float, float, float, float]) -> str:
    red, green, blue, _alpha = rgba
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else TEXT_COLOR


def heatmap_chart(
    key: str,
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    masked: Sequence[Sequence[bool]] | None = None,
    masked_label: str = "已隐藏",
    value_format: str = "{:.0f}",
    vmin: float | None = None,
    vmax: float | None = None,
    diverging: bool = False,
    alt: str | None = None,
) -> Chart:
    """A rows × columns grid of coloured cells, each printing its value; a colour bar on the right.

    ``diverging``: red (negative) to green (positive), centred on 0 (symmetric unless vmin/vmax say
    otherwise); else light to dark blue. Masked cells are grey, hatched and read ``masked_label``; a None
    cell is blank and reads "—". The chart grows with the number of rows (300-700 px).
    """
    _check_key(key)
    return _chart(
        key,
        title,
        _heatmap_figure(
            title=title,
            rows=rows,
            columns=columns,
            values=values,
            masked=masked,
            masked_label=masked_label,
            value_format=value_format,
            vmin=vmin,
            vmax=vmax,
            diverging=diverging,
        ),
        alt,
    )


def _heatmap_figure(
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    masked: Sequence[Sequence[bool]] | None = None,
    masked_label: str = "已隐藏",
    value_format: str = "{:.0f}",
    vmin: float | None = None,
    vmax: float | None = None,
    diverging: bool = False,
) -> tuple[Figure, str]:
    row_count, column_count = len(rows), len(columns)
    if len(values) != row_count:
        raise ValueError(f"values has {len(values)} rows, expected {row_count}")
    matrix = np.array([_floats(row, column_count, f"values row {i}") for i, row in enumerate(values)])
    matrix = matrix.reshape(row_count, column_count)
    hidden = np.zeros((row_count, column_count), dtype=bool)
    if masked is not None:
        if len(masked) != row_count:
            raise ValueError(f"masked has {len(masked)} rows, expected {row_count}")
        for index, flags in enumerate(masked):
            hidden[index] = _mask(flags, column_count)
    matrix[hidden] = math.nan  # suppressed values are never coloured or printed
    height = _rows_height(row_count, 30, 110)
    if not _has_data([matrix]) and not hidden.any():
        return _no_data(title, height)

    fig = _new_figure(title, height)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis=None)
    for spine in ax.spines.values():
        spine.set_visible(False)
    finite = matrix[np.isfinite(matrix)]
    norm = _heat_norm(finite, vmin, vmax, diverging)
    cmap: Colormap = DIVERGING_CMAP if diverging else SEQUENTIAL_CMAP
    mesh = ax.pcolormesh(
        np.ma.masked_invalid(matrix), cmap=cmap, norm=norm, edgecolors="white", linewidth=1.0
    )
    ax.set_xlim(0, column_count)
    ax.set_ylim(row_count, 0)  # first row on top

    cell_texts = [
        [
            masked_label if hidden[r, c] else _format_value(matrix[r, c], value_format)
            for c in range(column_count)
        ]
        for r in range(row_count)
    ]
    cell_width_px = (_PLOT_WIDTH_PX - 60) / column_count  # the colour bar takes about 60 px
    cell_height_px = (height - 110) / row_count
    widest_em = max(_text_width_px(text, 72 / DPI) for row in cell_texts for text in row)
    font_size = max(
        5.0, min(9.0, 0.85 * cell_width_px / max(widest_em, 1.0) * 72 / DPI, 0.55 * cell_height_px * 72 / DPI)
    )
    cell_font = cjk_font_properties(font_size)
    for r in range(row_count):
        for c in range(column_count):
            if hidden[r, c]:
                ax.add_patch(
                    Rectangle(
                        (c, r),
                        1,
                        1,
                        facecolor=MASK_FACE,
                        edgecolor="white",
                        hatch="///",
                        hatchcolor=MASK_HATCH,
                        linewidth=1.0,
                        zorder=2,
                    )
                )
                color = MUTED_COLOR
                bbox = {"facecolor": MASK_FACE, "edgecolor": "none", "pad": 1.0}
            elif math.isfinite(matrix[r, c]):
                color = _text_color_on(tuple(to_rgba(cmap(norm(matrix[r, c])))))  # type: ignore[arg-type]
                bbox = None
            else:
                color = MUTED_COLOR
                bbox = None
            ax.text(
                c + 0.5,
                r + 0.5,
                _plain(cell_texts[r][c]),
                ha="center",
                va="center",
                color=color,
                fontproperties=cell_font,
                bbox=bbox,
                zorder=3,
            )

    ax.set_yticks(np.arange(row_count) + 0.5, [_plain(_shorten(row)) for row in rows])
    shown_columns = [_plain(_shorten(column)) for column in columns]
    ax.set_xticks(np.arange(column_count) + 0.5, shown_columns)
    if max(_text_width_px(column, TICK_SIZE) for column in shown_columns) > 0.9 * cell_width_px:
        for tick_label in ax.get_xticklabels():
            tick_label.set_rotation(35)
            tick_label.set_horizontalalignment("right")
            tick_label.set_rotation_mode("anchor")
    ax.tick_params(length=0)

    colorbar = fig.colorbar(mesh, ax=ax, fraction=0.04, pad=0.02, aspect=25)
    colorbar.outline.set_visible(False)
    colorbar.ax.tick_params(
        labelfontfamily=_cjk_family(), labelsize=TICK_SIZE, labelcolor=MUTED_COLOR, color=AXIS_COLOR, length=2
    )
    colorbar.formatter = _CompactFormatter()
    colorbar.update_ticks()
    colorbar.ax.yaxis.get_offset_text().set_fontproperties(cjk_font_properties(TICK_SIZE))

    named = "、".join(_shorten(row) for row in rows[:3]) + ("等" if row_count > 3 else "")
    alt = f"热力图：{title}。{row_count}行（{named}）×{column_count}列，每格标出数值"
    if hidden.any():
        alt += f"；{int(hidden.sum())}格{masked_label}"
    alt += "。"
    return fig, alt
