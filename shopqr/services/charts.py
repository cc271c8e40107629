"""Geometry for the reports' server-side SVG charts (templates/settings/reports/_charts.html
draws them). Plain numbers in, coordinates out: no request, no database.

Two kinds: a column chart (sales over hours or days: a y axis with money labels) and a bar
chart (sales by category or payment method: one labelled row each, the amount written after
the bar). Every bar carries its value as text, so a screen reader and a table below the chart
say the same as the picture."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# Colours against the white card (contrast ratio checked by tests/settings/test_report_charts):
# bars 6.6:1, text 16:1, axis and grid lines 5.3:1.
BAR = "#b42318"
TEXT = "#1d1d1f"
AXIS = "#6b6b70"

# Column chart canvas (viewBox units; the SVG scales to its box, about 1:1 on a tablet)
COL_LEFT, COL_TOP, COL_PLOT_W, COL_PLOT_H, COL_BOTTOM = 92, 16, 620, 200, 48
# Bar chart canvas
ROW_H, LABEL_W, BAR_MAX_W, VALUE_W = 36, 210, 340, 170


@dataclass
class Bar:
    label: str  # "13:00", "04/12", "Coffee", "KHQR"
    value: Decimal
    text: str  # the value as shown: "$12.50"
    count: int | None = None  # orders or items behind the value, when the chart has one
    full_label: str = ""  # the label untruncated (bar charts cut long names)
    # geometry, filled in by the layout
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0
    tick: bool = True  # column charts: label this column on the x axis


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    bars: list[Bar]
    x_label: str = ""
    y_label: str = ""
    width: float = 0
    height: float = 0
    # column charts: (y, text) of each y-axis label and grid line
    ticks: list[tuple[float, str]] = field(default_factory=list)
    plot_left: float = COL_LEFT
    plot_top: float = COL_TOP
    plot_bottom: float = COL_TOP + COL_PLOT_H
    plot_right: float = COL_LEFT + COL_PLOT_W

    @property
    def total(self) -> Decimal:
        return sum((b.value for b in self.bars), Decimal("0"))

    @property
    def empty(self) -> bool:
        return not any(b.value for b in self.bars)


def nice_step(peak: Decimal, steps: int = 4) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) so that ``steps`` steps reach
    ``peak``."""
    if peak <= 0:
        return Decimal("1")
    raw = peak / steps
    magnitude = Decimal(1).scaleb(raw.adjusted())  # 10 ** floor(log10(raw))
    for m in (Decimal("1"), Decimal("2"), Decimal("2.5"), Decimal("5"), Decimal("10")):
        if m * magnitude >= raw:
            return m * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def column_chart(chart_id: str, title: str, desc: str, bars: Sequence[Bar], *,
                 fmt: Callable[[Decimal], str], x_label: str, y_label: str,
                 max_ticks: int = 12) -> Chart:
    """Columns left to right; y axis from 0 to a round top with money labels; at most
    ``max_ticks`` x-axis labels (every n-th column)."""
    chart = Chart(chart_id, title, desc, list(bars), x_label=x_label, y_label=y_label,
                  width=COL_LEFT + COL_PLOT_W + 12, height=COL_TOP + COL_PLOT_H + COL_BOTTOM)
    peak = max((b.value for b in chart.bars), default=Decimal("0"))
    step = nice_step(peak)
    top = step
    while top < peak:
        top += step
    value = Decimal("0")
    while value <= top:
        y = COL_TOP + COL_PLOT_H - float(value / top) * COL_PLOT_H
        chart.ticks.append((round(y, 1), fmt(value)))
        value += step
    count = len(chart.bars) or 1
    slot = COL_PLOT_W / count
    every = max(1, -(-count // max_ticks))  # ceil
    for i, bar in enumerate(chart.bars):
        bar.width = round(min(48.0, max(1.0, slot * 0.75)), 2)  # one day: not a wall
        bar.x = round(COL_LEFT + i * slot + (slot - bar.width) / 2, 2)
        bar.height = round(float(bar.value / top) * COL_PLOT_H, 2) if bar.value > 0 else 0
        bar.y = round(COL_TOP + COL_PLOT_H - bar.height, 2)
        bar.tick = i % every == 0
    return chart


def bar_chart(chart_id: str, title: str, desc: str, bars: Sequence[Bar],
              *, label_chars: int = 26) -> Chart:
    """One row per bar: label on the left, the bar, then its value written out."""
    chart = Chart(chart_id, title, desc, list(bars),
                  width=LABEL_W + BAR_MAX_W + VALUE_W, height=max(1, len(bars)) * ROW_H + 8)
    peak = max((b.value for b in chart.bars), default=Decimal("0"))
    for i, bar in enumerate(chart.bars):
        bar.full_label = bar.full_label or bar.label
        if len(bar.label) > label_chars:
            bar.label = bar.label[:label_chars - 1] + "…"
        bar.y = 4 + i * ROW_H
        bar.height = ROW_H - 12
        bar.x = LABEL_W
        if peak > 0 and bar.value > 0:
            bar.width = round(float(bar.value / peak) * BAR_MAX_W, 2)
    return chart
