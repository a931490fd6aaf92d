"""Positions between ame_core (0-based lines, columns in code points) and the client.

The server offers UTF-32 when the client can take it (then columns pass through unchanged);
otherwise it speaks UTF-16, and only lines with characters outside the BMP need converting.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from ame_core.diagnostics import Range


class Positions:
    def __init__(self, encoding: str = types.PositionEncodingKind.Utf16) -> None:
        self.encoding = encoding
        self.utf32 = encoding == types.PositionEncodingKind.Utf32
        self.utf8 = encoding == types.PositionEncodingKind.Utf8

    def _units(self, text: str) -> int:
        if self.utf8:
            return len(text.encode("utf-8"))
        return len(text.encode("utf-16-le")) // 2

    def col_to_client(self, line_text: str | None, col: int) -> int:
        if self.utf32 or line_text is None or line_text.isascii():
            return col
        if self.utf8:
            return len(line_text[:col].encode("utf-8"))
        if all(ord(c) < 0x10000 for c in line_text):
            return col
        return self._units(line_text[:col])

    def col_from_client(self, line_text: str | None, units: int) -> int:
        if self.utf32 or line_text is None or line_text.isascii():
            return units
        if not self.utf8 and all(ord(c) < 0x10000 for c in line_text):
            return units
        count = 0
        for index, char in enumerate(line_text):
            if count >= units:
                return index
            count += self._units(char)
        return len(line_text)

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
