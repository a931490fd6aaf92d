"""The one line of a failed server's log that says why it failed.

A model server that cannot load its model prints a traceback and then, often, more lines
(uvicorn's "Waiting for application startup", MLServer's shutdown). The last line is seldom
the cause; the exception that ended the traceback is."""

from __future__ import annotations

import re

# The most telling first: a missing module, then an import error, then any other exception.
_PATTERNS = (
    re.compile(r"\bModuleNotFoundError: (.+)$"),
    re.compile(r"\bImportError: (.+)$"),
    re.compile(r"\b(?:MlflowException|MLServerError|ModelLoadError): (.+)$"),
    re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$"),
    re.compile(r"\baddress already in use\b.*$", re.IGNORECASE),
)


def first_cause(log: str) -> str:
    """The cause in `log` (the last occurrence of the most telling pattern), else its last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for pattern in _PATTERNS:
        for line in reversed(lines):
            match = pattern.search(line)
            if match:
                if pattern.groups == 2:
                    return f"{match.group(1)}: {match.group(2)}"
                return match.group(1) if pattern.groups else match.group(0)
    return lines[-1] if lines else ""
