"""The top bar: project, backend, MLflow URI (the UI's address when it is a server) and
whether it answers, problem count."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class StatusBar(Widget):
    """Reads the app's state; redrawn when the app says it changed."""

    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $panel; color: $text; }
    """

    def on_mount(self) -> None:
        for name in (
            "mlflow_state",
            "backend_state",
            "problem_count",
            "view_title",
            "project_name",
        ):
            self.watch(self.app, name, lambda _value: self.refresh(), init=False)

    def render(self) -> Text:
        app = self.app
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" AME ", style="bold reverse")
        text.append(f" {getattr(app, 'view_title', '')} ", style="bold")
        text.append("│ project ", style="grey50")
        text.append(getattr(app, "project_name", "") or "?", style="bold")
        ctx = getattr(app, "ctx", None)
        text.append(" │ backend ", style="grey50")
        text.append(ctx.backend_label if ctx else "?")
        backend_state = getattr(app, "backend_state", "")
        if backend_state:
            text.append(f" ✖ {backend_state}", style="bold red")
        ui = ctx.mlflow_ui if ctx else None
        text.append(" │ MLflow UI " if ui else " │ MLflow ", style="grey50")
        # a tracking server is also the MLflow UI: its address is a link a terminal can open
        text.append(ui or (ctx.mlflow_display if ctx else "?"), style=f"link {ui}" if ui else "")
        state = getattr(app, "mlflow_state", "checking")
        if state == "ok":
            text.append(" ● ok", style="green")
        elif state == "checking":
            text.append(" ○ checking", style="grey50")
        else:
            text.append(f" ✖ {state}", style="bold red")
        count = getattr(app, "problem_count", 0)
        text.append(" │ problems ", style="grey50")
        text.append(str(count), style="bold red" if count else "green")
        if ctx is not None and ctx.read_only:
            text.append(" │ ", style="grey50")
            text.append("READ-ONLY", style="bold yellow")
        return text
