"""Diagnostics as text for people and as JSON, GitHub annotations and SARIF for tools.

Positions become 1-based here; inside the project they are 0-based (LSP convention).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ame_core.diagnostics import CODES, Diagnostic, Related, Severity

FileDiagnostics = tuple[str, list[Diagnostic]]

_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}
_GITHUB_COMMAND = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "notice",
    Severity.HINT: "notice",
}


def as_records(results: Iterable[FileDiagnostics]) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for path, diagnostics in results:
        for d in diagnostics:
            records.append(
                {
                    "file": path,
                    "line": d.range.start_line + 1,
                    "column": d.range.start_col + 1,
                    "endLine": d.range.end_line + 1,
                    "endColumn": d.range.end_col + 1,
                    "severity": d.severity.label,
                    "code": d.code,
                    "message": d.message,
                }
            )
    return records


def format_text(results: Iterable[FileDiagnostics]) -> str:
    lines = [
        f"{r['file']}:{r['line']}:{r['column']}: {r['severity']} {r['code']} {r['message']}"
        for r in as_records(results)
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def format_json(results: Iterable[FileDiagnostics]) -> str:
    return json.dumps(as_records(results), indent=2) + "\n"


def _github_escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(results: Iterable[FileDiagnostics]) -> str:
    out = []
    for r in as_records(results):
        command = _GITHUB_COMMAND[Severity[str(r["severity"]).upper()]]
        props = ",".join(
            [
                f"file={_github_escape(str(r['file']), property_value=True)}",
                f"line={r['line']}",
                f"col={r['column']}",
                f"endLine={r['endLine']}",
                f"endColumn={r['endColumn']}",
                f"title={_github_escape(str(r['code']), property_value=True)}",
            ]
        )
        out.append(f"::{command} {props}::{_github_escape(str(r['message']))}")
    return "\n".join(out) + ("\n" if out else "")


def _sarif_related(path: str, related: Related) -> dict[str, object]:
    """Another place the result concerns (a policy result's task that uses a template)."""
    region = {
        "startLine": related.range.start_line + 1,
        "startColumn": related.range.start_col + 1,
        "endLine": related.range.end_line + 1,
        "endColumn": related.range.end_col + 1,
    }
    return {
        "physicalLocation": {"artifactLocation": {"uri": related.path or path}, "region": region},
        "message": {"text": related.message},
    }


def format_sarif(results: Iterable[FileDiagnostics], tool_version: str) -> str:
    results = list(results)
    used = sorted({d.code for _, ds in results for d in ds})
    rules = [{"id": code, "shortDescription": {"text": CODES.get(code, code)}} for code in used]
    sarif_results = []
    for path, diagnostics in results:
        for d in diagnostics:
            result = {
                "ruleId": d.code,
                "ruleIndex": used.index(d.code),
                "level": _SARIF_LEVEL[d.severity],
                "message": {"text": d.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": path},
                            "region": {
                                "startLine": d.range.start_line + 1,
                                "startColumn": d.range.start_col + 1,
                                "endLine": d.range.end_line + 1,
                                "endColumn": d.range.end_col + 1,
                            },
                        }
                    }
                ],
            }
            if d.related:
                result["relatedLocations"] = [_sarif_related(path, r) for r in d.related]
            sarif_results.append(result)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ame lint",
                        "version": tool_version,
                        "informationUri": "https://github.com/ame/ame-console",
                        "rules": rules,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
