"""The `ame` that runs here, as a wheel a flow's driver pod installs when no driver image is
named (AME_K8S_DRIVER_IMAGE).

Built from the files of the imported `ame_core` package, so an editable checkout ships what it
runs (local changes included), under the installed distribution's name and version, with its
dependencies minus the console's and the language server's, which a driver never imports. The
archive is deterministic: the same code gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path

DIST = "ame-console"
# Packages only the console (ame_tui) and the language server (ame_lsp) import.
UI_ONLY = {"textual", "textual-serve", "pygls", "lsprotocol"}
_SKIPPED_DIRS = {"__pycache__"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}
_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip's earliest time: fixed, so the bytes do not vary


def ame_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DIST)
    except PackageNotFoundError:
        return "0+unknown"


def requirements() -> list[str]:
    """The distribution's dependencies a driver needs (no extras, no UI packages)."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        entries = requires(DIST) or []
    except PackageNotFoundError:
        return []
    out = []
    for entry in entries:
        if "extra ==" in entry:
            continue
        name = re.split(r"[\s<>=!~;\[(]", entry, maxsplit=1)[0].lower()
        if name not in UI_ONLY:
            out.append(entry)
    return out


def _package_files() -> list[tuple[str, Path]]:
    import ame_core

    root = Path(ame_core.__file__).resolve().parent
    files = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix in _SKIPPED_SUFFIXES:
            continue
        rel = path.relative_to(root)
        if any(part in _SKIPPED_DIRS or part.startswith(".") for part in rel.parts):
            continue
        files.append((f"ame_core/{rel.as_posix()}", path))
    return files


def wheel_name(version: str | None = None) -> str:
    dist = DIST.replace("-", "_")
    return f"{dist}-{version or ame_version()}-py3-none-any.whl"


def build() -> tuple[str, bytes]:
    """(file name, bytes) of the wheel of the running ame."""
    version = ame_version()
    dist_info = f"{DIST.replace('-', '_')}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {DIST}",
        f"Version: {version}",
        "Summary: ame, shipped to a flow's driver pod",
        "Requires-Python: >=3.11",
        *(f"Requires-Dist: {req}" for req in requirements()),
    ]
    entries: list[tuple[str, bytes]] = [(arc, path.read_bytes()) for arc, path in _package_files()]
    entries.append((f"{dist_info}/METADATA", ("\n".join(metadata) + "\n").encode()))
    entries.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: ame\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    record_lines = [f"{arc},sha256={_digest(data)},{len(data)}" for arc, data in entries]
    record_lines.append(f"{dist_info}/RECORD,,")
    entries.append((f"{dist_info}/RECORD", ("\n".join(record_lines) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arc, data in entries:
            info = zipfile.ZipInfo(arc, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return wheel_name(version), buffer.getvalue()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
