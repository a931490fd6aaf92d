"""ame-lsp side by side with yaml-language-server (npm) on generated ame.yml files.

    .venv/bin/python benchmarks/bench_lsp.py            # both servers
    .venv/bin/python benchmarks/bench_lsp.py --only-ame # without yaml-language-server

yaml-language-server is installed with `npm install yaml-language-server` into a temporary
directory at benchmark time (or `--yamlls-dir DIR` to reuse one), and configured with our schema
(`schema/ame.schema.json` via `yaml.schemas`), the `yaml.customTags` of FORMAT.md and
`yaml.schemaStore.enable=false`. Both servers are driven by the same small JSON-RPC client.

Figures: time from `didChange` to `publishDiagnostics` minus each server's debounce (ame-lsp:
its `debounceMs`; yaml-language-server: its fixed 200 ms `validationDelayMs`) on a 13,000-line
file and on an 8,000-line file with 1,000 merge keys; completion and hover p50/p95 on the
13,000-line file; the server's resident memory with that file open.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate_merge_keys, generate_project, write_project_files  # noqa: E402

AME_DEBOUNCE_MS = 150
YAMLLS_DELAY_MS = 200  # yaml-language-server's validationDelayMs (not configurable)
CUSTOM_TAGS = [  # docs/format.md; !pipEnv is the deprecated spelling of !pipenv
    f"!{t} mapping"
    for t in ("poetry", "pip", "pipenv", "pipEnv", "mlflow", "custom", "ame", "vault")
]


def _uri(path: Path) -> str:
    return path.resolve().as_uri()


class Client:
    """A minimal LSP client over stdio that timestamps every notification."""

    def __init__(self, name: str, cmd: list[str], settings: dict[str, Any] | None = None) -> None:
        self.name, self.cmd, self.settings = name, cmd, settings or {}
        self.proc: asyncio.subprocess.Process | None = None
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.notes: list[tuple[float, str, Any]] = []
        self.changed = asyncio.Event()

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            limit=1 << 26,
        )
        self.reader = asyncio.get_running_loop().create_task(self._read())

    def _send(self, payload: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        body = json.dumps(payload).encode()
        self.proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    async def request(self, method: str, params: Any, timeout: float = 300) -> Any:
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return await asyncio.wait_for(future, timeout)

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            length = 0
            while True:
                line = await stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(await stream.readexactly(length))
            now = time.perf_counter()
            if "id" in message and "method" in message:
                self._answer(message)
            elif "id" in message:
                future = self.pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message.get("result"))
            else:
                self.notes.append((now, message["method"], message.get("params")))
                self.changed.set()

    def _answer(self, message: dict[str, Any]) -> None:
        result: Any = None
        if message["method"] == "workspace/configuration":
            items = message["params"]["items"]
            result = [self._section(item.get("section")) for item in items]
        self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _section(self, section: str | None) -> Any:
        if not section:
            return self.settings
        value: Any = self.settings
        for part in section.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    async def wait_for(self, predicate, since: int, timeout: float = 300) -> tuple[float, Any]:
        deadline = time.perf_counter() + timeout
        index = since
        while True:
            while index < len(self.notes):
                when, method, params = self.notes[index]
                index += 1
                if predicate(method, params):
                    return when, params
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{self.name}: timed out")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory in MB, from /proc."""
        assert self.proc is not None
        fields = {}
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        kb = lambda k: int(fields.get(k, "0 kB").split()[0])  # noqa: E731
        return kb("VmRSS") / 1024, kb("VmHWM") / 1024

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.request("shutdown", None, timeout=30)
            self.notify("exit", None)
        if self.proc is not None:
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
        self.reader.cancel()


CAPABILITIES = {
    "general": {"positionEncodings": ["utf-16"]},
    "workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": False}},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": False},
        "completion": {"completionItem": {"snippetSupport": True}},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "publishDiagnostics": {"versionSupport": True},
    },
}


