"""The pure parts of the bottom-up stages: seed import, prompts, reply parsing, function checks, dedup."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from autogen_core.models import LLMMessage
from autogen_core.tools import Tool, ToolSchema

from composition.prompts import PromptError, load_prompt
from composition.seeds import EXAMPLE_SEEDS, SeedFormatError, load_seeds
from composition.stages.ask import ask_until_valid
from composition.stages.composing import parse_composition
from composition.stages.dedup import greedy_dedup
from composition.stages.functions import chaining_problems, output_fields, parse_functions
from composition.stages.replies import ReplyError, parse_json_object, parse_verdict
from composition.stages.scenarios import parse_scenario
from composition.stages.types import ComposeRequest, DraftTask
from datamodel.run_config import BottomUpConfig
from datamodel.tasks import AtomicTask, FunctionSpec, Scenario, Strategy, SubTask
from roles.scripted import ScriptedChatCompletionClient
from tests.conftest import load_test_module

script = load_test_module("button_tests_llm_script", Path(__file__).with_name("llm_script.py"))

SCENARIO = Scenario(text="tracking a parcel delivery", domain="shopping", source="seed")
ATOMIC = AtomicTask(instruction="Where is parcel ZX-1 now?", scenario=SCENARIO)


def test_example_seeds_mix_both_styles() -> None:
    seeds = load_seeds(EXAMPLE_SEEDS)
    assert len(seeds) == 12 and {s.source for s in seeds} == {"glaive", "toolbench"}
    glaive = seeds[0]
    assert [t.role for t in glaive.turns] == ["user", "assistant", "function", "assistant"]
    assert glaive.functions[0]["name"] == "convert_currency"
    assert "<|endoftext|>" not in glaive.transcript()
    assert seeds[-1].turns[0].role == "user" and seeds[-1].functions[0]["api_name"] == "match_result"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "seeds.jsonl:2: not valid JSON"),
        ('{"foo": 1}', "seeds.jsonl:2: unknown record shape"),
        (
            '{"system": "SYSTEM: hi", "chat": "ASSISTANT: hello"}',
            "seeds.jsonl:2: glaive 'chat' has no 'USER:'",
        ),
        (
            '{"conversations": [{"from": "robot", "value": "x"}]}',
            "seeds.jsonl:2: conversations[0] has unknown",
        ),
    ],
)
def test_bad_seed_records_name_file_line_and_problem(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "seeds.jsonl"
    path.write_text('{"query": "Find me a cheap gym nearby."}\n' + line + "\n")
    with pytest.raises(SeedFormatError, match=re.escape(message)):
        load_seeds(path)


def test_json_array_seed_files(tmp_path: Path) -> None:
    path = tmp_path / "seeds.json"
    path.write_text(
        json.dumps([{"query": "Find a gym."}, {"conversations": [{"from": "human", "value": "Hi"}]}])
    )
    assert [s.turns[0].text for s in load_seeds(path)] == ["Find a gym.", "Hi"]


def test_prompts_load_by_version_and_render_every_placeholder() -> None:
    template = load_prompt("atomic_task", 1)
    assert template.placeholders == {"scenario", "domain"}
    assert "booking flights" in template.render(scenario="booking flights", domain="travel")
    with pytest.raises(PromptError, match="missing"):
        template.render(scenario="x")
    with pytest.raises(PromptError, match=r"available: v1"):
        load_prompt("atomic_task", 9)
    with pytest.raises(ValueError, match="unknown prompt"):
        BottomUpConfig(prompt_versions={"nope": 1})
    with pytest.raises(ValueError, match="sequential"):
        BottomUpConfig(strategies=[Strategy.ATOMIC])


def test_json_replies_parse_strictly() -> None:
    assert parse_json_object('Here you go:\n```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_object('prefix {"a": {"b": 2}} suffix') == {"a": {"b": 2}}
    with pytest.raises(ReplyError, match="not valid"):
        parse_json_object('{"a": 1, "b": [1, 2')  # truncated: never half an answer
    with pytest.raises(ReplyError, match="no JSON object"):
        parse_json_object("no braces here")


def test_scenario_rules() -> None:
    seed = load_seeds(EXAMPLE_SEEDS)[0]
    assert parse_scenario('{"scenario": "converting money", "domain": "Finance"}', seed).domain == "finance"
    with pytest.raises(ReplyError, match="contains a number"):
        parse_scenario('{"scenario": "converting 250 dollars", "domain": "finance"}', seed)
    with pytest.raises(ValueError, match="at most 10"):
        parse_scenario(json.dumps({"scenario": " ".join(["word"] * 11), "domain": "x"}), seed)


def test_verdicts_need_analysis_and_a_tag() -> None:
    assert parse_verdict("Fine.\n<ans>yes</ans>") == (True, "Fine.")
    assert parse_verdict("Step 2 is unrelated.\n<ANS> No </ANS>")[0] is False
    with pytest.raises(ReplyError, match="no verdict"):
        parse_verdict("yes")
    with pytest.raises(ReplyError, match="analysis is missing"):
        parse_verdict("<ans>yes</ans>")


def test_composition_fixes_dependencies_by_strategy() -> None:
    reply = json.dumps(
        {
            "parallel_task": "Find parcel ZX-2.",
            "subsequent_task": "Which arrives first?",
            "composed_task": "Which of ZX-1 and ZX-2 arrives first?",
        }
    )
    draft = parse_composition(
        reply, ComposeRequest(atomic=ATOMIC, strategy=Strategy.PARALLEL_THEN_SEQUENTIAL)
    )
    assert [s.depends_on for s in draft.subtasks] == [[], [], [0, 1]]
    sequential = (
        '{"subsequent_task": "When does it arrive?", "composed_task": "When will parcel ZX-1 arrive?"}'
    )
    draft = parse_composition(sequential, ComposeRequest(atomic=ATOMIC, strategy=Strategy.SEQUENTIAL))
    assert [s.depends_on for s in draft.subtasks] == [[], [0]]
    with pytest.raises(ReplyError, match="mentions 'track_parcel'"):
        parse_composition(
            '{"subsequent_task": "x y", "composed_task": "Use track_parcel for ZX-1."}',
            ComposeRequest(atomic=ATOMIC, strategy=Strategy.SEQUENTIAL),
        )


def _spec(name: str, params: dict[str, str], outputs: dict[str, Any]) -> FunctionSpec:
    return FunctionSpec(
        name=name,
        description="d",
        parameters={"type": "object", "properties": {k: {"type": t} for k, t in params.items()}},
        responses={"type": "object", "properties": outputs},
    )


def test_chaining_matches_name_and_type_through_nesting() -> None:
    search = _spec(
        "search",
        {"q": "string"},
        {
            "hits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"flight_id": {"type": "string"}, "seats": {"type": "integer"}},
                },
            }
        },
    )
    assert output_fields(search) == {"hits": {"array"}, "flight_id": {"string"}, "seats": {"integer"}}
    subtasks = [
        SubTask(index=0, instruction="a", functions=["search"]),
        SubTask(index=1, instruction="b", depends_on=[0], functions=["book"]),
    ]
    book = {"book": _spec("book", {"flight_id": "string"}, {"ok": {"type": "boolean"}})}
    assert chaining_problems(subtasks, {"search": search, **book}) == []
    wide = {"book": _spec("book", {"seats": "number"}, {})}  # an integer output feeds a number input
    assert chaining_problems(subtasks, {"search": search, **wide}) == []
    wrong_type = {"book": _spec("book", {"flight_id": "integer"}, {})}
    [problem] = chaining_problems(subtasks, {"search": search, **wrong_type})
    assert "step 2 uses the result of step 1" in problem and "flight_id:string" in problem
    logic = [subtasks[0], SubTask(index=1, instruction="compare", depends_on=[0])]
    assert chaining_problems(logic, {"search": search}) == []  # a logic step needs no link


def _draft() -> DraftTask:
    subtasks = [
        SubTask(index=0, instruction="Where is parcel ZX-1?"),
        SubTask(index=1, instruction="Notify me.", depends_on=[0]),
    ]
    return DraftTask(
        instruction="Tell me where ZX-1 is.", strategy=Strategy.SEQUENTIAL, atomic=ATOMIC, subtasks=subtasks
    )


def _fn(name: str, params: dict[str, Any], responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": "d", "parameters": params, "responses": responses, **extra}


def test_function_replies_are_validated_as_a_whole() -> None:
    track = _fn(
        "track",
        {"type": "object", "properties": {"number": {"type": "string"}}},
        {"type": "object", "properties": {"status": {"type": "string"}}},
        required=["number"],
    )
    notify = _fn(
        "notify", {"type": "object", "properties": {"status": {"type": "string"}}}, {"type": "object"}
    )
    reply = {
        "functions": [track, notify],
        "steps": [{"step": 1, "functions": ["track"]}, {"step": 2, "functions": ["notify"]}],
    }
    task = parse_functions(json.dumps(reply), _draft())
    assert task.function("track").required == ["number"]  # type: ignore[union-attr]
    assert [s.functions for s in task.subtasks] == [["track"], ["notify"]] and task.reference is None
    cases = [
        ({**reply, "functions": [track, track]}, "used twice"),
        ({**reply, "functions": [track, {**notify, "responses": None}]}, "function 'notify': responses"),
        (
            {**reply, "functions": [track, {k: v for k, v in notify.items() if k != "responses"}]},
            "responses: Field required",
        ),
        (
            {**reply, "functions": [track, {**notify, "parameters": {"type": "objekt"}}]},
            "not a valid JSON Schema",
        ),
        ({**reply, "steps": reply["steps"][:1]}, r"steps \[2\] are missing"),
        (
            {**reply, "functions": [track, notify, {**notify, "name": "spare"}]},
            "'spare' is defined but no step uses it",
        ),
        (
            {**reply, "steps": [{"step": 1, "functions": []}, {"step": 2, "functions": []}]},
            "no step needs a function",
        ),
    ]
    for bad, message in cases:
        with pytest.raises(ReplyError, match=message):
            parse_functions(json.dumps(bad), _draft())


def test_greedy_dedup_keeps_the_first_of_near_duplicates() -> None:
    verdicts = greedy_dedup(
        [
            "tracking a parcel delivery",
            "cooking dinner for guests",
            "Tracking a parcel delivery.",
            "tracking a parcel delivery online",
        ],
        script.bag_of_words,
        0.85,
        already_kept=["renewing a passport"],
    )
    assert [v.kept for v in verdicts] == [True, True, False, False]
    assert verdicts[2].similarity == 1.0 and "tracking a parcel delivery" in (verdicts[3].reason or "")
    assert (
        greedy_dedup(["renewing a passport"], script.bag_of_words, 0.85, ["renewing a passport"])[0].kept
        is False
    )


class _Stubborn(ScriptedChatCompletionClient):
    """Answers badly twice, then well; remembers what it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[str]] = []

    def decide(self, messages: list[LLMMessage], tools: list[Tool | ToolSchema]) -> str:  # type: ignore[override]
        self.seen.append([str(m.content) for m in messages])
        return '{"a": 1}' if len(messages) == 5 else "nonsense"


def test_ask_feeds_the_reason_back_and_gives_up_after_max_retries() -> None:
    feedback = load_prompt("retry_feedback", 1)
    client = _Stubborn()
    done = asyncio.run(ask_until_valid(client, "Q", parse_json_object, feedback=feedback, max_retries=2))
    assert done.output == {"a": 1} and done.attempts == 3
    assert client.seen[1][1:] == [
        "nonsense",
        feedback.render(error="the reply holds no JSON object; answer with one JSON object"),
    ]
    failed = asyncio.run(
        ask_until_valid(_Stubborn(), "Q", parse_json_object, feedback=feedback, max_retries=1)
    )
    assert failed.output is None and failed.reason and "no usable reply in 2 attempts" in failed.reason
