"""Tokens per exported conversation, as `button train` would see them (not a test).

    .venv/bin/python bench/export_tokens.py [--n 600] [--seed 7] [--baseline OLD.jsonl ...]

Generates the demo's mix (N offline conversations of SEED, the `make demo` settings), exports it in the
button format, and tokenizes every record with the base model's chat template exactly as `button train`
does (SmolLM2-135M-Instruct by default: `make model`), with the assistant-only mask. Prints, per file,
the mean tokens per conversation, the mean trained (assistant) tokens and their share; `--baseline` adds
earlier exports (e.g. one made by an older checkout) to the table, with how many fewer tokens per
conversation this checkout's export has.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from datamodel.run_config import GenerateConfig
from db.engine import ensure_schema, make_engine, session_factory
from roles.local_models import DEFAULT_BASE_MODEL, load_tokenizer, resolve_base_model
from simulator.generate import generate_run
from training.data import prepare_examples
from training.export import export_conversations


def _export(n: int, seed: int, folder: Path) -> Path:
    engine = make_engine(f"sqlite:///{folder / 'tokens.db'}")
    ensure_schema(engine)
    sessions = session_factory(engine)
    generate_run(sessions, GenerateConfig(n=n, seed=seed, workers=0))
    out = folder / "current.jsonl"
    export_conversations(sessions, "button", out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="Conversations to generate (the demo's 600).")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the tasks (the demo's 7).")
    parser.add_argument("--base-model", type=Path, default=DEFAULT_BASE_MODEL, help="Whose tokenizer.")
    parser.add_argument("--baseline", type=Path, nargs="*", default=[], help="Earlier exports to compare.")
    args = parser.parse_args()
    tokenizer = load_tokenizer(resolve_base_model(args.base_model))
    with tempfile.TemporaryDirectory() as folder:
        files = {"this checkout": _export(args.n, args.seed, Path(folder))}
        files |= {str(path): path for path in args.baseline}
        table = Table(title=f"tokens per exported conversation ({args.base_model})", title_justify="left")
        columns = (
            "export",
            "conversations",
            "tokens/conv",
            "trained/conv",
            "trained share",
            "this one's saving",
        )
        for column in columns:
            table.add_column(column)
        first: float | None = None
        for name, path in files.items():
            data = prepare_examples(path, tokenizer, max_length=1_000_000)
            count = len(data.examples)
            mean = data.n_tokens / count
            first = mean if first is None else first
            change = "" if name == "this checkout" else f"{(mean - first) / mean:.1%} fewer tokens"
            table.add_row(
                name,
                str(count),
                f"{mean:,.0f}",
                f"{data.n_trained_tokens / count:,.0f}",
                f"{data.n_trained_tokens / data.n_tokens:.0%}",
                change,
            )
        Console().print(table)


if __name__ == "__main__":
    main()
