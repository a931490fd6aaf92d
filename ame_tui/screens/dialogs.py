"""Small dialogs: confirm, `:` jump, and the smoke request."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ame_core.errors import one_line
from ame_tui.services.smoke import SPELLINGS
from ame_tui.workers import background


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[Any]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class JumpScreen(ModalScreen[str]):
    """k9s-style `:` prompt at the bottom."""

    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="runs | models | flows | tasks | deploy | problems | help", id="jump-input"
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss("")


class _Example(Message):
    def __init__(self, payload: Any, error: str = "") -> None:
        super().__init__()
        self.payload = payload
        self.error = error


class _Answer(Message):
    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result


def smoke_status(result: Any) -> Text:
    """A smoke request's outcome: `HTTP 200` in green, or `HTTP 500` / `failed` in red."""
    if result.ok:
        return Text(f"HTTP {result.status}", style="bold green")
    return Text(f"HTTP {result.status}" if result.status else "failed", style="bold red")


class SmokeScreen(ModalScreen[Any]):
    """Shows the model's input example (editable, or type a row); enter sends it."""

    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "close", "Close")]

    def __init__(self, model: str, version: str, url: str) -> None:
        super().__init__()
        self.model, self.version, self.url = model, str(version), url
        self.columns: list[str] | None = None
        self.result: Any = None

    def compose(self) -> ComposeResult:
        with Vertical(id="smoke-box", classes="dialog"):
            yield Static(
                Text.assemble(
                    ("Smoke request ", "bold"), f"{self.model} v{self.version} → {self.url}"
                )
            )
            yield Static("loading the model's input example …", id="smoke-note")
            yield Input(placeholder="a row: 1, 2.5, 3", id="smoke-input")
            yield Static(Text(f"takes  {SPELLINGS}", style="grey50"), id="smoke-spellings")
            yield Static("", id="smoke-answer")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._load_example()

    @background(exclusive=True)
    def _load_example(self) -> None:
        from ame_tui.services import mlflow_data

        try:
            payload = mlflow_data.input_example(
                self.app.ctx.tracking_uri,
                self.model,
                self.version,  # type: ignore[attr-defined]
            )
        except Exception as exc:  # noqa: BLE001
            self.post_message(_Example(None, one_line(exc)))
        else:
            self.post_message(_Example(payload))

    def on__example(self, message: _Example) -> None:
        import json

        note = self.query_one("#smoke-note", Static)
        box = self.query_one(Input)
        if message.payload is None:
            why = message.error or "the version has no input example"
            note.update(Text(f"{why}: type a row and press enter", style="yellow"))
            return
        split = (
            message.payload.get("dataframe_split") if isinstance(message.payload, dict) else None
        )
        if isinstance(split, dict):
            self.columns = list(split.get("columns") or []) or None
        if not box.value:
            box.value = json.dumps(message.payload)
            box.cursor_position = 0
        note.update(
            Text("input example loaded: enter sends it (or edit / type a row)", style="green")
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from ame_tui.services.smoke import typed_payload

        try:
            payload = typed_payload(event.value, self.columns)
        except ValueError as exc:
            self.query_one("#smoke-answer", Static).update(Text(str(exc), style="red"))
            return
        self.query_one("#smoke-answer", Static).update(Text("sending …", style="grey50"))
        self._send(payload)

    @background(exclusive=True, group="smoke-send")
    def _send(self, payload: Any) -> None:
        from ame_tui.services.smoke import send

        self.post_message(_Answer(send(self.url, payload)))

    def on__answer(self, message: _Answer) -> None:
        result = self.result = message.result
        text = smoke_status(result)
        text.append(f"  {result.latency_ms:.0f} ms\n")
        text.append(result.answer)
        self.query_one("#smoke-answer", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(self.result)
