"""The chart geometry: round y-axis steps, columns scaled to the top tick, zero bars flat,
x labels thinned out, long bar labels shortened (the full name stays for the tooltip)."""

from __future__ import annotations

from decimal import Decimal

from shopqr.services.charts import Bar, bar_chart, column_chart, nice_step
from shopqr.services.money import format_money


def test_nice_steps():
    assert nice_step(Decimal("0")) == 1
    assert nice_step(Decimal("6.00")) == Decimal("2")  # 1.5 a step -> 2: 0, 2, 4, 6
    assert nice_step(Decimal("9.10")) == Decimal("2.5")
    assert nice_step(Decimal("123")) == Decimal("50")
    assert nice_step(Decimal("1850000")) == Decimal("500000")  # riel


def test_a_riel_column_chart_has_round_labels_and_scaled_columns():
    values = [Decimal("0"), Decimal("1850000"), Decimal("925000")] + [Decimal("0")] * 21
    chart = column_chart("c", "t", "d", [Bar(str(i), v, "") for i, v in enumerate(values)],
                         fmt=lambda v: format_money(v, "KHR"), x_label="x", y_label="y",
                         max_ticks=8)
    assert [text for _y, text in chart.ticks] == [
        "0៛", "500,000៛", "1,000,000៛", "1,500,000៛", "2,000,000៛"]
    bottom, top = chart.ticks[0][0], chart.ticks[-1][0]
    tallest, half = chart.bars[1], chart.bars[2]
    assert tallest.height == round((bottom - top) * 1850000 / 2000000, 2)
    assert abs(half.height * 2 - tallest.height) < 0.02
    assert chart.bars[0].height == 0 and chart.bars[0].y == bottom
    assert [b.label for b in chart.bars if b.tick] == ["0", "3", "6", "9", "12", "15", "18", "21"]


def test_bar_labels_are_shortened_but_kept_whole_for_the_tooltip():
    name = "Iced caramel macchiato with oat milk"
    chart = bar_chart("b", "t", "d", [Bar(name, Decimal("5"), "$5.00"),
                                      Bar("Tea", Decimal("0"), "$0.00")])
    assert chart.bars[0].label.endswith("…") and len(chart.bars[0].label) == 26
    assert chart.bars[0].full_label == name
    assert chart.bars[0].width > 0 and chart.bars[1].width == 0
