"""Every project file the server knows: the workspace folders, AME_PATH and open documents.

Files on disk are read at start-up and kept current through `workspace/didChangeWatchedFiles`;
an open document's text wins over the file on disk. Each file's project index and analysis are
cached for the text they were made from, so an unchanged file is never parsed twice. Each
analysis records which other projects it looked up, so a change to one file re-checks exactly
the open files that depend on it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ame_core.engine import Analysis, analyze, index_text
from ame_core.policy.loading import PolicySource
from ame_core.project_files import PROJECT_FILE_NAMES, ame_path_dirs, iter_project_files
from ame_core.resolve import ProjectIndex, Workspace
from ame_lsp.yaml_text import project_line_name


def uri_to_path(uri: str) -> str:
    """A stable key for a document: its file system path, or the URI itself (untitled:)."""
    if uri.startswith("file:"):
        from pygls.uris import to_fs_path

        path = to_fs_path(uri)
        if path:
            return os.path.normpath(os.path.abspath(path))
    return uri


def path_to_uri(path: str) -> str:
    if "://" in path or path.startswith("untitled:"):
        return path
    from pygls.uris import from_fs_path

    return from_fs_path(path) or path


_UNKNOWN = object()


class EditorDocument(Protocol):
    """A document as the editor protocol keeps it (pygls's `TextDocument`)."""

    @property
    def source(self) -> str: ...

    @property
    def version(self) -> int | None: ...


@dataclass
class OpenDoc:
    """A file the editor has open. Its text and version are the protocol's document's (pygls
    applies the edits to it), read when asked, never copied here."""

    uri: str
    document: EditorDocument
    # The project named on its `project:` line when last synced: after an edit, which projects'
    # dependants to re-check (the document already holds the new text).
    project: str | None = None

    @property
    def text(self) -> str:
        return self.document.source

    @property
    def version(self) -> int | None:
        return self.document.version


@dataclass
class _Cached:
    text: str
    index: ProjectIndex | None = None
    has_index: bool = False
    analysis: Analysis | None = None
    project: object = None


class ServerWorkspace(Workspace):
    """ame_core's Workspace for one file, answered from the index; records what it looked up."""

    def __init__(self, owner: WorkspaceIndex, path: str) -> None:
        super().__init__()
        self.owner = owner
        self.path = path
        self.looked_up: set[str] = set()
        self.policies = owner.policies

    def get(self, project: str) -> ProjectIndex | None:
        if project in self._known:
            return self._known[project]
        self.looked_up.add(project)
        found = self.owner.index_for_project(project, exclude=self.path)
        if found is not None:
            self._known[project] = found
        return found

    def project_names(self) -> list[str]:
        return sorted(set(self.owner.project_names()) | set(self._known))


class WorkspaceIndex:
    def __init__(self) -> None:
        self.roots: list[Path] = []
        self.disk: dict[str, str] = {}
        self.open: dict[str, OpenDoc] = {}
        self._cache: dict[str, _Cached] = {}
        self._lookups: dict[str, set[str]] = {}  # path → projects its checks looked up
        self.policies = PolicySource()

    # --- what is there ----------------------------------------------------------------------

    def set_roots(self, roots: Iterable[Path]) -> None:
        self.roots = [Path(r) for r in roots]
        self.policies = PolicySource(self.roots[0] if self.roots else None, self.policies.extra)

    def set_policies(self, paths: tuple[str, ...] | None) -> None:
        """The initialization option `policies` (paths; relative ones from the first workspace
        folder), on top of `.ame-policy/` and AME_POLICY."""
        if paths is None:
            return
        base = self.roots[0] if self.roots else Path.cwd()
        extra = tuple(base / p for p in paths)
        self.policies = PolicySource(self.roots[0] if self.roots else None, extra)
        self.invalidate(list(self._cache))

    def scan(self) -> list[str]:
        """Read every project file below the roots and AME_PATH; returns the paths found."""
        found: list[str] = []
        for root in [*self.roots, *ame_path_dirs()]:
            if not root.is_dir():
                continue
            for file in iter_project_files(root):
                path = os.path.normpath(os.path.abspath(file))
                if self.read_disk(path):
                    found.append(path)
        return found

    def rescan(self) -> None:
        """Read the roots again: files no longer below one are forgotten."""
        before = set(self.disk)
        found = set(self.scan())
        for path in before - found:
            self.forget_disk(path)

    def read_disk(self, path: str) -> bool:
        try:
            self.disk[path] = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            self.disk.pop(path, None)
            return False
        return True

    def forget_disk(self, path: str) -> None:
        self.disk.pop(path, None)
        if path not in self.open:
            self._cache.pop(path, None)

    def paths(self) -> list[str]:
        return sorted(set(list(self.disk)) | set(list(self.open)))

    def text(self, path: str) -> str | None:
        doc = self.open.get(path)
        if doc is not None:
            return doc.text
        return self.disk.get(path)

    def is_project_file(self, path: str) -> bool:
        return os.path.basename(path) in PROJECT_FILE_NAMES

    # --- open documents ---------------------------------------------------------------------

    def open_doc(self, path: str, uri: str, document: EditorDocument) -> None:
        self.open[path] = OpenDoc(uri, document, project_line_name(document.source))

    def sync_doc(self, path: str) -> tuple[str | None, str | None]:
        """An open document was edited: (project named before, project named now)."""
        doc = self.open[path]
        before, doc.project = doc.project, project_line_name(doc.text)
        return before, doc.project

    def close_doc(self, path: str) -> None:
        self.open.pop(path, None)
        if path in self.disk:
            self.read_disk(path)  # the editor may have left unsaved changes: disk is the truth
        else:
            self._cache.pop(path, None)

    # --- cached views of a file --------------------------------------------------------------

    def _entry(self, path: str) -> _Cached | None:
        text = self.text(path)
        if text is None:
            return None
        cached = self._cache.get(path)
        if cached is None or (cached.text is not text and cached.text != text):
            cached = _Cached(text, project=_UNKNOWN)
            self._cache[path] = cached
        return cached

    def analysis(self, path: str) -> Analysis | None:
        """The full analysis of a file's current text (cached)."""
        entry = self._entry(path)
        if entry is None:
            return None
        if entry.analysis is None:
            workspace = ServerWorkspace(self, path)
            entry.analysis = analyze(entry.text, path if "://" not in path else None, workspace)
            self._lookups[path] = workspace.looked_up
            entry.index, entry.has_index = entry.analysis.index, True
        return entry.analysis

    def analysis_of_text(self, path: str, text: str) -> Analysis:
        """Analyse `text` (runs in the analysis thread); cached if it is still the file's text."""
        workspace = ServerWorkspace(self, path)
        result = analyze(text, path if "://" not in path else None, workspace)
        entry = self._entry(path)
        if entry is not None and (entry.text is text or entry.text == text):
            entry.analysis = result
            entry.index, entry.has_index = result.index, True
            self._lookups[path] = workspace.looked_up
        return result

    def cached_analysis(self, path: str) -> Analysis | None:
        entry = self._cache.get(path)
        return entry.analysis if entry is not None else None

    def set_analysis(self, path: str, analysis: Analysis, lookups: set[str]) -> None:
        entry = self._entry(path)
        if entry is not None and entry.text == analysis.text:
            entry.analysis = analysis
            self._lookups[path] = lookups
            entry.index, entry.has_index = analysis.index, True

    def index(self, path: str) -> ProjectIndex | None:
        entry = self._entry(path)
        if entry is None:
            return None
        if not entry.has_index:
            entry.index = index_text(entry.text, path)
            entry.has_index = True
        return entry.index

    def project_name(self, path: str) -> str | None:
        """The file's project name, read from its `project:` line (cheap, even mid-edit)."""
        entry = self._entry(path)
        if entry is None:
            return None
        if entry.project is _UNKNOWN:
            entry.project = project_line_name(entry.text)
            if entry.project is None:
                index = self.index(path)
                entry.project = index.name if index is not None else None
        return entry.project  # type: ignore[return-value]

    def project_names(self) -> list[str]:
        return sorted({name for p in self.paths() if (name := self.project_name(p))})

    def index_for_project(self, project: str, exclude: str | None = None) -> ProjectIndex | None:
        path = self.path_of_project(project, exclude)
        return self.index(path) if path is not None else None

    def path_of_project(self, project: str, exclude: str | None = None) -> str | None:
        # Open documents first: they are what the user is editing.
        for path in [*list(self.open), *sorted(list(self.disk))]:
            if path != exclude and self.project_name(path) == project:
                return path
        return None

    def workspace_for(self, path: str) -> ServerWorkspace:
        return ServerWorkspace(self, path)

    def add_lookups(self, path: str, projects: set[str]) -> None:
        self._lookups.setdefault(path, set()).update(projects)

    def invalidate(self, paths: Iterable[str]) -> None:
        """Drop the analyses of files whose text did not change but whose context did."""
        for path in paths:
            entry = self._cache.get(path)
            if entry is not None:
                entry.analysis = None

    def dependants(self, path: str, projects: set[str]) -> list[str]:
        """Open files (other than `path`) whose last analysis looked up one of `projects`."""
        out = []
        for other in self.open:
            if other != path and self._lookups.get(other, set()) & projects:
                out.append(other)
        return out
