"""The request log of a locally served model: what the proxy saw, per version, on disk.

Every request but health probes is one JSON line in
`.ame/serving/requests/<model>/v<version>/<segment start, ms>.jsonl`:
`{"t": epoch seconds, "s": status, "ms": latency}`, and for a sampled request also its input
rows (`"cols"`, `"rows"`) or why it had none (`"bad"`). Never a header, so never a credential.

Costs are capped and stated (README, "Monitoring"): at most `rows_per_minute` input rows per
version and minute are kept, and each version's folder holds at most `max_bytes` (oldest segments
go first). The proxy's request threads only append to a list; a background thread parses the
sampled bodies and writes once a second, so a request waits for neither.

Settings, read by the proxy from its environment: `AME_REQUEST_LOG=off` turns the log off,
`AME_REQUEST_LOG_ROWS_PER_MINUTE` (default 1000), `AME_REQUEST_LOG_MAX_MB` (per version,
default 64).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ame_core.monitoring.inputs import NotRows, parse

ROWS_PER_MINUTE = 1000
MAX_MB = 64
SEGMENTS_PER_VERSION = 8  # a segment is rotated at max_bytes / SEGMENTS_PER_VERSION


def log_root(project_dir: Path) -> Path:
    return Path(project_dir) / ".ame" / "serving" / "requests"


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    rows_per_minute: int = ROWS_PER_MINUTE
    max_bytes: int = MAX_MB << 20

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        enabled = env.get("AME_REQUEST_LOG", "on").strip().lower() not in ("off", "0", "false")
        return cls(
            enabled=enabled,
            rows_per_minute=_int(env.get("AME_REQUEST_LOG_ROWS_PER_MINUTE"), ROWS_PER_MINUTE),
            max_bytes=_int(env.get("AME_REQUEST_LOG_MAX_MB"), MAX_MB) << 20,
        )


def _int(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value else default
    except ValueError:
        return default


class RequestLog:
    """The writing side, in the proxy."""

    def __init__(self, directory: Path, settings: Settings) -> None:
        self.directory = directory  # .../requests/<model>
        self.settings = settings
        self._lock = threading.Lock()
        self._pending: list[tuple[str, float, int, float, bytes | None, str]] = []
        self._bodies_kept: dict[tuple[str, int], int] = {}  # (version, minute) → bodies kept
        self._rows_kept: dict[tuple[str, int], int] = {}  # (version, minute) → rows written
        self._segments: dict[str, Path] = {}

    def add(
        self, version: str, status: int, ms: float, body: bytes | None, content_type: str
    ) -> None:
        """Called on a request thread: O(1), no parsing, no I/O."""
        now = time.time()
        key = (version, int(now // 60))
        with self._lock:
            # Each body holds at least one row: past the minute's budget, bodies are not kept.
            kept = self._bodies_kept.get(key, 0)
            if body and kept < self.settings.rows_per_minute:
                self._bodies_kept[key] = kept + 1
            else:
                body = None
            self._pending.append((version, now, status, ms, body, content_type))

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            minute = int(time.time() // 60)
            for old in [k for k in self._bodies_kept if k[1] < minute - 1]:
                del self._bodies_kept[old]
        if not pending:
            return
        lines: dict[str, list[str]] = {}
        for version, at, status, ms, body, content_type in pending:
            entry: dict[str, Any] = {"t": round(at, 3), "s": status, "ms": round(ms, 3)}
            if body is not None:
                self._sample(entry, version, at, body, content_type)
            lines.setdefault(version, []).append(json.dumps(entry, separators=(",", ":")))
        for version, chunk in lines.items():
            try:
                self._append(version, "\n".join(chunk) + "\n")
            except OSError:
                pass  # the log is advisory: serving goes on (a full disk must not stop it)
        for old in [k for k in self._rows_kept if k[1] < minute - 1]:
            del self._rows_kept[old]

    def _sample(
        self, entry: dict[str, Any], version: str, at: float, body: bytes, content_type: str
    ) -> None:
        key = (version, int(at // 60))
        room = self.settings.rows_per_minute - self._rows_kept.get(key, 0)
        try:
            found = parse(body, content_type)
        except NotRows as exc:
            entry["bad"] = str(exc)[:200]
            return
        if room <= 0:
            return
        rows = found.rows[:room]
        self._rows_kept[key] = self._rows_kept.get(key, 0) + len(rows)
        if found.columns is not None:
            entry["cols"] = found.columns
        entry["rows"] = rows
        if len(rows) < len(found.rows):
            entry["cut"] = len(found.rows) - len(rows)

    def _append(self, version: str, text: str) -> None:
        folder = self.directory / f"v{version}"
        segment = self._segments.get(version)
        limit = max(1, self.settings.max_bytes // SEGMENTS_PER_VERSION)
        if segment is None or not segment.exists() or segment.stat().st_size >= limit:
            folder.mkdir(parents=True, exist_ok=True)
            segment = folder / f"{int(time.time() * 1000)}.jsonl"
            self._segments[version] = segment
            _cap(folder, self.settings.max_bytes - limit)
        with open(segment, "a", encoding="utf-8") as fh:
            fh.write(text)

    def run(self, interval: float = 1.0) -> None:
        while True:
            time.sleep(interval)
            self.flush()


def _segments(folder: Path) -> list[Path]:
    """A version's segments, oldest first (their names are their start times)."""
    found = [p for p in folder.glob("*.jsonl") if p.stem.isdigit()]
    return sorted(found, key=lambda p: int(p.stem))


