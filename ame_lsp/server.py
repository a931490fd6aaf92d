"""The AME language server's wiring and its command line.

`ame-lsp` speaks LSP over stdio; `ame-lsp --tcp --host 127.0.0.1 --port 2087` for debugging.
The server object is `language_server.AmeLanguageServer`; each feature lives in its own module
with a `register(server)` function, and every handler runs inside `safety.safe`, so a bug in
one feature is logged and answered with an empty result.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types

from ame_lsp import __version__
from ame_lsp.code_lens import lenses_wanted
from ame_lsp.diagnostics import client_pulls
from ame_lsp.language_server import AmeLanguageServer
from ame_lsp.options import ServerOptions
from ame_lsp.positions import Positions
from ame_lsp.workspace_index import uri_to_path

log = logging.getLogger("ame_lsp")


def create_server() -> AmeLanguageServer:
    server = AmeLanguageServer()

    @server.handler(types.INITIALIZE)
    def initialize(ls: AmeLanguageServer, params: types.InitializeParams) -> None:
        ls.positions = Positions(ls.workspace.position_codec)
        options = ServerOptions.from_json(params.initialization_options)
        ls.configure(options)
        ls.index.set_roots(ls.workspace_roots(params))
        ls.index.set_policies(options.policies)
        completion = (
            params.capabilities.text_document and params.capabilities.text_document.completion
        )
        item = completion.completion_item if completion else None
        ls.snippets = bool(item and item.snippet_support)
        ls.diagnostics.push = not client_pulls(params.capabilities)
        ls.run_lenses.enabled = lenses_wanted(params)

    @server.handler(types.INITIALIZED)
    async def initialized(ls: AmeLanguageServer, params: types.InitializedParams) -> None:
        ls.index.scan()
        watched = (
            ls.client_capabilities.workspace
            and ls.client_capabilities.workspace.did_change_watched_files
        )
        if watched and watched.dynamic_registration:
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(
                        registrations=[
                            types.Registration(
                                id="ame-project-files",
                                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                    watchers=[
                                        types.FileSystemWatcher(glob_pattern="**/ame.{yml,yaml}")
                                    ]
                                ),
                            )
                        ]
                    )
                )
            except Exception as exc:  # noqa: BLE001 - a client that claims the capability but lacks it
                log.warning("could not register file watchers: %s", exc)

    @server.handler(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AmeLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.did_open(params)

    @server.handler(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AmeLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.did_change(params)

    @server.handler(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AmeLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.did_close(params)

    @server.handler(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AmeLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if ls.index.is_project_file(path):
            ls.index.read_disk(path)

    @server.handler(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: AmeLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.did_change_watched_files(params)

    @server.handler(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def configuration(ls: AmeLanguageServer, params: types.DidChangeConfigurationParams) -> None:
        ls.configure(ServerOptions.from_json(params.settings))

    @server.handler(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def folders(ls: AmeLanguageServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        # Compared as paths: clients spell the same folder's URI differently (a trailing `/`,
        # percent-escapes).
        removed = {Path(uri_to_path(f.uri.rstrip("/"))) for f in params.event.removed}
        roots = [r for r in ls.index.roots if Path(r) not in removed]
        roots += [Path(uri_to_path(f.uri.rstrip("/"))) for f in params.event.added]
        ls.set_workspace_folders(roots)

    @server.handler(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="ame", inter_file_dependencies=True, workspace_diagnostics=False
        ),
        empty=lambda: types.RelatedFullDocumentDiagnosticReport(items=[]),
    )
    async def pull(ls: AmeLanguageServer, params: types.DocumentDiagnosticParams) -> Any:
        return await ls.diagnostics.pull(params)

    from ame_lsp import (
        code_actions,
        code_lens,
        completion,
        folding,
        hover,
        inlay_hints,
        navigation,
        semantic_tokens,
        symbols,
    )

    for module in (
        completion,
        hover,
        navigation,
        symbols,
        code_actions,
        inlay_hints,
        semantic_tokens,
        folding,
        code_lens,
    ):
        module.register(server)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ame-lsp", description="Language server for AME project files (ame.yml)."
    )
    parser.add_argument("--stdio", action="store_true", help="speak LSP over stdio (default)")
    parser.add_argument("--tcp", action="store_true", help="listen on TCP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    parser.add_argument("--log-file", help="write the server's log here")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"ame-lsp {__version__}")
    args = parser.parse_args(argv)
    handler: logging.Handler = (
        logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler(sys.stderr)
    )
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        handlers=[handler],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = create_server()
    # The modules imported so far live as long as the process: keep the cyclic garbage collector
    # from walking them on every full collection (which would stall edits on big files).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    # A full analysis in the worker thread holds the GIL for 5 ms at a time by default; the
    # event loop's re-check of an edit (a few ms of work) then waits in line. Measured with
    # benchmarks/bench_lsp.py: p50 of an edit while tokens and symbols are asked 35 → 26 ms.
    sys.setswitchinterval(0.001)
    if args.tcp:
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return server.protocol.exit_code  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
