"""Positions between ame_core (0-based lines, columns in code points) and the client.

The client's code units (UTF-16 unless it took UTF-32 or UTF-8) are counted by pygls's
`PositionCodec`, the workspace's; this adds our `Range` type and a short cut: an ASCII line
(nearly all of an ame.yml) has the same columns in every encoding.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import PositionCodec

from ame_core.diagnostics import Range


class Positions:
    def __init__(self, codec: PositionCodec | None = None) -> None:
        self.codec = codec or PositionCodec(types.PositionEncodingKind.Utf16)

    def col_to_client(self, line_text: str | None, col: int) -> int:
        if line_text is None or line_text.isascii():
            return col
        return self.codec.client_num_units(line_text[:col])

    def col_from_client(self, line_text: str | None, units: int) -> int:
        if line_text is None or line_text.isascii():
            return units
        if units >= self.codec.client_num_units(line_text):
            return len(line_text)  # at or past the end of the line
        position = self.codec.position_from_client_units([line_text], types.Position(0, units))
        return position.character

    def position(self, lines: Sequence[str], line: int, col: int) -> types.Position:
        text = lines[line] if 0 <= line < len(lines) else None
        return types.Position(line=max(line, 0), character=max(self.col_to_client(text, col), 0))

    def range(self, lines: Sequence[str], rng: Range) -> types.Range:
        return types.Range(
            start=self.position(lines, rng.start_line, rng.start_col),
            end=self.position(lines, rng.end_line, rng.end_col),
        )

    def span(self, lines: Sequence[str], line: int, start: int, end: int) -> types.Range:
        return self.range(lines, Range(line, start, line, end))

    def from_client(self, lines: Sequence[str], pos: types.Position) -> tuple[int, int]:
        text = lines[pos.line] if 0 <= pos.line < len(lines) else None
        return pos.line, self.col_from_client(text, pos.character)

    def range_from_client(self, lines: Sequence[str], rng: types.Range) -> Range:
        sl, sc = self.from_client(lines, rng.start)
        el, ec = self.from_client(lines, rng.end)
        return Range(sl, sc, el, ec)
