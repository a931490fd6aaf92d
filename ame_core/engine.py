"""The one diagnostics engine: `ame lint`, the language server and the TUI all call `analyze`."""

from __future__ import annotations

import gc
import re
import threading
from dataclasses import dataclass, field

from ame_core.checks import SemanticChecker
from ame_core.diagnostics import MAX_DIAGNOSTICS, Diagnostic, Fix, Range, Severity, TextEdit
from ame_core.document import YamlDocument, parse_yaml
from ame_core.resolve import ProjectIndex, Resolver, Workspace
from ame_core.spec.models import Project
from ame_core.validate import EXECUTOR_TAGS, SECRET_TAGS, check_schema


@dataclass(eq=False)  # one analysis is one object: hashed by identity (caches keyed by it)
class Analysis:
    """Everything known about one project file after the checks."""

    text: str
    path: str | None
    doc: YamlDocument
    project: Project | None
    index: ProjectIndex | None
    resolver: Resolver | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == Severity.ERROR]


def index_text(text: str, path: str | None = None) -> ProjectIndex | None:
    """Parse and schema-check a file just far enough to know its named objects."""
    doc = _parse_with_tag_recovery(text)[0]
    project, _, _ = check_schema(doc)
    return ProjectIndex.build(project, path) if project is not None else None


def analyze(
    text: str,
    path: str | None = None,
    workspace: Workspace | None = None,
    *,
    whole_file_names: dict[str, tuple[str, ...]] | None = None,
) -> Analysis:
    """Parse, check and resolve one project file. Never raises for any text.

    `whole_file_names` is for a text that holds only part of a file (see
    `ProjectIndex.whole_file_names`)."""
    # A large file allocates hundreds of thousands of small objects and no reference cycles:
    # re-scanning them doubles the time of `ame lint`. The collector is process-wide, so it
    # waits only while this is the process's only thread; where others run (the console's and
    # the language server's event loops) it is left alone.
    pause = gc.isenabled()
    gc.disable()  # first: asking for the threads allocates, which may start a collection
    if pause and threading.active_count() > 1:
        gc.enable()
        pause = False
    try:
        return _analyze(text, path, workspace, whole_file_names)
    finally:
        if pause:
            gc.enable()


def _analyze(
    text: str,
    path: str | None,
    workspace: Workspace | None,
    whole_file_names: dict[str, tuple[str, ...]] | None,
) -> Analysis:
    doc, recovered = _parse_with_tag_recovery(text)
    project, schema_diagnostics, error_paths = check_schema(doc)
    diagnostics = list(recovered) + doc.diagnostics + schema_diagnostics
    index: ProjectIndex | None = None
    resolver: Resolver | None = None
    if project is not None:
        index = ProjectIndex.build(project, path)
        index.whole_file_names = whole_file_names
        resolver = Resolver(index, workspace)
        checker = SemanticChecker(doc, project, index, resolver, error_paths, len(diagnostics))
        diagnostics += checker.run()
    policies = workspace.policies if workspace is not None else None
    if policies is not None:
        found = Analysis(text, path, doc, project, index, resolver, list(diagnostics))
        diagnostics += _policy_diagnostics(found, policies)
    diagnostics.sort(key=Diagnostic.sort_key)
    if len(diagnostics) >= MAX_DIAGNOSTICS:
        diagnostics = diagnostics[:MAX_DIAGNOSTICS]
        diagnostics.append(
            Diagnostic(
                "AME009",
                Severity.INFORMATION,
                f"more than {MAX_DIAGNOSTICS} problems: only the first {MAX_DIAGNOSTICS} are shown",
                Range(0, 0, 0, 0),
            )
        )
    return Analysis(text, path, doc, project, index, resolver, diagnostics)


def _policy_diagnostics(analysis: Analysis, source: object) -> list[Diagnostic]:
    """Team policies (AME5xx) on the resolved view; see `ame_core.policy`."""
    from ame_core.policy.check import policy_diagnostics
    from ame_core.policy.loading import PolicySource

    if not isinstance(source, PolicySource):
        return []
    found = source.load(analysis.path)
    if not found:
        return []
    return policy_diagnostics(analysis, found, source.persist)


# --- a tag on its own line above `executor:` -------------------------------------------------

_LONE_TAG = re.compile(r"^(?P<indent>\s*)(?P<tag>![A-Za-z][\w-]*)\s*$")
_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<key>[A-Za-z_][\w.-]*)\s*:(?P<rest>.*)$")


def _parse_with_tag_recovery(text: str) -> tuple[YamlDocument, list[Diagnostic]]:
    """Parse; when the only problem is a tag written on the line above a key (which YAML
    rejects), report that with a fix that moves the tag, and read the file as if fixed."""
    doc = parse_yaml(text)
    recovered: list[Diagnostic] = []
    for _ in range(20):  # each round moves one misplaced tag
        if not doc.diagnostics or doc.diagnostics[0].code != "AME001":
            break
        found = _misplaced_tag_above_key(doc)
        if found is None:
            break
        diagnostic, patched = found
        attempt = parse_yaml(patched)
        if (
            attempt.diagnostics
            and attempt.diagnostics[0].code == "AME001"
            and (attempt.diagnostics[0].range == doc.diagnostics[0].range)
        ):
            break
        recovered.append(diagnostic)
        doc = attempt
    if recovered:
        doc.text = text  # ranges are unchanged: the patch keeps every line where it was
        doc._lines = None
    return doc, recovered


def _misplaced_tag_above_key(doc: YamlDocument) -> tuple[Diagnostic, str] | None:
    lines = doc.lines
    error_line = doc.diagnostics[0].range.start_line
    for tag_line in (error_line - 1, error_line, error_line - 2):
        if not 0 <= tag_line < len(lines) - 1:
            continue
        match = _LONE_TAG.match(lines[tag_line])
        if match is None:
            continue
        key_line = tag_line + 1
        while key_line < len(lines) and not lines[key_line].strip():
            key_line += 1
        key_match = _KEY_LINE.match(lines[key_line]) if key_line < len(lines) else None
        if key_match is None:
            continue
        tag = match.group("tag")
        key = key_match.group("key")
        col = len(match.group("indent"))
        tag_range = Range(tag_line, col, tag_line, col + len(tag))
        colon = lines[key_line].index(":", key_match.start("key") + len(key))
        insert = Range(key_line, colon + 1, key_line, colon + 1)
        fix = Fix(
            f"Move {tag} onto `{key}:`",
            (TextEdit(Range(tag_line, 0, tag_line + 1, 0), ""), TextEdit(insert, f" {tag}")),
        )
        if key == "executor" or tag in EXECUTOR_TAGS:
            message = f"{tag} is written above `{key}:`; a tag goes on the value: `executor: {tag}`"
        elif tag in SECRET_TAGS:
            message = f"{tag} is written above `{key}:`; a secret tag goes on a `secrets:` item"
        else:
            message = f"tag {tag} is written above `{key}:`, where YAML does not allow it"
        diagnostic = Diagnostic("AME106", Severity.ERROR, message, tag_range, (fix,))
        patched_lines = list(lines)
        patched_lines[tag_line] = " " * len(lines[tag_line])
        patched_lines[key_line] = (
            lines[key_line][: colon + 1] + f" {tag}" + lines[key_line][colon + 1 :]
        )
        return diagnostic, "\n".join(patched_lines)
    return None
