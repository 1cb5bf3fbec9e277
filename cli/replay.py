"""`button replay ID`: the interactive replay app, `--plain` for scripts, `--fork-at K` to fork."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from cli.app import app, cli_errors, console, fail, open_store
from cli.render import conversation_renderables
from datamodel.run_config import DEFAULT_DB_URL
from db import store
from simulator.fork import ForkChange, ForkError, fork_conversation

__all__ = ["replay"]

Model = Annotated[str | None, typer.Option(help="Fork: this role's model (offline, openai:MODEL, hf:PATH).")]


def _fork(sessions: sessionmaker[Session], conversation_id: int, fork_at: int, change: ForkChange) -> int:
    """Make the fork, print one line about it, and return its id."""
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
    return outcome.conversation_id


@app.command()
@cli_errors
def replay(
    conversation_id: Annotated[int, typer.Argument(help="Conversation id (see `button logs`).")],
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    plain: Annotated[bool, typer.Option("--plain", help="Print the whole conversation; no TUI.")] = False,
    fork_at: Annotated[
        int | None, typer.Option("--fork-at", metavar="K", help="Re-simulate from turn K.")
    ] = None,
    assistant_model: Model = None,
    user_model: Model = None,
    tool_model: Model = None,
    policy: Annotated[str | None, typer.Option(help="Fork: plan or sequential.")] = None,
    parallel: Annotated[
        bool | None, typer.Option("--parallel/--no-parallel", help="Fork: allow parallel calls or not.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Fork: OpenAI-compatible endpoint of the changed model.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Fork: environment variable with that endpoint's API key.")
    ] = None,
    call_format: Annotated[
        str | None, typer.Option(help="Fork: the changed assistant's calls, button or native.")
    ] = None,
) -> None:
    """Replay one conversation interactively (keys in the footer), print it, or fork it from turn K."""
    change = ForkChange(
        assistant_model, user_model, tool_model, policy, parallel, base_url, api_key_env, call_format
    )
    sessions = open_store(db)
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
    if plain:
        for renderable in conversation_renderables(conv):
            console.print(renderable)
        return
    from cli.replay_app.app import ReplayApp  # Textual: only for the interactive app

    ReplayApp(sessions, conv.id).run()
