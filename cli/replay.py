"""`button replay ID`: the interactive replay app in a terminal, the plain view with `--plain` or when
stdin or stdout is not a terminal (a pipe, a script), `--fork-at K` to fork."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from cli.app import PASS_THROUGH, app, cli_errors, console, fail, open_reader

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from datamodel.run_config import ForkChange

__all__ = ["replay"]


def _fork(sessions: sessionmaker[Session], conversation_id: int, fork_at: int, change: ForkChange) -> int:
    """Make the fork, print one line about it, and return its id."""
    from simulator.fork import ForkError, fork_conversation

    if len(change.settings()) > 1:
        raise fail("a fork changes one setting; give only one of the model, --policy and --parallel options")
    try:
        outcome = fork_conversation(sessions, conversation_id, fork_at, change)
    except ForkError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"fork {outcome.conversation_id} of conversation {conversation_id} from turn {fork_at}: "
        f"{outcome.status}, {outcome.n_turns} turns, run {outcome.run_id}"
        + (f" ({outcome.reason})" if outcome.reason else ""),
        highlight=False,
    )
    if outcome.same_as_parent:
        console.print(
            f"[yellow]note:[/yellow] the change made no difference: from turn {fork_at} on, fork "
            f"{outcome.conversation_id} says and calls exactly what conversation {conversation_id} did "
            "(`button export` writes the same record once; --no-forks leaves forks out)",
            highlight=False,
        )
    return outcome.conversation_id


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
@cli_errors
def replay(ctx: typer.Context) -> None:
    """Replay one conversation interactively (keys in the footer), print it, or fork it from turn K."""
    from cli.commands import ReplayCommand
    from cli.render import conversation_renderables
    from cli.settings import parse_command
    from db import store

    command = parse_command(ReplayCommand, ctx.args, prog="button replay")
    change, db, plain, fork_at = command.change(), command.db, command.plain, command.fork_at
    conversation_id = command.conversation_id
    sessions = open_reader(db)
    target = conversation_id
    if fork_at is not None:
        target = _fork(sessions, conversation_id, fork_at, change)
        if not plain:
            return
    elif change.given():
        raise fail("the model, --policy and --parallel options change a fork: give --fork-at K too")
    with sessions() as session:
        try:
            conv = store.load_conversation(session, target)
        except LookupError:
            raise fail(f"conversation {target} does not exist in {db}") from None
    if plain or not (sys.stdin.isatty() and sys.stdout.isatty()):  # piped or scripted: the plain view
        for renderable in conversation_renderables(conv):
            console.print(renderable)
        return
    from cli.replay_app.app import ReplayApp  # Textual: only for the interactive app

    ReplayApp(sessions, conv.id).run()
