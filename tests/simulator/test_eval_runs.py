"""`button eval` / `button evals` as a user runs them, with the offline assistant as the model under test
(the tiny-model run is in tests/llm/test_eval_hf.py): stored runs and metrics on SQLite and PostgreSQL,
held-out checks against training exports, outputs, resume, and exports that leave evaluations out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from cli import app
from db.engine import make_engine, session_factory
from db.models import Conversation, EvalResult, EvalRun, Run
from evaluation.heldout import HeldOutError, world_tasks

runner = CliRunner()


def button(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


PLAIN = "clarify=0,follow_up=0,irrelevant=0,tool_error=0,look_alike=0"  # the eval's world tasks are plain


def _export(url: str, tmp_path: Path, seed: int = 5, n: int = 30) -> Path:
    code, out = button(
        "generate", "--n", str(n), "--seed", str(seed), "--workers", "0", "--mix", PLAIN, "--db", url
    )
    assert code == 0, out
    data = tmp_path / "train.jsonl"
    code, out = button("export", "--format", "button", "--out", str(data), "--db", url)
    assert code == 0, out
    return data


def test_eval_stores_run_metrics_and_summary(db_url: str, tmp_path: Path) -> None:
    data = _export(db_url, tmp_path)
    report, chart = tmp_path / "report.json", tmp_path / "chart.png"
    code, out = button(
        "eval", "--model", "offline", "--n", "6", "--train-data", str(data), "--db", db_url,
        "--json", str(report), "--plot", str(chart),
    )  # fmt: skip
    assert code == 0, out
    assert "par-then-seq" in out or "sequential" in out
    sessions = session_factory(make_engine(db_url))
    with sessions() as session:
        run = session.scalars(select(EvalRun)).one()
        assert run.held_out == {"checked_against": [str(data)], "training_tasks": 30}
        assert session.get(Run, run.run_id).kind == "eval"  # type: ignore[union-attr]
        rows = session.scalars(select(EvalResult)).all()
        assert len(rows) == 6 and all(r.success and r.progress == 1.0 for r in rows)
        assert run.summary is not None and run.summary["overall"]["all"]["success_rate"] == 1.0
        scores = session.execute(text("SELECT SUM(n), MIN(success_rate) FROM eval_scores")).one()
        assert tuple(scores) == (6, 1.0)
    document = json.loads(report.read_text())
    assert document["evaluations"][0]["metrics"]["overall"]["all"]["n"] == 6
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_exports_leave_evaluation_conversations_out(sqlite_url: str, tmp_path: Path) -> None:
    data = _export(sqlite_url, tmp_path, n=10)
    assert (
        button("eval", "--model", "offline", "--n", "4", "--train-data", str(data), "--db", sqlite_url)[0]
        == 0
    )
    again = tmp_path / "again.jsonl"
    code, out = button("export", "--format", "button", "--out", str(again), "--db", sqlite_url)
    assert code == 0, out
    assert len(again.read_text().splitlines()) == 10
    manifest = json.loads((tmp_path / "train.jsonl.manifest.json").read_text())
    assert len(manifest["task_fingerprints"]) == 10


def test_tasks_of_the_training_data_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    data = _export(sqlite_url, tmp_path, seed=5, n=12)
    code, out = button(
        "eval", "--model", "offline", "--from-run", "1", "--train-data", str(data), "--db", sqlite_url
    )
    assert code == 1 and "12 of the 12 tasks of run 1 are in the training data" in out
    code, out = button(
        "eval",
        "--model",
        "offline",
        "--seed",
        "5",
        "--n",
        "12",
        "--train-data",
        str(data),
        "--db",
        sqlite_url,
    )
    assert code == 1 and "--seed 5 draws the training data's own tasks" in out
    with session_factory(make_engine(sqlite_url))() as session:
        assert session.scalar(select(func.count()).select_from(EvalRun)) == 0  # nothing stored


def test_world_tasks_replace_the_ones_trained_on() -> None:
    first, skipped = world_tasks(5, 9, world_seed=0, max_subtasks=3, exclude=frozenset())
    assert skipped == 0
    trained = frozenset({first[0].fingerprint(), first[2].fingerprint()})
    tasks, skipped = world_tasks(5, 9, world_seed=0, max_subtasks=3, exclude=trained)
    assert skipped == 2 and len(tasks) == 5
    assert not {t.fingerprint() for t in tasks} & trained
    all_of_them, _ = world_tasks(30, 9, world_seed=0, max_subtasks=3, exclude=frozenset())
    with pytest.raises(HeldOutError, match="choose another --seed"):  # the seed made the training data
        world_tasks(
            3, 9, world_seed=0, max_subtasks=3, exclude=frozenset(t.fingerprint() for t in all_of_them)
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval"], "give at least one --model"),
        (["eval", "--model", "hf:/no/such/model"], "no model at /no/such/model"),
        (["eval", "--model", "gpt-4"], "invalid model 'gpt-4'"),
        (
            ["eval", "--model", "offline", "--train-data", "missing.jsonl"],
            "--train-data missing.jsonl: no such file",
        ),
        (["eval", "--model", "offline", "--training-run", "7"], "--training-run 7: no such training run"),
        (["evals", "99"], "eval run 99 does not exist"),
    ],
)
def test_bad_input_gets_one_clear_line(args: list[str], message: str, sqlite_url: str) -> None:
    if args[0] == "evals":  # it only reads: the database must exist
        assert button("db", "upgrade", "--db", sqlite_url)[0] == 0
    code, out = button(*args, "--db", sqlite_url)
    assert code == 1 and message in out and "Traceback" not in out


def test_data_without_manifest_cannot_be_checked(sqlite_url: str, tmp_path: Path) -> None:
    data = tmp_path / "bare.jsonl"
    data.write_text("{}\n")
    code, out = button("eval", "--model", "offline", "--train-data", str(data), "--db", sqlite_url)
    assert code == 1 and "no manifest beside it" in out


def test_evals_lists_and_compares(sqlite_url: str, tmp_path: Path) -> None:
    code, out = button(
        "eval", "--model", "offline", "--model", "offline", "--label", "one", "--label", "two", "--n", "3",
        "--db", sqlite_url,
    )  # fmt: skip
    assert code == 0, out
    code, out = button("evals", "--db", sqlite_url)
    assert code == 0 and "one" in out and "two" in out and "100.0%" in out
    code, out = button("evals", "1", "2", "--json", str(tmp_path / "r.json"), "--db", sqlite_url)
    assert code == 0 and "one #1" in out and "two #2" in out
    assert [e["label"] for e in json.loads((tmp_path / "r.json").read_text())["evaluations"]] == [
        "one",
        "two",
    ]


def test_resume_finishes_what_an_interrupted_evaluation_left(sqlite_url: str) -> None:
    assert button("eval", "--model", "offline", "--n", "4", "--db", sqlite_url)[0] == 0
    with session_factory(make_engine(sqlite_url)).begin() as session:
        session.execute(text("DELETE FROM conversations WHERE id IN (SELECT id FROM conversations LIMIT 2)"))
    code, out = button("eval", "--resume", "1", "--db", sqlite_url)
    assert code == 0, out
    with session_factory(make_engine(sqlite_url))() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 4
        assert session.scalar(select(func.count()).select_from(EvalResult)) == 4


def test_older_manifests_are_read_through_their_database(sqlite_url: str, tmp_path: Path) -> None:
    data = _export(sqlite_url, tmp_path, seed=5, n=6)
    manifest_file = tmp_path / "train.jsonl.manifest.json"
    manifest = json.loads(manifest_file.read_text())
    del manifest["task_fingerprints"]  # as written before fingerprints existed
    manifest_file.write_text(json.dumps(manifest))
    code, out = button(
        "eval", "--model", "offline", "--from-run", "1", "--train-data", str(data), "--db", sqlite_url
    )
    assert code == 1 and "6 of the 6 tasks of run 1 are in the training data" in out


def test_plot_without_matplotlib_is_one_line_before_any_work(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as without the `train` extra
    assert button("db", "upgrade", "--db", sqlite_url)[0] == 0
    for args in (
        ("evals", "1", "--plot", "c.png"),
        ("eval", "--model", "offline", "--n", "2", "--plot", "c.png"),
    ):
        code, out = button(*args, "--db", sqlite_url)
        assert code == 1 and "needs matplotlib" in out and len(out.strip().splitlines()) == 1, out
    assert "offline" not in button("evals", "--db", sqlite_url)[1]  # no eval run was made
