"""The replay app's pieces: one widget per turn, and the two small dialogs (a one-line prompt for jump
and search, and the fork form). Kept apart from the app so each stays small and testable."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from cli.render import turn_panel
from datamodel.run_config import ForkChange
from datamodel.trajectory import Turn

__all__ = ["FORK_SETTINGS", "ForkRequest", "ForkScreen", "PromptScreen", "TurnView", "change_from"]

# (label, key): a key naming a model role needs the model field filled in.
FORK_SETTINGS = [
    ("assistant policy: sequential", "policy=sequential"),
    ("assistant policy: plan", "policy=plan"),
    ("parallel calls off", "parallel=off"),
    ("parallel calls on", "parallel=on"),
    ("assistant model…", "assistant_model"),
    ("user model…", "user_model"),
    ("tool model…", "tool_model"),
]


def change_from(setting: str, model: str) -> ForkChange:
    """The fork change a form choice stands for; ValueError names what is missing."""
    if setting.startswith("policy="):
        return ForkChange.model_validate({"policy": setting.removeprefix("policy=")})
    if setting.startswith("parallel="):
        return ForkChange(parallel=setting == "parallel=on")
    if setting not in ("assistant_model", "user_model", "tool_model"):
        raise ValueError(f"unknown setting {setting!r}")
    if not model.strip():
        raise ValueError(f"give the {setting.replace('_', ' ')} (e.g. openai:gpt-4o-mini)")
    role = setting.removesuffix("_model")
    return ForkChange(
        assistant_model=model.strip() if role == "assistant" else None,
        user_model=model.strip() if role == "user" else None,
        tool_model=model.strip() if role == "tool" else None,
    )


@dataclass(frozen=True)
class ForkRequest:
    """What the fork form asks for: the turn to fork at and the change."""

    turn: int
    change: ForkChange


class TurnView(Static):
    """One turn, drawn with the same Rich panel as `button show`; CSS classes mark the cursor
    (`current`), search hits (`match`), turns not reached yet (`future`) and a fork's shared prefix."""

    def __init__(self, index: int, turn: Turn, shared_with: int | None) -> None:
        super().__init__(turn_panel(index, turn, shared_with=shared_with), classes=turn.role)
        self.index = index
        self.turn = turn
        self.set_class(shared_with is not None, "shared")


class PromptScreen(ModalScreen[str | None]):
    """One line of input (jump to a turn, search text); Enter answers, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, label: str, value: str = "") -> None:
        super().__init__()
        self._label, self._value = label, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._label)
            yield Input(value=self._value, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ForkScreen(ModalScreen[ForkRequest | None]):
    """The fork form: the turn to re-simulate from and the one setting to change."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, conversation_id: int, turn: int, n_turns: int) -> None:
        super().__init__()
        self._conversation_id, self._turn, self._n_turns = conversation_id, turn, n_turns

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="fork-dialog"):
            yield Label(f"[b]Fork conversation {self._conversation_id}[/b]: keep turns before K, re-simulate")
            yield Label(f"from turn K (1–{self._n_turns - 1})")
            yield Input(value=str(self._turn), type="integer", id="fork-turn")
            yield Label("with")
            yield Select(FORK_SETTINGS, value="policy=sequential", allow_blank=False, id="fork-setting")
            yield Input(placeholder="model for a model setting, e.g. openai:gpt-4o-mini", id="fork-model")
            yield Label("", id="fork-error")
            with Horizontal(id="fork-buttons"):
                yield Button("Fork", variant="primary", id="fork-go")
                yield Button("Cancel", id="fork-cancel")

    def _submit(self) -> None:
        error = self.query_one("#fork-error", Label)
        turn_text = self.query_one("#fork-turn", Input).value.strip()
        setting = self.query_one("#fork-setting", Select).value
        try:
            turn = int(turn_text)
            if not 1 <= turn < self._n_turns:
                raise ValueError(f"K must be 1–{self._n_turns - 1} (got {turn})")
            change = change_from(str(setting), self.query_one("#fork-model", Input).value)
        except ValueError as exc:
            error.update(f"[red]{exc}[/red]")
            return
        self.dismiss(ForkRequest(turn, change))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "fork-go":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
