"""Where a project file's team policies come from, and reading them.

The same for `ame lint`, the language server, the console and the flows: every `.ame-policy/`
directory from the project file's directory up to the workspace root (`*.json`, `*.yaml`,
`*.yml`, committed with the projects), then the paths in `AME_POLICY` (`:`-separated, files or
directories), then the ones a caller adds (`ame lint --policy`, the server's `policies`).
A file is read once per change (its size and mtime are the key).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POLICY_DIR = ".ame-policy"
SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Policy:
    """One policy file as read; parsed when first needed (a command whose results are cached
    never parses it)."""

    path: Path
    name: str  # as shown in messages: relative to the workspace root where it is below it
    text: str
    digest: str

    def parsed(self) -> Any:
        """The schema, or the PolicyProblem saying why the file is not YAML or JSON."""
        found = _PARSED.get((self.digest, self.name))
        if found is None:
            found = _parse_text(self)
            _PARSED[(self.digest, self.name)] = found
        return found

    @property
    def schema(self) -> Any:
        """The schema (`{}` for a file that cannot be parsed: it then constrains nothing)."""
        found = self.parsed()
        return {} if isinstance(found, PolicyProblem) else found


_PARSED: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class PolicyProblem:
    """A policy file that cannot be used, with where in it."""

    path: Path
    name: str
    message: str
    line: int = 0  # 0-based
    col: int = 0

    def __str__(self) -> str:
        return f"policy {self.name}:{self.line + 1}:{self.col + 1}: {self.message}"


@dataclass
class PolicySet:
    policies: list[Policy] = field(default_factory=list)
    problems: list[PolicyProblem] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.policies or self.problems)

    @property
    def digest(self) -> str:
        parts = [f"{p.name}:{p.digest}" for p in self.policies] + [str(p) for p in self.problems]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class PolicySource:
    """The policies of the files of one workspace: `root` bounds the `.ame-policy/` search,
    `extra` are the caller's own files on top (relative ones: to the current directory)."""

    root: Path | None = None
    extra: tuple[Path, ...] = ()
    use_environment: bool = True
    persist: bool = False  # keep evaluation results in the cache directory (commands)

    def files_for(self, project_file: str | None) -> tuple[list[Path], list[PolicyProblem]]:
        found: list[Path] = []
        problems: list[PolicyProblem] = []
        for directory in self._directories(project_file):
            found += _policy_files(directory / POLICY_DIR)
        named: list[Path] = []
        if self.use_environment:
            named += [Path(p) for p in os.environ.get("AME_POLICY", "").split(os.pathsep) if p]
        named += list(self.extra)
        for path in named:
            if path.is_dir():
                found += _policy_files(path)
            elif path.is_file():
                found.append(path)
            else:
                problems.append(PolicyProblem(path, str(path), "no such file"))
        unique = list(dict.fromkeys(p.resolve() for p in found))
        return unique, problems

    def _directories(self, project_file: str | None) -> list[Path]:
        root = self.root.resolve() if self.root is not None else None
        if project_file and "://" not in project_file:
            start = Path(project_file).resolve().parent
        elif root is not None:
            start = root
        else:
            return []
        chain = [start]
        if root is not None and start != root and root in start.parents:
            for parent in start.parents:
                chain.append(parent)
                if parent == root:
                    break
        return list(reversed(chain))  # the outermost first

    def load(self, project_file: str | None) -> PolicySet:
        files, problems = self.files_for(project_file)
        result = PolicySet(problems=list(problems))
        root = self.root.resolve() if self.root is not None else None
        for path in files:
            read = read_policy(path, _display(path, root))
            if isinstance(read, PolicyProblem):
                result.problems.append(read)
            else:
                result.policies.append(read)
        return result


def _policy_files(directory: Path) -> list[Path]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return []
    return [
        Path(e.path)
        for e in entries
        if e.name.endswith(SUFFIXES) and e.is_file() and e.name[0] != "."
    ]


def _display(path: Path, root: Path | None) -> str:
    if root is not None and root in path.parents:
        return str(path.relative_to(root))
    return str(path)


_READ: dict[Path, tuple[tuple[int, int], Policy | PolicyProblem]] = {}


def read_policy(path: Path, name: str) -> Policy | PolicyProblem:
    """The parsed policy file, or what is wrong with reading it."""
    try:
        stat = path.stat()
    except OSError as exc:
        return PolicyProblem(path, name, f"cannot read: {exc.strerror or exc}")
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _READ.get(path)
    if cached is not None and cached[0] == key and _name_of(cached[1]) == name:
        return cached[1]
    result = _parse(path, name)
    _READ[path] = (key, result)
    return result


def _name_of(item: Policy | PolicyProblem) -> str:
    return item.name


def _parse(path: Path, name: str) -> Policy | PolicyProblem:
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except OSError as exc:
        return PolicyProblem(path, name, f"cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError:
        return PolicyProblem(path, name, "not UTF-8: save the file as UTF-8")
    return Policy(path, name, text, hashlib.sha256(data).hexdigest())


def _parse_text(policy: Policy) -> Any:
    import yaml

    path, name = policy.path, policy.name
    try:
        schema = yaml.load(policy.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "cannot be read"
        return PolicyProblem(
            path,
            name,
            f"not YAML or JSON: {what}",
            mark.line if mark else 0,
            mark.column if mark else 0,
        )
    except yaml.YAMLError as exc:
        return PolicyProblem(path, name, f"not YAML or JSON: {exc}")
    if not isinstance(schema, dict | bool):
        return PolicyProblem(path, name, "a policy is a JSON Schema: an object (or true/false)")
    return schema
