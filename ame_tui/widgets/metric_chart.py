"""Charts of metric histories: one small bar chart per metric, redrawn as the run logs."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

BARS = " ▁▂▃▄▅▆▇█"


def resample(values: list[float], width: int) -> list[float]:
    """Exactly `width` points: a short history is stretched (each point a few columns wide),
    a long one averaged per bucket (keeps the shape of long runs)."""
    if not values:
        return []
    if len(values) <= width:
        return [values[i * len(values) // width] for i in range(width)]
    out: list[float] = []
    for i in range(width):
        lo = i * len(values) // width
        hi = max(lo + 1, (i + 1) * len(values) // width)
        bucket = values[lo:hi]
        out.append(sum(bucket) / len(bucket))
    return out


def chart_rows(values: list[float], width: int, height: int) -> list[str]:
    """`height` lines of block characters drawing `values` left to right."""
    points = resample(values, width)
    if not points:
        return [""] * height
    low, high = min(points), max(points)
    span = high - low
    levels = [
        (height * 8 if span == 0 else round((v - low) / span * (height * 8 - 1)) + 1)
        for v in points
    ]
    rows = []
    for row in range(height - 1, -1, -1):
        base = row * 8
        rows.append("".join(BARS[max(0, min(8, level - base))] for level in levels))
    return rows


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "nan"
    if abs(value) >= 1e5 or (0 < abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"


class MetricChart(Widget):
    """Every metric of a run: name, last value, min/max, steps, and its history drawn."""

    DEFAULT_CSS = """
    MetricChart { height: auto; padding: 0 1; }
    """

    histories: reactive[dict[str, list[float]]] = reactive(dict, always_update=True, layout=True)

    def __init__(self, chart_height: int = 3, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart_height = chart_height

    def render(self) -> Table | Text:
        if not self.histories:
            return Text("no metrics logged yet", style="grey50")
        width = max(10, self.size.width - 34)
        table = Table.grid(padding=(0, 1))
        table.add_column(width=22, no_wrap=True)
        table.add_column(no_wrap=True)
        for key, values in self.histories.items():
            if not values:
                continue
            label = Text(key, style="bold")
            label.append(f"\n{fmt(values[-1])}", style="cyan")
            label.append(f"\nmin {fmt(min(values))} max {fmt(max(values))}", style="grey50")
            steps = f"{len(values)} step" + ("s" if len(values) != 1 else "")
            label.append(f"\n{steps}", style="grey50")
            if len(values) < 2:  # one value: nothing to draw
                table.add_row(label, Text("(a single value)", style="grey50"))
                continue
            rows = chart_rows(values, width, self.chart_height)
            table.add_row(label, Text("\n".join(rows), style="green"))
        return table
