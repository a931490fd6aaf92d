"""Diagnostics: what is wrong, where, and how to fix it.

Every check of the project writes these; `ame lint`, the language server and the TUI read them.
Positions are 0-based (LSP convention); output formats convert to 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    """LSP's numbering, so the language server passes it through unchanged."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Range:
    """A span of source text, 0-based lines and columns, end exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, line: int, col: int) -> Range:
        return cls(line, col, line, col)

    def contains(self, line: int, col: int) -> bool:
        if (line, col) < (self.start_line, self.start_col):
            return False
        return (line, col) <= (self.end_line, self.end_col)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.start_line, self.start_col, self.end_line, self.end_col)


ZERO_RANGE = Range(0, 0, 0, 0)

# A file with a million broken keys gets the first thousand problems, fast, not all of them slowly.
MAX_DIAGNOSTICS = 1000


@dataclass(frozen=True, slots=True)
class TextEdit:
    range: Range
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    """A quick fix: a title and the edits that apply it (all in the diagnostic's file)."""

    title: str
    edits: tuple[TextEdit, ...]
    preferred: bool = True


@dataclass(frozen=True, slots=True)
class Related:
    """Another place a diagnostic concerns (LSP relatedInformation, SARIF relatedLocations):
    in the same file when `path` is None."""

    message: str
    range: Range
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    range: Range
    fixes: tuple[Fix, ...] = ()
    # Tags for editors: "deprecated" greys out alias spellings, "unnecessary" fades dead text.
    tags: tuple[str, ...] = field(default=())
    related: tuple[Related, ...] = ()

    def sort_key(self) -> tuple[int, int, int, str]:
        return (self.range.start_line, self.range.start_col, int(self.severity), self.code)


# The stable codes. A code never changes meaning; new checks get new codes.
CODES: dict[str, str] = {
    "AME001": "YAML syntax error",
    "AME002": "more than one YAML document",
    "AME003": "duplicate key",
    "AME004": "alias expansion too large or too deep (alias bomb, pathological nesting)",
    "AME005": "recursive alias",
    "AME006": "mapping key is not a string",
    "AME007": "file is empty or not a mapping",
    "AME008": "merge key (<<) value is not a mapping",
    "AME009": "too many problems: the rest are not shown",
    "AME101": "wrong type",
    "AME102": "missing required field",
    "AME103": "unknown key",
    "AME104": "deprecated alias spelling",
    "AME105": "legacy spelling (no longer read)",
    "AME106": "tag in the wrong place",
    "AME107": "unknown tag",
    "AME108": "executor needs exactly one variant",
    "AME109": "invalid value",
    "AME110": "unquoted pythonVersion",
    "AME201": "invalid name",
    "AME202": "duplicate name",
    "AME203": "unknown task reference",
    "AME204": "unknown template reference",
    "AME205": "unknown data set reference",
    "AME206": "unknown project in reference",
    "AME207": "reference cycle",
    "AME208": "task has no executor",
    "AME209": "task needs a name",
    "AME210": "conflicting task definition",
    "AME301": "invalid quantity",
    "AME302": "fractional extended resource (GPU)",
    "AME303": "unknown resource name",
    "AME304": "invalid cron schedule",
    "AME305": "invalid duration",
    "AME306": "invalid percentage",
    "AME401": "serving option not supported yet",
    "AME402": "both ame.yml and ame.yaml exist",
    "AME403": "`!pip` task without requirements.txt",
    "AME404": "the script a command runs is not in the project",
    "AME500": "policy file cannot be used (not YAML/JSON, or not a valid JSON Schema)",
    "AME501": "team policy broken",
}


def apply_edits(text: str, edits: tuple[TextEdit, ...] | list[TextEdit]) -> str:
    """Apply non-overlapping edits (0-based ranges) to text, as an editor would."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(line: int, col: int) -> int:
        if line >= len(lines):
            return len(text)
        return min(offsets[line] + col, offsets[line] + len(lines[line]))

    out = text
    for edit in sorted(edits, key=lambda e: (e.range.start_line, e.range.start_col), reverse=True):
        start = offset(edit.range.start_line, edit.range.start_col)
        end = offset(edit.range.end_line, edit.range.end_col)
        if edit.range.end_line > edit.range.start_line and edit.range.end_col == 0:
            end = (
                offsets[min(edit.range.end_line, len(lines))]
                if edit.range.end_line < len(offsets)
                else len(text)
            )
        out = out[:start] + edit.new_text + out[end:]
    return out
