"""Re-draw the replay screenshots of docs/cli.md: a small offline run, one fork, three pilot renders.

Run from the repository root: `.venv/bin/python docs/img/make_screenshots.py` (needs `rsvg-convert`,
from the librsvg2-bin package, to turn Textual's SVG screenshots into PNG).
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import text

from cli.replay_app.app import ReplayApp
from datamodel.run_config import GenerateConfig
from db.engine import ensure_schema, make_engine, session_factory
from simulator.batch import prepare_run, simulate_pending
from simulator.fork import ForkChange, fork_conversation

OUT = Path(__file__).parent
SIZE = (120, 38)


async def _shoot(app: ReplayApp, keys: list[str], name: str, tmp: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause(0.2)
        svg = app.save_screenshot(f"{name}.svg", str(tmp))
    subprocess.run(["rsvg-convert", svg, "-o", str(OUT / f"{name}.png")], check=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        engine = make_engine(f"sqlite:///{tmp / 'button.db'}")
        ensure_schema(engine)
        sessions = session_factory(engine)
        run_id, config = prepare_run(sessions, GenerateConfig(n=16, seed=3, workers=0))
        simulate_pending(sessions, run_id, config)
        with engine.connect() as connection:
            parent = connection.execute(
                text(
                    "SELECT conversation_id FROM tool_calls GROUP BY conversation_id, message_id "
                    "HAVING COUNT(*) > 1 ORDER BY conversation_id LIMIT 1"
                )
            ).scalar_one()
        fork = fork_conversation(sessions, parent, 1, ForkChange(policy="sequential"))
        asyncio.run(_shoot(ReplayApp(sessions, parent), ["right", "right", "h"], "replay", tmp))
        asyncio.run(_shoot(ReplayApp(sessions, fork.conversation_id), ["right"], "replay-fork", tmp))
        asyncio.run(_shoot(ReplayApp(sessions, parent), ["right", "f"], "replay-fork-form", tmp))
        engine.dispose()


if __name__ == "__main__":
    main()
