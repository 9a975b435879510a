"""A stacked bar chart drawn on the server as SVG shapes (no script, no chart library)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.utils.formats import date_format

# Colours distinguishable for the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    plot_left: int = 0
    plot_right: int = 0
    plot_bottom: int = 0
    empty: bool = True


def axis_steps(value: int, *, most: int = 5) -> tuple[int, int]:
    """(top, step) of a y axis for counts up to `value`: a round step (1, 2 or 5 x 10^n,
    never below 1) and at most `most` steps, the top the first step at or above `value`."""
    if value <= 0:
        return 1, 1
    raw = value / most
    magnitude = 10 ** int(math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(value / step), step


def stacked_bars(
    months: list[dt.date],
    series: list[tuple[str, list[int]]],
    *,
    width: int = 900,
    height: int = 320,
) -> Chart:
    left, right, top, bottom = 56, 12, 12, 40
    chart = Chart(
        width=width,
        height=height,
        plot_left=left,
        plot_right=width - right,
        plot_bottom=height - bottom,
    )
    totals = [sum(values[i] for _label, values in series) for i in range(len(months))]
    top_value, tick = axis_steps(max(totals, default=0))
    chart.empty = not any(totals)
    plot_h = height - top - bottom
    slot = (width - left - right) / max(len(months), 1)
    bar_w = slot * 0.65

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / top_value

    for value in range(0, top_value + 1, tick):
        chart.y_ticks.append((round(y_of(value), 1), value))
    for i, month in enumerate(months):
        x = left + i * slot + (slot - bar_w) / 2
        chart.x_labels.append((round(left + i * slot + slot / 2, 1), date_format(month, "M y")))
        stacked = 0
        for index, (label, values) in enumerate(series):
            n = values[i]
            if not n:
                continue
            colour = PALETTE[index % len(PALETTE)]
            y_top = y_of(stacked + n)
            chart.bars.append(
                Bar(
                    x=round(x, 1),
                    y=round(y_top, 1),
                    width=round(bar_w, 1),
                    height=round(y_of(stacked) - y_top, 1),
                    colour=colour,
                    title=f"{label}, {date_format(month, 'F Y')}: {n}",
                )
            )
            stacked += n
    chart.legend = [(PALETTE[i % len(PALETTE)], label) for i, (label, _v) in enumerate(series)]
    return chart