async def open_and_wait(client: Client, path: Path, language: str) -> float:
    since = len(client.notes)
    start = time.perf_counter()
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": _uri(path),
                "languageId": language,
                "version": 1,
                "text": path.read_text(),
            }
        },
    )
    uri = _uri(path)
    when, _ = await client.wait_for(
        lambda m, p: m == "textDocument/publishDiagnostics" and p["uri"] == uri, since
    )
    return (when - start) * 1000


async def edit_latency(
    client: Client,
    path: Path,
    edits: list[tuple[int, str, str]],
    first_version: int,
    delay_ms: float,
    editor_load: bool = False,
) -> list[float]:
    """Apply each edit (line, old, new) as an incremental change; time to its diagnostics."""
    uri = _uri(path)
    lines = path.read_text().split("\n")
    out = []
    version = first_version
    for line, old, new in edits:
        col = lines[line].index(old)
        lines[line] = lines[line][:col] + new + lines[line][col + len(old) :]
        version += 1
        since = len(client.notes)
        start = time.perf_counter()
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": line, "character": col},
                            "end": {"line": line, "character": col + len(old)},
                        },
                        "text": new,
                    }
                ],
            },
        )
        v = version
        load = []
        if editor_load:
            # What VS Code asks after each keystroke: these need the full analysis, which
            # ame-lsp computes off its event loop while the edited item is re-checked.
            doc = {"textDocument": {"uri": uri}}
            for method in ("textDocument/semanticTokens/full", "textDocument/documentSymbol"):
                load.append(asyncio.ensure_future(client.request(method, doc)))

        def published(method: str, params: Any, v: int = v) -> bool:
            if method != "textDocument/publishDiagnostics" or params["uri"] != uri:
                return False
            return params.get("version") in (None, v)

        when, _ = await client.wait_for(published, since)
        out.append((when - start) * 1000 - delay_ms)
        if load:
            await asyncio.gather(*load)
        await asyncio.sleep(0.25)
    path.write_text("\n".join(lines))
    return out


def value_edits(text: str, count: int) -> list[tuple[int, str, str]]:
    """Edits a user makes all day: a command, a quantity (some invalid, then fixed)."""
    lines = text.split("\n")
    commands = [i for i, line in enumerate(lines) if "command: python step_" in line]
    cpus = [i for i, line in enumerate(lines) if line.strip().startswith("cpu: ") and "m" in line]
    edits: list[tuple[int, str, str]] = []
    for k in range(count):
        if k % 2 == 0:
            i = commands[(k * 97) % len(commands)]
            edits.append((i, "python", "python3"))
        else:
            i = cpus[(k * 89) % len(cpus)]
            value = lines[i].split("cpu: ")[1]
            edits.append((i, value, "four" if k % 4 == 1 else "750m"))
    return edits


def reference_edits(text: str, count: int) -> list[tuple[int, str, str]]:
    """Edits that change what other items see (a taskRef renamed): the full re-check."""
    lines = text.split("\n")
    refs = [i for i, line in enumerate(lines) if "taskRef: task_" in line]
    edits = []
    for k in range(count):
        i = refs[(k * 13) % len(refs)]
        edits.append((i, "taskRef: task_", "taskRef: task_x" if k % 2 == 0 else "taskRef: task_"))
        if k % 2 == 0:
            edits.append((i, "taskRef: task_x", "taskRef: task_"))
    return edits[:count]


def structural_edits(text: str, count: int) -> list[tuple[int, str, str]]:
    """Edits whose effect reaches other items: a template's value (its ~50 tasks), a task
    renamed and back (every reference to it and every unknown name's "did you mean"), and a
    half-typed quote that stops the whole file from parsing, then fixed."""
    lines = text.split("\n")
    templates_end = lines.index("dataSets:")
    template_cpus = [i for i in range(templates_end) if lines[i].strip().startswith("cpu: ")]
    names = [i for i, line in enumerate(lines) if line.startswith("  - name: task_")]
    commands = [i for i, line in enumerate(lines) if "command: python step_" in line]
    edits: list[tuple[int, str, str]] = []
    k = 0
    while len(edits) < count:
        i = template_cpus[(k * 7) % len(template_cpus)]
        edits += [(i, "cpu: ", "cpu: 1"), (i, "cpu: 1", "cpu: ")]
        i = names[(k * 211) % len(names)]
        edits += [(i, "task_", "task_r"), (i, "task_r", "task_")]
        i = commands[(k * 173) % len(commands)]
        edits += [(i, "command: ", 'command: "'), (i, 'command: "', "command: ")]
        k += 1
    return edits[:count]


