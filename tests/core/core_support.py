"""Helpers shared by the core tests."""

from __future__ import annotations

from pathlib import Path

from ame_core.diagnostics import Diagnostic
from ame_core.engine import Analysis

REPO = Path(__file__).resolve().parents[2]
COMPAT = REPO.parent / "shared" / "compat" / "upstream"


def codes(analysis: Analysis) -> list[str]:
    return [d.code for d in analysis.diagnostics]


def only(analysis: Analysis, code: str) -> Diagnostic:
    found = [d for d in analysis.diagnostics if d.code == code]
    assert len(found) == 1, f"expected one {code}, got {analysis.diagnostics}"
    return found[0]


def text_at(text: str, diagnostic: Diagnostic) -> str:
    """The source text a diagnostic underlines (single-line ranges)."""
    r = diagnostic.range
    assert r.start_line == r.end_line, diagnostic
    return text.split("\n")[r.start_line][r.start_col : r.end_col]
