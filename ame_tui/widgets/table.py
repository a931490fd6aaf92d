"""DataTable updates that keep the cursor on the same row and redraw only changed cells."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.widgets import DataTable


def sync_rows(table: DataTable, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Make `table` show `rows` ((key, cells) in order)."""
    keys = [key for key, _ in rows]
    current = [row_key.value for row_key in table.rows]
    if keys == current:
        columns = list(table.columns)
        changed = False
        for key, cells in rows:
            old = table.get_row(key)
            for column, (before, after) in enumerate(zip(old, cells, strict=False)):
                if str(before) != str(after) or getattr(before, "style", None) != getattr(
                    after, "style", None
                ):
                    # update_width: the table recomputes its virtual size when idle
                    table.update_cell(key, columns[column], after, update_width=True)
                    changed = True
        if changed:
            _size_columns(table, rows)
        return
    selected = selected_key(table)
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    _size_columns(table, rows)
    if selected in keys:
        table.move_cursor(row=keys.index(selected), animate=False)


def _size_columns(table: DataTable, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Column widths from the cells shown now, measured here rather than when the table is
    next idle, so what is drawn never depends on timing (and columns shrink again). The
    virtual (scrollable) size follows when the table is idle: `clear`/`add_row` and
    `update_cell(update_width=True)` ask for that."""
    for index, column in enumerate(table.columns.values()):
        width = cell_len(column.label.plain)
        for _, cells in rows:
            if index < len(cells):
                text = cells[index]
                plain = text.plain if hasattr(text, "plain") else str(text)
                width = max(width, max((cell_len(line) for line in plain.split("\n")), default=0))
        column.content_width = width
    table.refresh()


def selected_key(table: DataTable) -> str | None:
    if not table.row_count:
        return None
    try:
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    except Exception:  # noqa: BLE001 - no cursor yet
        return None
    return row_key.value
