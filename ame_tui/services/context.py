"""What the app is looking at: the project, the backend, the MLflow store, read-only or not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ame_core.uris import redact_uri

if TYPE_CHECKING:
    from ame_core.runtime.backend import Backend, RunContext


def default_tracking_uri(project_dir: Path, cli_uri: str | None = None) -> str:
    """`--mlflow-uri`, $MLFLOW_TRACKING_URI, else the project's embedded store."""
    from ame_core.tracking import tracking_uri_for

    return tracking_uri_for(project_dir, cli_uri)


def display_uri(uri: str, project_dir: Path | None = None) -> str:
    """The URI without credentials or query secrets, and a project-local store shown relative
    to the project (no machine-specific paths on screen)."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if project_dir is not None:
            try:
                return f"sqlite:///{path.resolve().relative_to(project_dir.resolve())}"
            except ValueError:
                pass
        return uri
    return redact_uri(uri, keep_query=False)


@dataclass
class AppContext:
    """Shared by screens and workers. `backend()` builds the backend lazily, in a worker,
    so a kubernetes client is never imported before the first frame."""

    project_dir: Path
    project_file: Path | None
    tracking_uri: str
    backend_factory: Callable[[], Backend]
    backend_label: str = "local"
    read_only: bool = False
    # What the user chose (None: the default), handed to flow drivers as the CLI does, so a
    # driver finds the default itself (the local server's address may change between starts).
    mlflow_uri: str | None = None
    kube_context: str | None = None
    namespace: str | None = None
    clock: Callable[[], float] = time.time
    _backend: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def backend(self) -> Backend:
        with self._lock:
            if self._backend is None:
                self._backend = self.backend_factory()
            return self._backend

    @property
    def mlflow_display(self) -> str:
        return display_uri(self.tracking_uri, self.project_dir)

    @property
    def mlflow_ui(self) -> str | None:
        """The MLflow UI's address: the tracking server's own, when it is one."""
        if self.tracking_uri.startswith(("http://", "https://")):
            return display_uri(self.tracking_uri)
        return None

    def flow_origin(self) -> dict[str, Any]:
        """Where a flow's driver must work: this project, MLflow and cluster."""
        return {
            "project_dir": str(self.project_dir),
            "tracking_uri": self.mlflow_uri,
            "context": self.kube_context,
            "namespace": self.namespace,
        }

    def run_context(self, project: str, **extra: Any) -> RunContext:
        from ame_core.runtime.backend import RunContext

        return RunContext(
            project_dir=self.project_dir, project=project, tracking_uri=self.tracking_uri, **extra
        )
