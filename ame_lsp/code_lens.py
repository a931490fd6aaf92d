"""Run from the editor: code lenses above each task (`▶ Run`), pipeline (`▶ Run pipeline`) and
model (`Train`, `Validate`, `Deploy`), and under them the last run's status and age, or the
model's latest version with its validation verdict and key metric.

Nothing runs without the user's click: a lens is a `workspace/executeCommand` the client sends
only when the lens is clicked, never on open, save or from a diagnostic. The run starts as a flow
(`run_status.RunStatus.start`, the flows `ame model …` and the scheduler start), so it goes on
when the editor closes. Lenses are off for a client that cannot show them, and the
initialization option `codeLens: true|false` turns them on or off. While a run shown in a lens
is going, the server looks every second and asks the client to refresh its lenses
(`workspace/codeLens/refresh`) when it ends. `ame.openLog` opens the run's log file
(`window/showDocument`).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ame_lsp.options import ServerOptions
from ame_lsp.run_status import (
    RunStartError,
    RunStatus,
    run_line,
    version_line,
    versions_unknown,
)

if TYPE_CHECKING:
    from ame_lsp.language_server import AmeLanguageServer

log = logging.getLogger("ame_lsp")
RUN = "ame.run"
OPEN_LOG = "ame.openLog"
_MODEL_ACTIONS = (("train", "Train"), ("validate", "Validate"), ("deploy", "Deploy"))
_POLL_S = 1.0


def lenses_wanted(params: types.InitializeParams) -> bool:
    """The initialization option `codeLens`, else whether the client can show code lenses at
    all."""
    wanted = ServerOptions.from_json(params.initialization_options).code_lens
    if wanted is not None:
        return wanted
    text = params.capabilities.text_document
    return bool(text is not None and text.code_lens is not None)


class RunLenses:
    def __init__(self, server: AmeLanguageServer) -> None:
        self.server = server
        self.enabled = False
        self.status = RunStatus()
        # Runs and the registry are read here, never in the event loop or the analysis thread.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ame-runs")
        self._watching: set[Path] = set()
        self._projects: dict[Path, str] = {}  # project directory → project name

    async def _blocking(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # --- lenses -----------------------------------------------------------------------------

    async def lenses(self, uri: str) -> list[types.CodeLens]:
        if not self.enabled or not uri.startswith("file:"):
            return []
        analysis = await self.server.current_analysis(uri)
        if analysis is None or analysis.project is None:
            return []
        from ame_lsp.names import facts_of

        path = Path(self.server.path_of(uri))
        project_dir = path.parent
        project = analysis.project
        self._projects[project_dir] = project.project
        facts = facts_of(analysis)
        runs = await self._blocking(self.status.last_runs, project_dir, project.project)
        error = self.status.error(project_dir)
        out: list[types.CodeLens] = []
        lines = analysis.doc.lines
        for definition in facts.definitions:
            if len(definition.path) != 2 or definition.project != project.project:
                continue
            section, index = definition.path
            at = self.server.positions.range(lines, _line_range(definition.range))
            if section == "tasks" and definition.kind == "task":
                task = (project.tasks or [])[index]
                title = "▶ Run pipeline" if task.pipeline else "▶ Run"
                out.append(_lens(at, title, RUN, [uri, "task", definition.name]))
                out.append(self._run_status_lens(at, uri, runs.get(definition.name), error))
            elif section == "models" and definition.kind == "model":
                for kind, title in _MODEL_ACTIONS:
                    out.append(_lens(at, title, RUN, [uri, kind, definition.name]))
                version = await self._blocking(
                    self.status.latest_version, project_dir, definition.name
                )
                if version is not None:
                    text = version_line(version)
                elif versions_unknown(project_dir):
                    text = "versions: the project's MLflow server is not running (`ame mlflow ui` starts it)"
                else:
                    text = "no version yet"
                flow = await self._blocking(self.status.active_flow, project_dir, definition.name)
                if flow is not None:
                    text = f"● {flow.kind} {flow.status.value} · {text}"
                    self._watch(project_dir, flow.id)
                out.append(_lens(at, text, "", []))
        if self.status.running(project_dir):
            self._watch(project_dir)
        return out

    def _run_status_lens(
        self, at: types.Range, uri: str, run: Any, error: str | None
    ) -> types.CodeLens:
        if run is None:
            return _lens(at, f"runs unknown: {error}" if error else "never run", "", [])
        title = f"{run_line(run)} · log"
        return _lens(at, title, OPEN_LOG, [uri, run.id])

    # --- commands ---------------------------------------------------------------------------

    async def run(self, uri: str, kind: str, name: str) -> dict[str, Any] | None:
        """The click on `▶ Run`, `Train`, `Validate` or `Deploy`."""
        path = Path(self.server.path_of(uri))
        on_disk = self.server.index.disk.get(str(path))
        open_doc = self.server.index.open.get(str(path))
        if open_doc is not None and on_disk is not None and open_doc.text != on_disk:
            # The driver reads the file on disk: never run something other than what is shown.
            self._say(types.MessageType.Warning, f"save {path.name} first: the run reads it")
            return None
        try:
            record = await self._blocking(self.status.start, path.parent, kind, name)
        except RunStartError as exc:
            self._say(types.MessageType.Error, f"{kind} {name}: {exc}")
            return None
        self._say(types.MessageType.Info, f"{record.title}: flow {record.id} started")
        self.status.forget(path.parent)
        self._watch(path.parent, record.id)
        self.refresh()
        return {"flow": record.id}

    async def open_log(self, uri: str, run_id: str) -> bool:
        path = Path(self.server.path_of(uri))
        run = await self._blocking(self.status.run, path.parent, run_id)
        log_path = getattr(run, "log_path", None)
        if not log_path:
            self._say(
                types.MessageType.Info,
                f"run {run_id} keeps its log on the {run.backend} backend: `ame logs {run_id} -f`",
            )
            return False
        result = await self.server.window_show_document_async(
            types.ShowDocumentParams(uri=Path(log_path).as_uri(), take_focus=True)
        )
        return bool(result and result.success)

    # --- keeping lenses current -------------------------------------------------------------

    def _watch(self, project_dir: Path, flow_id: str | None = None) -> None:
        if project_dir in self._watching:
            return
        self._watching.add(project_dir)
        asyncio.get_running_loop().create_task(self._follow(project_dir, flow_id))

    async def _follow(self, project_dir: Path, flow_id: str | None) -> None:
        """Look every second until the flow (and every run shown as going) has ended, then have
        the client ask for lenses again."""
        try:
            while True:
                await asyncio.sleep(_POLL_S)
                if flow_id is not None:
                    flow = await self._blocking(self.status.flow, project_dir, flow_id)
                    if flow.status.finished:
                        flow_id = None
                self.status.forget(project_dir)
                project = self._projects.get(project_dir, "")
                await self._blocking(self.status.last_runs, project_dir, project)
                if flow_id is None and not self.status.running(project_dir):
                    break
                self.refresh()  # e.g. queued → running
        except Exception as exc:  # noqa: BLE001 - a watcher that fails stops, the server goes on
            log.warning("following runs in %s stopped: %s", project_dir, exc)
        finally:
            self._watching.discard(project_dir)
            self.status.forget(project_dir)
        self.refresh()

    def refresh(self) -> None:
        caps = self.server.client_capabilities.workspace
        lens = caps.code_lens if caps is not None else None
        if lens is not None and lens.refresh_support:
            self.server.workspace_code_lens_refresh(None)

    def _say(self, kind: types.MessageType, message: str) -> None:
        self.server.window_show_message(types.ShowMessageParams(type=kind, message=message))


def _line_range(rng: Any) -> Any:
    from ame_core.diagnostics import Range

    return Range(rng.start_line, 0, rng.start_line, 0)


def _lens(at: types.Range, title: str, command: str, arguments: list[Any]) -> types.CodeLens:
    # A lens with an empty command id is a label: shown, not clickable.
    return types.CodeLens(
        range=at, command=types.Command(title=title, command=command, arguments=arguments)
    )


def register(server: AmeLanguageServer) -> None:
    lenses = server.run_lenses

    @server.handler(
        types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False), empty=list
    )
    async def code_lens(ls: AmeLanguageServer, params: types.CodeLensParams) -> Any:
        return await lenses.lenses(params.text_document.uri)

    @server.command_handler(RUN)
    async def run(ls, *args):  # type: ignore[no-untyped-def]  # pygls reads these hints
        uri, kind, name = (str(a) for a in args[:3])
        if kind not in ("task", "train", "validate", "deploy"):
            raise ValueError(f"{RUN}: unknown kind {kind!r}")
        return await lenses.run(uri, kind, name)

    @server.command_handler(OPEN_LOG)
    async def open_log(ls, *args):  # type: ignore[no-untyped-def]
        uri, run_id = (str(a) for a in args[:2])
        return await lenses.open_log(uri, run_id)
