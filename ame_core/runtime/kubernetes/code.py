"""How the project's files reach the pod without the user building an image.

Default: the project directory (honouring `.gitignore`) is packed into `code.tar.gz`, uploaded
as an artifact of the task's MLflow run, and unpacked by an init container; the only thing the
cluster must reach is the MLflow tracking server. Alternative: a git source — the repository's
remote at the current commit (a dirty tree is refused unless allowed).
"""

from __future__ import annotations

import fnmatch
import io
import os
import subprocess
import tarfile
from pathlib import Path

from ame_core.quantity import format_bytes
from ame_core.runtime.backend import BackendError
from ame_core.runtime.kubernetes.manifests import CodeSource

# Never shipped: local state, environments and caches.
ALWAYS_SKIPPED = (
    ".git",
    ".ame",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
    "mlruns",
)


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def git_root(path: Path) -> Path | None:
    try:
        result = _git(["rev-parse", "--show-toplevel"], path)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def project_files(project_dir: Path) -> list[Path]:
    """The files to ship, relative to `project_dir`: git's view when it is a repository
    (tracked plus untracked-but-not-ignored), else a walk that applies `.gitignore` files."""
    project_dir = project_dir.resolve()
    root = git_root(project_dir)
    if root is not None:
        result = _git(
            ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            project_dir,
        )
        if result.returncode == 0:
            files = []
            for rel in result.stdout.split("\0"):
                if not rel:
                    continue
                path = project_dir / rel
                parts = Path(rel).parts
                if any(part in ALWAYS_SKIPPED for part in parts) or not path.is_file():
                    continue
                files.append(Path(rel))
            return sorted(files)
    return sorted(_walk(project_dir))


def _walk(project_dir: Path) -> list[Path]:
    out: list[Path] = []
    patterns: list[tuple[Path, str, bool]] = []  # (base dir, pattern, negated)

    def ignored(rel: Path, is_dir: bool) -> bool:
        result = False
        for base, pattern, negated in patterns:
            try:
                sub = rel.relative_to(base)
            except ValueError:
                continue
            if _match(sub, pattern, is_dir):
                result = not negated
        return result

    for dirpath, dirnames, filenames in os.walk(project_dir):
        here = Path(dirpath)
        rel_dir = here.relative_to(project_dir)
        gitignore = here / ".gitignore"
        if gitignore.is_file():
            for line in gitignore.read_text(errors="replace").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                negated = line.startswith("!")
                patterns.append((rel_dir, line[1:] if negated else line, negated))
        dirnames[:] = sorted(
            d for d in dirnames if d not in ALWAYS_SKIPPED and not ignored(rel_dir / d, True)
        )
        for name in sorted(filenames):
            rel = rel_dir / name
            if not ignored(rel, False) and (here / name).is_file():
                out.append(rel)
    return out


def _match(rel: Path, pattern: str, is_dir: bool) -> bool:
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if dir_only and not is_dir:
        return False
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    text = rel.as_posix()
    if anchored:
        return fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(text, pattern + "/**")
    return fnmatch.fnmatch(rel.name, pattern)


def pack_project(project_dir: Path, limit: int) -> bytes:
    """`code.tar.gz` of the project. Above `limit` bytes: a clear error naming the biggest
    files and how to leave them out."""
    project_dir = project_dir.resolve()
    files = project_files(project_dir)
    sizes = [(rel, (project_dir / rel).stat().st_size) for rel in files]
    total = sum(size for _, size in sizes)
    if total > limit:
        biggest = sorted(sizes, key=lambda item: -item[1])[:5]
        listing = ", ".join(f"{rel} ({format_bytes(size)})" for rel, size in biggest)
        raise BackendError(
            f"the project directory holds {format_bytes(total)} to upload, more than the limit "
            f"of {format_bytes(limit)} (AME_K8S_CODE_LIMIT). Biggest files: {listing}. Leave "
            "data and outputs out with .gitignore, raise AME_K8S_CODE_LIMIT, or use the git "
            "source (AME_K8S_CODE=git)"
        )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for rel, _ in sizes:
            info = archive.gettarinfo(str(project_dir / rel), arcname=rel.as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(project_dir / rel, "rb") as handle:
                archive.addfile(info, handle)
    return buffer.getvalue()


def git_source(project_dir: Path, allow_dirty: bool) -> CodeSource:
    """The repository's remote at the current commit. Refuses a dirty tree (the pod would run
    other code than the user sees) unless `allow_dirty`, and a commit no remote branch has."""
    project_dir = project_dir.resolve()
    root = git_root(project_dir)
    if root is None:
        raise BackendError(
            f"{project_dir} is not in a git repository: the git source needs one "
            "(or use the default MLflow upload: AME_K8S_CODE=mlflow)"
        )
    remote = _git(["remote"], root).stdout.split()
    if not remote:
        raise BackendError(f"the repository {root} has no remote for the cluster to clone")
    name = "origin" if "origin" in remote else remote[0]
    url = _git(["remote", "get-url", name], root).stdout.strip()
    commit = _git(["rev-parse", "HEAD"], root).stdout.strip()
    if not commit:
        raise BackendError(f"the repository {root} has no commit yet")
    if not allow_dirty:
        status = _git(["status", "--porcelain", "--", "."], project_dir).stdout.strip()
        if status:
            changed = ", ".join(line[3:] for line in status.splitlines()[:5])
            raise BackendError(
                f"the working tree has changes that the cluster would not see ({changed}): "
                "commit and push them, or pass --allow-dirty to run the last commit anyway"
            )
    contains = _git(["branch", "-r", "--contains", commit], root)
    if contains.returncode == 0 and not contains.stdout.strip():
        raise BackendError(
            f"commit {commit[:12]} is not on any branch of the remote '{name}': push it first "
            "so the cluster can fetch it"
        )
    subdir = project_dir.relative_to(root.resolve()).as_posix()
    return CodeSource(
        kind="git", repo_url=url, commit=commit, subdir="" if subdir == "." else subdir
    )
