"""Metric histories of several runs drawn over each other: one chart per metric, one colour per
run, x by step (runs with fewer steps end earlier), y over the values of every run."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ame_tui.widgets.metric_chart import fmt

COLOURS = ("cyan", "magenta", "yellow", "green", "red", "blue", "bright_white", "orange1")
BOTH = "◆"  # a cell two runs land on
MARK = "•"

# metric → one history per run ((step, value) points; None: the run did not log it)
Charts = dict[str, list[list[tuple[int, float]] | None]]


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def plot(series: list[list[tuple[int, float]] | None], width: int, height: int) -> list[Text]:
    """`height` lines of `width` cells: each run's points, in its colour."""
    points = [p for s in series if s for p in s]
    if not points:
        return [Text("")] * height
    last_step = max(step for step, _ in points) or 1
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = high - low
    grid: list[list[tuple[str, str] | None]] = [[None] * width for _ in range(height)]
    for index, runs_points in enumerate(series):
        for x, value in _columns(runs_points or [], last_step, width):
            y = height // 2 if span == 0 else round((value - low) / span * (height - 1))
            row = height - 1 - y
            cell = grid[row][x]
            if cell is None or cell[1] == colour(index):
                grid[row][x] = (MARK, colour(index))
            else:
                grid[row][x] = (BOTH, "bold white")
    lines = []
    for row in grid:
        line = Text()
        for cell in row:
            if cell is None:
                line.append(" ")
            else:
                line.append(cell[0], style=cell[1])
        lines.append(line)
    return lines


def _columns(
    points: list[tuple[int, float]], last_step: int, width: int
) -> list[tuple[int, float]]:
    """(column, value) for every column the run's steps span, linearly between its points, so
    each run reads as a line (a run with fewer steps stops earlier)."""
    if not points:
        return []
    out = []
    scale = (width - 1) / last_step
    for (s0, v0), (s1, v1) in zip(points, points[1:], strict=False):
        x0, x1 = round(s0 * scale), round(s1 * scale)
        for x in range(x0, max(x0 + 1, x1)):
            t = 0.0 if x1 == x0 else (x - x0) / (x1 - x0)
            out.append((x, v0 + (v1 - v0) * t))
    step, value = points[-1]
    out.append((round(step * scale), value))
    return out


class OverlayChart(Widget):
    """Every metric given, each as a chart of all the runs' histories, with their legend."""

    DEFAULT_CSS = """
    OverlayChart { height: auto; padding: 0 1; }
    """

    charts: reactive[Charts] = reactive(dict, always_update=True, layout=True)
    labels: reactive[list[str]] = reactive(list, always_update=True)

    def __init__(self, chart_height: int = 6, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart_height = chart_height

    def render(self) -> Group | Text:
        if not self.charts:
            return Text("no metric to draw", style="grey50")
        width = max(10, self.size.width - 14)
        legend = Text("  ")
        for index, label in enumerate(self.labels):
            legend.append(f"{MARK} {label}   ", style=colour(index))
        legend.append(f"{BOTH} more than one", style="grey50")
        parts: list[Text] = [legend]
        for key, series in self.charts.items():
            values = [v for s in series if s for _, v in s]
            if not values:
                continue
            steps = max((s[-1][0] for s in series if s), default=0)
            if all(s is None or len(s) == 1 for s in series):  # one value each: nothing to draw
                line = Text(f"\n{key}", style="bold").append("  one value each: ", "grey50")
                for index, s in enumerate(series):
                    line.append(f"{MARK} {fmt(s[0][1]) if s else '—'}   ", style=colour(index))
                parts.append(line)
                continue
            parts.append(Text(f"\n{key}", style="bold").append(f"  steps 0–{steps}", "grey50"))
            lines = plot(series, width, self.chart_height)
            for i, line in enumerate(lines):
                edge = (
                    fmt(max(values)) if i == 0 else fmt(min(values)) if i == len(lines) - 1 else ""
                )
                parts.append(Text(f"{edge:>10} │", style="grey50").append_text(line))
        return Group(*parts)
