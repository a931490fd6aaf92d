"""Files replaced whole: readers see the old content or the new, never a part."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path, mode: int = 0o644, *, durable: bool = False) -> Iterator[Path]:
    """A temporary path beside `path` to write in the `with` block; on success it replaces
    `path` by a rename, on an error it is removed. `durable` flushes it to disk first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(path: Path, text: str, mode: int = 0o644, *, durable: bool = False) -> None:
    """Write `text` to `path` whole. `durable` also flushes to disk first (secrets); run
    records skip it: they are rewritten many times a run and a record lost to a power cut is
    found as vanished."""
    with atomic_path(path, mode, durable=durable) as tmp:
        tmp.write_text(text, encoding="utf-8")
