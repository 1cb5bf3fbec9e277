"""`button replay ID`: step through a stored conversation, search it, and fork it from any turn.

The screen shows the turns revealed so far (the cursor's turn highlighted) beside the task, the
functions offered, the hidden sub-task hints (toggled), token and latency figures and the checks. A
fork runs in a worker thread (it simulates an episode and writes the database) and the app then shows
the fork, whose shared turns are dimmed and whose divergence point is marked.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from rich import box
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session, sessionmaker
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState

from cli.render import (
    ROLE_COLOURS,
    checks_table,
    divergence_rule,
    functions_line,
    header_panel,
    hints_panel,
    turn_text,
)
from cli.replay_app.widgets import ForkRequest, ForkScreen, PromptScreen, TurnView
from db import store
from db.conversation_store import StoredConversation
from simulator.fork import ForkError, ForkOutcome, fork_conversation

__all__ = ["ReplayApp", "figures_table"]


def figures_table(conv: StoredConversation) -> Table:
    """Turns, calls, tokens and latency per role, where the turns recorded them."""
    table = Table(
        title="figures (tokens in / out, latency)", title_justify="left", expand=True, box=box.SIMPLE_HEAD
    )
    for column in ("role", "turns", "in", "out", "ms"):
        table.add_column(column, justify="right" if column != "role" else "left")
    for role, colour in ROLE_COLOURS.items():
        turns = [t for t in conv.trajectory.turns if t.role == role]
        usage = [t.usage for t in turns if t.usage is not None]
        table.add_row(
            Text(role, style=colour),
            str(len(turns)),
            str(sum(u.prompt_tokens for u in usage)),
            str(sum(u.completion_tokens for u in usage)),
            f"{sum(u.latency_ms for u in usage):.1f}",
        )
    return table


class ReplayApp(App[None]):
    """Replays one conversation; every key is in the footer."""

    CSS_PATH = Path(__file__).with_name("replay.tcss")
    TITLE = "button replay"
    BINDINGS = [
        Binding("right,j", "step(1)", "Next"),
        Binding("left,k", "step(-1)", "Back"),
        Binding("home", "first", "First", show=False),
        Binding("end,e", "last", "End"),
        Binding("g", "jump", "Jump"),
        Binding("h", "toggle_hints", "Hints"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next match"),
        Binding("f", "fork", "Fork"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, sessions: sessionmaker[Session], conversation_id: int) -> None:
        super().__init__()
        self.sessions = sessions
        self.conversation = self._load(conversation_id)
        self.cursor = 0
        self.hints_shown = False
        self.query_text = ""
        self.matches: list[int] = []
        self.forking = False

    def _load(self, conversation_id: int) -> StoredConversation:
        with self.sessions() as session:
            return store.load_conversation(session, conversation_id)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield VerticalScroll(id="turns")
            with VerticalScroll(id="side"):
                yield Static(id="task")
                yield Static(id="functions")
                yield Static(id="hints", classes="hidden")
                yield Static(id="figures")
                yield Static(id="checks")
        yield Static(id="status")
        yield Footer()

    async def on_mount(self) -> None:
        await self.show_conversation(self.conversation)

    async def show_conversation(self, conv: StoredConversation) -> None:
        """Draw a conversation; a fork opens at its divergence point, anything else at turn 0."""
        self.conversation = conv
        self.sub_title = f"conversation {conv.id}" + (
            f" · fork of #{conv.forked_from_id} at turn {conv.fork_turn}" if conv.forked_from_id else ""
        )
        self.query_one("#task", Static).update(header_panel(conv))
        self.query_one("#functions", Static).update(functions_line(conv))
        self.query_one("#hints", Static).update(hints_panel(conv))
        self.query_one("#figures", Static).update(figures_table(conv))
        self.query_one("#checks", Static).update(checks_table(conv.checks))
        turns = self.query_one("#turns", VerticalScroll)
        await turns.remove_children()
        fork_turn = conv.fork_turn if conv.forked_from_id is not None else None
        views: list[Static] = []
        for index, turn in enumerate(conv.trajectory.turns):
            if index == fork_turn:
                views.append(Static(divergence_rule(conv), id="divergence"))
            shared = conv.forked_from_id if fork_turn is not None and index < fork_turn else None
            views.append(TurnView(index, turn, shared))
        await turns.mount_all(views)
        self.matches = []
        self.move_to(fork_turn or 0)

    @property
    def turn_views(self) -> list[TurnView]:
        """The turn widgets, in order."""
        return list(self.query(TurnView))

    def move_to(self, index: int) -> None:
        """Put the cursor on a turn (clamped), reveal every turn up to it, scroll it into view."""
        last = len(self.conversation.trajectory.turns) - 1
        self.cursor = max(0, min(index, last))
        for view in self.turn_views:
            view.set_class(view.index == self.cursor, "current")
            view.set_class(view.index > self.cursor, "future")
            view.set_class(view.index in self.matches, "match")
        divergence = self.query("#divergence")
        if divergence:
            divergence.first().set_class((self.conversation.fork_turn or 0) > self.cursor, "future")
        self.call_after_refresh(self._scroll_to_cursor)
        self._status()

    def _scroll_to_cursor(self) -> None:
        """After the layout caught up with the revealed turns: bring the cursor's turn into view."""
        views = self.turn_views
        if views:
            self.query_one("#turns", VerticalScroll).scroll_to_widget(views[self.cursor], animate=False)

    def _status(self, note: str = "") -> None:
        conv = self.conversation
        parts = [f"turn {self.cursor}/{len(conv.trajectory.turns) - 1}", conv.status]
        if conv.forked_from_id is not None:
            shared = self.cursor < (conv.fork_turn or 0)
            parts.append(f"shared with #{conv.forked_from_id}" if shared else "own turn of this fork")
        if self.query_text:
            hit = self.matches.index(self.cursor) + 1 if self.cursor in self.matches else "-"
            parts.append(f"'{self.query_text}': match {hit}/{len(self.matches)}")
        if note:
            parts.append(note)
        self.query_one("#status", Static).update(" · ".join(parts))

    def action_step(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.conversation.trajectory.turns) - 1)

    def action_toggle_hints(self) -> None:
        self.hints_shown = not self.hints_shown
        self.query_one("#hints", Static).set_class(not self.hints_shown, "hidden")

    def action_jump(self) -> None:
        def answer(value: str | None) -> None:
            if value is not None and value.strip().isdigit():
                self.move_to(int(value))
            elif value:
                self._status(f"not a turn number: {value!r}")

        self.push_screen(PromptScreen("jump to turn", str(self.cursor)), answer)

    def action_search(self) -> None:
        self.push_screen(PromptScreen("search the turns for", self.query_text), self.search)

    def search(self, text: str | None) -> None:
        """Find the turns containing `text` (any case) and go to the first one from the cursor on."""
        if text is None:
            return
        self.query_text = text.strip()
        needle = self.query_text.lower()
        turns = self.conversation.trajectory.turns
        self.matches = [i for i, t in enumerate(turns) if needle and needle in turn_text(t).lower()]
        ahead = [i for i in self.matches if i >= self.cursor]
        self.move_to((ahead or self.matches or [self.cursor])[0])

    def action_next_match(self) -> None:
        if not self.matches:
            self._status("no matches: press / to search")
            return
        ahead = [i for i in self.matches if i > self.cursor]
        self.move_to((ahead or self.matches)[0])

    def action_fork(self) -> None:
        if self.forking:
            return
        conv = self.conversation
        turn = max(1, self.cursor)
        self.push_screen(ForkScreen(conv.id, turn, len(conv.trajectory.turns)), self.start_fork)

    def start_fork(self, request: ForkRequest | None) -> None:
        """Run the fork in a worker thread; the app shows it when it is stored."""
        if request is None:
            return
        self.forking = True
        self._status(f"forking from turn {request.turn}…")
        job = partial(fork_conversation, self.sessions, self.conversation.id, request.turn, request.change)
        self.run_worker(job, thread=True, exclusive=True, name="fork")

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "fork" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.forking = False
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            message = str(error) if isinstance(error, ForkError) else f"{type(error).__name__}: {error}"
            self.notify(message, title="fork failed", severity="error")
            self._status(f"fork failed: {message}")
            return
        outcome = event.worker.result
        assert isinstance(outcome, ForkOutcome)
        await self.show_conversation(self._load(outcome.conversation_id))
        self.notify(f"conversation {outcome.conversation_id}: {outcome.status}", title="fork stored")