def merge_edits(text: str, count: int) -> list[tuple[int, str, str]]:
    lines = text.split("\n")
    storage = [i for i, line in enumerate(lines) if "storage:" in line]
    return [
        (storage[(k * 37) % len(storage)], "Gi", "Mi" if k % 2 == 0 else "Gi") for k in range(count)
    ]


async def request_times(
    client: Client, path: Path, method: str, positions: list[tuple[int, int]]
) -> list[float]:
    uri = _uri(path)
    out = []
    for line, col in positions:
        start = time.perf_counter()
        await client.request(
            method, {"textDocument": {"uri": uri}, "position": {"line": line, "character": col}}
        )
        out.append((time.perf_counter() - start) * 1000)
    return out


def completion_positions(text: str, n: int) -> list[tuple[int, int]]:
    lines = text.split("\n")
    picks = []
    for i, line in enumerate(lines):
        if "taskRef: task_" in line:
            picks.append((i, line.index("task_")))
        elif line.strip().startswith("executor: !"):
            picks.append((i, line.index("!") + 1))
        elif line.strip().startswith("command:"):
            picks.append((i, len(line) - len(line.lstrip())))
        elif line.strip().startswith("cpu:"):
            picks.append((i, len(line)))
    step = max(1, len(picks) // n)
    return picks[::step][:n]


def hover_positions(text: str, n: int) -> list[tuple[int, int]]:
    lines = text.split("\n")
    picks = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if (
            stripped.startswith(("memory:", "cpu:", "size:"))
            or "taskRef: task_" in line
            or "fromTemplate:" in line
        ):
            picks.append((i, len(line) - 2))
        elif stripped.startswith(("command:", "pythonVersion:", "environment:")):
            picks.append((i, len(line) - len(line.lstrip()) + 2))
        elif stripped.startswith("schedule:"):
            picks.append((i, len(line) - 3))
    step = max(1, len(picks) // n)
    return picks[::step][:n]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def run_server(
    name: str,
    client: Client,
    root: Path,
    big: Path,
    merge: Path,
    init_options: Any,
    language: str,
    delay: float,
    args: Any,
) -> dict[str, Any]:
    await client.start()
    await client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": _uri(root),
            "workspaceFolders": [{"uri": _uri(root), "name": root.name}],
            "capabilities": CAPABILITIES,
            "initializationOptions": init_options,
        },
    )
    client.notify("initialized", {})
    if client.settings:
        client.notify("workspace/didChangeConfiguration", {"settings": client.settings})
    figures: dict[str, Any] = {}
    big_text = big.read_text()
    print(f"  {name}: opening {big_text.count(chr(10)):,} lines", flush=True)
    figures["open_ms"] = await open_and_wait(client, big, language)
    figures["edit_ms"] = await edit_latency(
        client, big, value_edits(big_text, args.edits), 1, delay
    )
    if name == "ame-lsp":
        figures["loaded_edit_ms"] = await edit_latency(
            client, big, value_edits(big.read_text(), max(6, args.edits // 2)), 500, delay, True
        )
    figures["ref_edit_ms"] = await edit_latency(
        client, big, reference_edits(big.read_text(), max(4, args.edits // 3)), 1000, delay
    )
    figures["structural_edit_ms"] = await edit_latency(
        client, big, structural_edits(big.read_text(), max(6, args.edits)), 2000, delay
    )
    text_now = big.read_text()
    completions = completion_positions(text_now, args.requests)
    hovers = hover_positions(text_now, args.requests)
    figures["completion_ms"] = await request_times(
        client, big, "textDocument/completion", completions
    )
    figures["hover_ms"] = await request_times(client, big, "textDocument/hover", hovers)
    figures["rss_mb"], figures["peak_rss_mb"] = client.rss_mb()
    merge_text = merge.read_text()
    print(
        f"  {name}: opening {merge_text.count(chr(10)):,} lines with 1,000 merge keys", flush=True
    )
    figures["merge_open_ms"] = await open_and_wait(client, merge, language)
    figures["merge_edit_ms"] = await edit_latency(
        client, merge, merge_edits(merge_text, max(3, args.edits // 4)), 1, delay
    )
    await client.stop()
    return figures


def ensure_yamlls(directory: Path | None) -> list[str] | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        print("node/npm not found: yaml-language-server is skipped")
        return None
    target = directory or Path(tempfile.mkdtemp(prefix="yamlls-"))
    script = target / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
    if not script.exists():
        print(f"installing yaml-language-server into {target} (npm)…", flush=True)
        for spec in ("yaml-language-server", "yaml-language-server@1"):
            proc = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(target), spec],
                capture_output=True,
                text=True,
            )
            if proc.returncode == 0 and script.exists():
                probe = subprocess.run(
                    [node, str(script), "--help"], capture_output=True, text=True, timeout=60
                )
                if "SyntaxError" not in probe.stderr and "ERR_" not in probe.stderr:
                    break
                print(
                    f"  {spec} does not run on this node ({probe.stderr.strip()[:120]}); trying 1.x"
                )
            else:
                print(f"  npm install {spec} failed: {proc.stderr.strip()[-300:]}")
        else:
            return None
    version = json.loads((script.parent.parent / "package.json").read_text())["version"]
    print(
        f"yaml-language-server {version}, node {subprocess.run([node, '--version'], capture_output=True, text=True).stdout.strip()}"
    )
    return [node, str(script), "--stdio"]


def row(
    label: str, ours: float, theirs: float | None, unit: str = "ms", better_low: bool = True
) -> str:
    if theirs is None or theirs != theirs:
        return f"{label:<44}{ours:>12.1f} {unit:<3}{'—':>16}{'':>10}"
    ratio = (
        theirs / ours if better_low and ours > 0 else (ours / theirs if theirs else float("nan"))
    )
    return f"{label:<44}{ours:>12.1f} {unit:<3}{theirs:>12.1f} {unit:<3}{ratio:>9.1f}×"


async def main_async(args: Any) -> int:
    work = Path(tempfile.mkdtemp(prefix="ame-bench-"))
    try:
        (work / "big").mkdir()
        (work / "merge").mkdir()
        big_text = generate_project(args.tasks)
        merge_text = generate_merge_keys(args.merge_keys)
        write_project_files(work / "big", big_text)
        write_project_files(work / "merge", merge_text)
        ame_cmd = [sys.executable, "-m", "ame_lsp.server"]
        ame = Client("ame-lsp", ame_cmd)
        results: dict[str, dict[str, Any]] = {}
        for name in ("ame-lsp", "yaml-language-server"):
            (work / "big" / "ame.yml").write_text(big_text)
            (work / "merge" / "ame.yml").write_text(merge_text)
            if name == "ame-lsp":
                results[name] = await run_server(
                    name,
                    ame,
                    work,
                    work / "big" / "ame.yml",
                    work / "merge" / "ame.yml",
                    {"debounceMs": AME_DEBOUNCE_MS},
                    "ame",
                    AME_DEBOUNCE_MS,
                    args,
                )
            elif not args.only_ame:
                cmd = ensure_yamlls(Path(args.yamlls_dir) if args.yamlls_dir else None)
                if cmd is None:
                    continue
                schema = (REPO / "schema" / "ame.schema.json").resolve().as_uri()
                settings = {
                    "yaml": {
                        "schemas": {schema: ["ame.yml", "ame.yaml", "**/ame.yml", "**/ame.yaml"]},
                        "customTags": CUSTOM_TAGS,
                        "schemaStore": {"enable": False},
                        "validate": True,
                        "hover": True,
                        "completion": True,
                        "maxItemsComputed": 100000,
                    }
                }
                yamlls = Client(name, cmd, settings)
                results[name] = await run_server(
                    name,
                    yamlls,
                    work,
                    work / "big" / "ame.yml",
                    work / "merge" / "ame.yml",
                    None,
                    "yaml",
                    YAMLLS_DELAY_MS,
                    args,
                )
        report(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(results: dict[str, dict[str, Any]], args: Any) -> None:
    ours = results["ame-lsp"]
    theirs = results.get("yaml-language-server")

    def get(name: str, fn) -> float | None:
        return fn(theirs[name]) if theirs else None

    lines_big = generate_project(args.tasks).count("\n")
    lines_merge = generate_merge_keys(args.merge_keys).count("\n")
    print()
    print(f"{'':<44}{'ame-lsp':>16}{'yaml-language-server':>22}{'ratio':>9}")
    print(row(f"open → diagnostics ({lines_big:,} lines)", ours["open_ms"], get("open_ms", float)))

    def percentiles(label: str, key: str) -> None:
        """The p50 and p95 rows of one list of timings (the peer's where it measured them)."""
        peer = theirs.get(key) if theirs else None
        for name, stat in (("p50", statistics.median), ("p95", lambda v: pct(v, 0.95))):
            print(row(f"{label} {name}", stat(ours[key]), stat(peer) if peer else None))

    percentiles("didChange → diagnostics, value edit", "edit_ms")
    percentiles("didChange → diagnostics, reference edit", "ref_edit_ms")
    percentiles("didChange → diagnostics, template/rename/syntax", "structural_edit_ms")
    if "loaded_edit_ms" in ours:
        percentiles("value edit, tokens + symbols asked too,", "loaded_edit_ms")
    print(
        row(
            f"open → diagnostics ({lines_merge:,} lines, merge keys)",
            ours["merge_open_ms"],
            get("merge_open_ms", float),
        )
    )
    percentiles("didChange → diagnostics, merge keys", "merge_edit_ms")
    percentiles("completion", "completion_ms")
    percentiles("hover", "hover_ms")
    print(row("RSS with the 13,000-line file open", ours["rss_mb"], get("rss_mb", float), "MB"))
    print(row("peak RSS", ours["peak_rss_mb"], get("peak_rss_mb", float), "MB"))
    print()
    print(
        "(edit figures are minus the debounce: ame-lsp",
        AME_DEBOUNCE_MS,
        "ms, yaml-language-server",
        YAMLLS_DELAY_MS,
        "ms)",
    )
    edit95 = pct(ours["edit_ms"], 0.95)
    checks = [
        ("value edit p95 ≤ 80 ms", edit95 <= 80),
        ("reference edit p95 ≤ 80 ms", pct(ours["ref_edit_ms"], 0.95) <= 80),
        ("template/rename/syntax edit p95 ≤ 80 ms", pct(ours["structural_edit_ms"], 0.95) <= 80),
        ("merge keys edit p95 ≤ 200 ms", pct(ours["merge_edit_ms"], 0.95) <= 200),
        ("completion p95 ≤ 50 ms", pct(ours["completion_ms"], 0.95) <= 50),
        ("hover p95 ≤ 50 ms", pct(ours["hover_ms"], 0.95) <= 50),
        ("RSS ≤ 150 MB", ours["rss_mb"] <= 150),
    ]
    if theirs:
        checks.append(
            (
                "value edit ≥ 5× faster than yaml-language-server",
                statistics.median(theirs["edit_ms"]) / max(statistics.median(ours["edit_ms"]), 1e-9)
                >= 5,
            )
        )
    for label, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {label}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks", type=int, default=1450, help="tasks in the big file (≈13,000 lines)"
    )
    parser.add_argument("--merge-keys", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--only-ame", action="store_true", help="skip yaml-language-server")
    parser.add_argument(
        "--yamlls-dir", help="directory with (or for) node_modules/yaml-language-server"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