def _cap(folder: Path, budget: int) -> None:
    """Delete the oldest segments until the rest fit in `budget` bytes."""
    segments = _segments(folder)
    sizes = [p.stat().st_size for p in segments]
    total = sum(sizes)
    for path, size in zip(segments, sizes, strict=True):
        if total <= budget:
            return
        path.unlink(missing_ok=True)
        total -= size


# --- the reading side ------------------------------------------------------------------------


@dataclass
class VersionLog:
    """One version's logged requests in a window."""

    version: str
    times: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    samples: list[tuple[list[str] | None, list[list[Any]]]] = field(default_factory=list)
    not_rows: dict[str, int] = field(default_factory=dict)  # reason → requests
    oldest_on_disk: float | None = None  # the log's first record: how far back it reaches


def read(root: Path, model: str, since: float, until: float | None = None) -> dict[str, VersionLog]:
    """Every version's records with `since <= t < until`, by version."""
    until = until if until is not None else float("inf")
    found: dict[str, VersionLog] = {}
    base = root / model
    if not base.is_dir():
        return found
    for folder in sorted(base.iterdir()):
        if not folder.is_dir() or not folder.name.startswith("v"):
            continue
        version = folder.name[1:]
        log = VersionLog(version)
        segments = _segments(folder)
        if segments:
            log.oldest_on_disk = int(segments[0].stem) / 1000
        for index, segment in enumerate(segments):
            following = segments[index + 1] if index + 1 < len(segments) else None
            if following is not None and int(following.stem) / 1000 < since:
                continue  # all of it is older than the window
            if int(segment.stem) / 1000 >= until:
                break
            _read_segment(segment, log, since, until)
        if log.times or log.not_rows:
            found[version] = log
    return found


def _read_segment(path: Path, log: VersionLog, since: float, until: float) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    loads = json.loads
    for line in text.splitlines():
        try:
            entry = loads(line)
            at = entry["t"]
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a crash mid-write
        if at < since or at >= until:
            continue
        log.times.append(at)
        log.statuses.append(int(entry.get("s", 0)))
        log.latencies_ms.append(float(entry.get("ms", 0.0)))
        rows = entry.get("rows")
        if rows:
            log.samples.append((entry.get("cols"), rows))
        elif "bad" in entry:
            reason = str(entry["bad"]).split(":", 1)[0]
            log.not_rows[reason] = log.not_rows.get(reason, 0) + 1


def disk_usage(root: Path, model: str) -> int:
    """Bytes the model's request log takes now."""
    base = root / model
    if not base.is_dir():
        return 0
    return sum(p.stat().st_size for p in base.glob("v*/*.jsonl"))
