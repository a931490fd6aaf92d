"""Masking secret values (`****`) in everything the project writes.

`Masker.feed` works on a byte stream: it holds back the end of a chunk while it could be the
start of a secret, so a value split across two reads is still masked.
"""

from __future__ import annotations

MASK = b"****"


class Masker:
    def __init__(self, values: list[str] | tuple[str, ...] = ()) -> None:
        raw = {v.encode("utf-8") for v in values if v}
        # Longest first, so a value that contains another is masked whole.
        self.values = sorted(raw, key=len, reverse=True)
        self._pending = b""

    def mask(self, data: bytes) -> bytes:
        for value in self.values:
            data = data.replace(value, MASK)
        return data

    def mask_text(self, text: str) -> str:
        return self.mask(text.encode("utf-8")).decode("utf-8", "replace")

    def _held(self, data: bytes) -> int:
        """How many bytes at the end of data might begin a secret."""
        best = 0
        for value in self.values:
            for n in range(min(len(value) - 1, len(data)), best, -1):
                if data.endswith(value[:n]):
                    best = n
                    break
        return best

    def feed(self, chunk: bytes) -> bytes:
        if not self.values:
            return chunk
        data = self.mask(self._pending + chunk)
        keep = self._held(data)
        self._pending = data[len(data) - keep :] if keep else b""
        return data[: len(data) - keep] if keep else data

    def flush(self) -> bytes:
        data, self._pending = self.mask(self._pending), b""
        return data
