"""Choosing a backend: `--backend`, else `$AME_BACKEND`, else `local`."""

from __future__ import annotations

import os
from pathlib import Path

from ame_core.runtime.backend import Backend, BackendError

BACKENDS = ("local", "kubernetes")


def backend_name(name: str | None = None) -> str:
    chosen = name or os.environ.get("AME_BACKEND") or "local"
    if chosen not in BACKENDS:
        raise BackendError(f"unknown backend '{chosen}' (choose one of: {', '.join(BACKENDS)})")
    return chosen


def get_backend(
    name: str | None,
    project_dir: Path,
    *,
    context: str | None = None,
    namespace: str | None = None,
) -> Backend:
    chosen = backend_name(name)
    if chosen == "kubernetes":
        try:
            from ame_core.runtime.kubernetes.backend import KubernetesBackend
        except ModuleNotFoundError as exc:
            raise BackendError(f"the kubernetes backend is not available here: {exc}") from None
        return KubernetesBackend(project_dir, context=context, namespace=namespace)
    from ame_core.runtime.local import LocalBackend

    return LocalBackend(project_dir)
