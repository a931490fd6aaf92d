"""A local URL for a model's Service (the TUI's smoke request), through `kubectl port-forward`.

kubectl handles every authentication plugin a kubeconfig may use; it is started with the same
context and namespace, on a free local port, and stopped with `close()`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from typing import Any

from ame_core.runtime.backend import BackendError

_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


class PortForward:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        kube: Any,
        context: str | None,
        service: str,
        timeout: float = 20,
        *,
        target: str | None = None,
        port: int = 80,
    ) -> PortForward:
        """Forward to `svc/<service>` port 80, or to `target` (e.g. `deployment/x`) `port`."""
        target = target or f"svc/{service}"
        kubectl = shutil.which("kubectl")
        if not kubectl:
            raise BackendError(
                f"a port-forward to the model ({target}) needs kubectl on PATH; or use its "
                "ingress URL"
            )
        cmd = [kubectl, "-n", kube.namespace, "port-forward", target, f":{port}"]
        if context:
            cmd[1:1] = ["--context", context]
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        output = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line.strip())
            match = _FORWARDING.search(line)
            if match:
                return cls(process, int(match.group(1)))
        process.kill()
        process.wait(timeout=5)
        raise BackendError(
            f"kubectl port-forward to {target} did not start: "
            + ("; ".join(output)[-300:] or "no output")
        )

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def __enter__(self) -> PortForward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
