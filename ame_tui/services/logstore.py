"""A lazily indexed, append-only log file: random access to any line without reading it all.

The index keeps one checkpoint (byte offset of a line start, its line number) per block of the
file, so a 1,000,000-line log is indexed by counting newlines block by block (no per-line Python
work) and any line is found by seeking to the nearest checkpoint and skipping at most one
block's lines. `refresh()` extends the index as the file grows, which is how following works.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import OrderedDict
from pathlib import Path

BLOCK = 1 << 16
SCAN = 1 << 22  # read this much at once while indexing
MAX_LINE = 1 << 16  # longer lines are shown cut (the file is not changed)
CACHE_LINES = 4000


class LineStore:
    """Line access to a growing file. Thread-safe: one thread refreshes and reads, the UI reads
    the cache."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._starts: list[int] = [0]  # checkpoint line numbers
        self._offsets: list[int] = [0]  # their byte offsets
        self._newlines = 0
        self._indexed = 0  # bytes indexed
        self._last_byte_newline = True
        self._cache: OrderedDict[int, str] = OrderedDict()

    # --- index ----------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        """Lines so far; a last line still being written counts."""
        return self._newlines + (0 if self._last_byte_newline else 1)

    @property
    def size(self) -> int:
        return self._indexed

    def refresh(self) -> bool:
        """Index what was appended since the last call. True if the file grew."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return False
        if size < self._indexed:  # truncated or replaced: start again
            with self._lock:
                self._starts, self._offsets = [0], [0]
                self._newlines, self._indexed = 0, 0
                self._last_byte_newline = True
                self._cache.clear()
        if size == self._indexed:
            return False
        partial_line = None if self._last_byte_newline else self.line_count - 1
        position = self._indexed
        try:
            with open(self.path, "rb") as handle:
                handle.seek(position)
                while position < size:
                    data = handle.read(min(SCAN, size - position))
                    if not data:
                        break
                    self._index_chunk(data, position)
                    position += len(data)
        except OSError:  # removed since stat: what was indexed stays readable from the cache
            pass
        with self._lock:
            self._indexed = position
            if partial_line is not None:  # the last line grew: drop its cached text
                self._cache.pop(partial_line, None)
        return True

    def _index_chunk(self, data: bytes, base: int) -> None:
        newlines = self._newlines
        last_checkpoint = self._offsets[-1]
        for start in range(0, len(data), BLOCK):
            end = min(start + BLOCK, len(data))
            count = data.count(b"\n", start, end)
            if not count:
                continue
            newlines += count
            line_start = base + data.rfind(b"\n", start, end) + 1
            if line_start - last_checkpoint >= BLOCK:
                self._starts.append(newlines)
                self._offsets.append(line_start)
                last_checkpoint = line_start
        self._newlines = newlines
        self._last_byte_newline = data.endswith(b"\n")

    # --- reading --------------------------------------------------------------------------

    def cached(self, line: int) -> str | None:
        with self._lock:
            return self._cache.get(line)

    def read_lines(self, first: int, count: int) -> list[str]:
        """Lines [first, first+count) that exist, decoded; they are cached for `cached`."""
        first = max(0, first)
        last = min(self.line_count, first + count)
        if last <= first:
            return []
        slot = bisect.bisect_right(self._starts, first) - 1
        line_no, offset = self._starts[slot], self._offsets[slot]
        lines: list[str] = []
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                while line_no < first:
                    if not _skip_line(handle):
                        return []
                    line_no += 1
                for _ in range(last - first):
                    raw = handle.readline(MAX_LINE)
                    if not raw:
                        break
                    if not raw.endswith(b"\n") and len(raw) == MAX_LINE:
                        _skip_line(handle)
                    lines.append(_decode(raw))
        except OSError:  # the file was removed: nothing more to read (a worker must not fail)
            return []
        with self._lock:
            for number, text in enumerate(lines, first):
                self._cache[number] = text
                self._cache.move_to_end(number)
            while len(self._cache) > CACHE_LINES:
                self._cache.popitem(last=False)
        return lines

    def line_offset(self, line: int) -> int | None:
        """Byte offset where `line` starts."""
        if line >= self.line_count:
            return None
        slot = bisect.bisect_right(self._starts, line) - 1
        line_no, offset = self._starts[slot], self._offsets[slot]
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            while line_no < line:
                if not _skip_line(handle):
                    return None
                line_no += 1
            return handle.tell()

    def find(self, needle: str, start: int, backwards: bool = False) -> int | None:
        """The first line at or after `start` (or the last before it, backwards) containing
        `needle`, case-insensitive (ASCII); None if there is none. Scans bytes, not lines."""
        needle_b = needle.lower().encode("utf-8", "replace")
        if not needle_b:
            return None
        try:
            if backwards:
                found = None
                for line in self._matches(needle_b, 0, self.line_count):
                    if line >= start:
                        break
                    found = line
                return found
            return next(iter(self._matches(needle_b, max(0, start), self.line_count)), None)
        except OSError:  # the file was removed
            return None

    def _matches(self, needle: bytes, first: int, last: int):
        offset = self.line_offset(first) if first < last else None
        if offset is None:
            return
        end = self._indexed
        line = first
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            while offset < end:
                chunk = handle.read(min(SCAN, end - offset))
                if not chunk:
                    return
                cut = chunk.rfind(b"\n") + 1 if offset + len(chunk) < end else len(chunk)
                if cut <= 0:  # one huge line: take the whole chunk
                    cut = len(chunk)
                chunk = chunk[:cut]
                lowered = chunk.lower()
                pos = lowered.find(needle)
                counted, counted_at = line, 0
                while pos >= 0:
                    counted += lowered.count(b"\n", counted_at, pos)
                    counted_at = pos
                    yield counted
                    # continue after the end of this line
                    nl = lowered.find(b"\n", pos)
                    if nl < 0:
                        break
                    counted += 1
                    counted_at = nl + 1
                    pos = lowered.find(needle, nl + 1)
                line += chunk.count(b"\n")
                offset += cut
                handle.seek(offset)


def _skip_line(handle) -> bool:
    while True:
        raw = handle.readline(MAX_LINE)
        if not raw:
            return False
        if raw.endswith(b"\n"):
            return True


def _decode(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").rstrip("\n").rstrip("\r")
    if "\r" in text:  # progress bars redraw with \r: show what the terminal would
        text = text.rsplit("\r", 1)[-1]
    return text.expandtabs(4)
