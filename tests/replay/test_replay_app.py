"""The replay app driven for real with Textual's pilot: step, jump, hints, search and fork."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual.pilot import Pilot
from textual.widgets import Input, Label, Static

from cli.render import turn_text
from cli.replay_app.app import ReplayApp
from db.engine import make_engine, session_factory

Scalar = Callable[[str, str], object]


def drive(
    url: str, conversation_id: int, script: Callable[[ReplayApp, Pilot[None]], Awaitable[None]]
) -> None:
    """Run the app headless at 120x40 and hand it to `script`."""
    engine = make_engine(url)

    async def main() -> None:
        app = ReplayApp(session_factory(engine), conversation_id)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await script(app, pilot)

    try:
        asyncio.run(main())
    finally:
        engine.dispose()


def status(app: ReplayApp) -> str:
    return str(app.query_one("#status", Static).content)


def shown(app: ReplayApp) -> list[int]:
    """Indices of the turns on screen (not hidden as future)."""
    return [v.index for v in app.turn_views if not v.has_class("future")]


def test_step_back_and_forth_and_jump(generated: str, parallel_id: int) -> None:
    async def script(app: ReplayApp, pilot: Pilot[None]) -> None:
        assert app.cursor == 0 and shown(app) == [0]
        await pilot.press("right", "right")
        assert app.cursor == 2 and shown(app) == [0, 1, 2]
        assert [v.index for v in app.turn_views if v.has_class("current")] == [2]
        assert status(app).startswith("turn 2/")
        await pilot.press("left")
        assert app.cursor == 1
        await pilot.press("end")
        last = len(app.conversation.trajectory.turns) - 1
        assert app.cursor == last and shown(app) == list(range(last + 1))
        await pilot.press("right")  # past the end stays at the end
        assert app.cursor == last
        await pilot.press("g")
        prompt = app.screen.query_one("#prompt-input", Input)
        prompt.value = ""
        await pilot.press("1", "enter")
        await pilot.pause()
        assert app.cursor == 1 and shown(app) == [0, 1]

    drive(generated, parallel_id, script)


def test_hints_toggle(generated: str, parallel_id: int) -> None:
    async def script(app: ReplayApp, pilot: Pilot[None]) -> None:
        hints = app.query_one("#hints", Static)
        assert hints.has_class("hidden") and not hints.display
        await pilot.press("h")
        assert not hints.has_class("hidden") and hints.display
        assert "sub-task hints" in str(hints.render_lines) or app.conversation.task.subtasks
        await pilot.press("h")
        assert not hints.display

    drive(generated, parallel_id, script)


def test_search_finds_turns_and_next_match_cycles(generated: str, parallel_id: int) -> None:
    async def script(app: ReplayApp, pilot: Pilot[None]) -> None:
        turns = app.conversation.trajectory.turns
        name = app.conversation.trajectory.calls[0].name
        expected = [i for i, t in enumerate(turns) if name in turn_text(t)]
        assert len(expected) >= 2
        await pilot.press("slash")
        await pilot.press(*name.upper(), "enter")  # any case
        await pilot.pause()
        assert app.matches == expected and app.cursor == expected[0]
        assert f"'{name.upper()}': match 1/{len(expected)}" in status(app)
        await pilot.press("n")
        assert app.cursor == expected[1]
        assert all(app.turn_views[i].has_class("match") for i in expected if i <= app.cursor)
        for _ in expected[1:]:
            await pilot.press("n")
        assert app.cursor == expected[0]  # wrapped around

    drive(generated, parallel_id, script)


def test_fork_from_the_app_shows_the_fork(db_copy: str, parallel_id: int, scalar: Scalar) -> None:
    async def script(app: ReplayApp, pilot: Pilot[None]) -> None:
        await pilot.press("f")
        await pilot.pause()
        turn = app.screen.query_one("#fork-turn", Input)
        turn.value = "99"
        await pilot.click("#fork-go")
        await pilot.pause()
        assert "K must be 1–" in str(app.screen.query_one("#fork-error", Label).content)
        turn.value = "1"  # the setting offered first is the sequential policy
        turn.focus()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        conv = app.conversation
        assert conv.forked_from_id == parallel_id and conv.fork_turn == 1 and conv.status == "accepted"
        assert app.cursor == 1 and app.query("#divergence")
        views = app.turn_views
        assert views[0].has_class("shared") and not views[1].has_class("shared")
        assert f"fork of #{parallel_id} at turn 1" in app.sub_title
        assert "own turn of this fork" in status(app)
        await pilot.press("left")
        assert f"shared with #{parallel_id}" in status(app)

    drive(db_copy, parallel_id, script)
    fork_rows = scalar(db_copy, "SELECT COUNT(*) FROM messages WHERE conversation_id = 17")
    assert fork_rows == scalar(db_copy, "SELECT n_turns - 1 FROM conversations WHERE id = 17")
