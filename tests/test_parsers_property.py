"""Every parser of untrusted text, fed random and malformed input: a typed result or a typed reason out.

Model replies, tool replies, seed files, exported records and model names come from outside the program;
whatever they hold, each parser returns its declared type or raises the error its docstring names (a
reason the caller records), never a KeyError, TypeError, RecursionError or a bare ValueError. Inputs are
arbitrary text, text built from the formats' own pieces (tags, JSON fragments, field names), and valid
inputs with parts replaced or dropped (`variants`), so the search reaches past the first check.
`derandomize` keeps every run the same; `--hypothesis-show-statistics` shows how far inputs got.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from autogen_core import FunctionCall
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from composition.seeds import EXAMPLE_SEEDS, SeedFormatError, load_seeds, parse_record
from composition.stages.atomic import parse_atomic
from composition.stages.composing import parse_composition
from composition.stages.functions import parse_functions
from composition.stages.judge import parse_judgement
from composition.stages.replies import ReplyError, parse_json_object, parse_verdict
from composition.stages.scenarios import parse_expansion, parse_scenario
from composition.stages.types import ComposeRequest, DraftTask, ExpandRequest
from datamodel.button_format import ParsedAssistant, parse_assistant_text, parse_call_list
from datamodel.models import ModelSpec, parse_model
from datamodel.seeds import SeedConversation, SeedTurn
from datamodel.tasks import FunctionSpec, Strategy
from datamodel.trajectory import AssistantTurn
from db.store import StoredConversation
from roles.assistant import turn_from_calls
from roles.native_text import parse_native_text
from tests.conftest import load_test_module
from toolmock.offline import execute_request
from toolmock.validate import parse_tool_output, validate_arguments, validate_result
from training.data import DataError, read_manifest, read_records
from training.formats import FORMATS, ParsedExchange, RecordError

tiny = load_test_module("button_tests_tiny_world", Path(__file__).parent / "simulator" / "tiny_world.py")
T = TypeVar("T")
# The same examples every run (derandomize, and no database replaying earlier failures); no timing.
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None)
SLOW = settings(  # each example writes files, or builds and checks JSON Schemas
    FAST, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)

# JSON that json.loads itself cannot take: nested past the stack, an integer past Python's digit limit.
DEEP_LIST = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
LONG_INT = "1" * 5000
HOSTILE_JSON = [DEEP_LIST, DEEP_OBJECT, LONG_INT, "NaN", "-Infinity", "1e999"]
WRAPPERS = [
    "%s",
    "<call>%s</call>",
    '<call>{"name": "f", "arguments": %s}</call>',
    '{"a": %s}',
    "```json\n%s\n```",
]
HOSTILE = [wrapper % value for wrapper in WRAPPERS for value in HOSTILE_JSON]

WORDS = [
    "name", "arguments", "parameters", "type", "function", "results", "error", "messages", "role",
    "content", "tool_calls", "tools", "conversations", "from", "value", "system", "chat", "query",
    "api_list", "functions", "user", "assistant", "tool", "human", "gpt", "function_call", "observation",
    "scenario", "domain", "scenarios", "task", "composed_task", "parallel_task", "subsequent_task",
    "steps", "step", "description", "responses", "properties", "required", "object", "string", "integer",
]  # fmt: skip
PIECES = [
    "<call>", "</call>", "<final>", "</final>", "<tool_call>", "</tool_call>", "<tool_call>\n",
    "\n</tool_call>", "<tool_response>\n", "\n</tool_response>", "<think>\n", "\n</think>\n\n",
    "<ans>yes</ans>", "<ans>no</ans>", "```json\n", "```", "{", "}", "[", "]", '"', ":", ",", "\\",
    '"name"', '"arguments"', '"parameters"', '"type": "function"', '"function"', "null", "true",
    "NaN", "Infinity", "1e999", "-0", "12345678901234567890", '"\\ud800"', '"\\u0000"', "USER:",
    "ASSISTANT:", "FUNCTION RESPONSE:", "<|endoftext|>", "\n", " ", "é", "😀", "\x00", "\u2028",
]  # fmt: skip

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(WORDS) | st.text(max_size=12)
)
keys = st.sampled_from(WORDS) | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=16,
)
json_texts = st.builds(json.dumps, json_values)
pieced = st.lists(st.sampled_from(PIECES) | st.text(max_size=8) | json_texts, max_size=14).map("".join)
plain_texts = st.text() | pieced | json_texts
texts = plain_texts | st.sampled_from(HOSTILE)
call_texts = st.builds(  # call blocks whose calls are nearly right, so the checks of a call are reached
    lambda wrapper, name, arguments: wrapper % json.dumps({"name": name, "arguments": arguments}),
    st.sampled_from(["<call>%s</call>", "<call>[%s]</call>", "<tool_call>%s</tool_call>", "x %s"]),
    scalars,
    json_values | json_texts,
)


def variants(valid: Any) -> st.SearchStrategy[Any]:
    """Mostly `valid` itself; else the same shape with its parts varied alike (keys dropped, one added),
    or random JSON in its place: inputs that pass the first checks and break a later one."""
    reshaped: st.SearchStrategy[Any]
    if isinstance(valid, dict):
        reshaped = st.fixed_dictionaries(
            {}, optional={**{k: variants(v) for k, v in valid.items()}, "x": scalars}
        )
    elif isinstance(valid, list):
        reshaped = st.one_of(
            st.tuples(*(variants(item) for item in valid)).map(list), st.lists(json_values, max_size=3)
        )
    else:
        reshaped = st.one_of(scalars, pieced)
    return st.sampled_from(["same", "same", "same", "reshaped", "random"]).flatmap(
        lambda how: st.just(valid) if how == "same" else reshaped if how == "reshaped" else json_values
    )


def with_examples(cases: Iterable[tuple[Any, ...]]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis `@example` for each case (the test's arguments): inputs every run tries first."""

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        for case in cases:
            test = example(*case)(test)
        return test

    return apply


def typed(call: Callable[[], T], result: type | tuple[type, ...], *errors: type[Exception]) -> T | None:
    """The call's value, checked to be a `result`; None when it raised one of `errors` with a reason.
    Any other exception propagates and fails the test."""
    try:
        value = call()
    except errors as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a reason"
        event(f"reason: {type(exc).__name__}")
        return None
    assert isinstance(value, result), f"{type(value).__name__} is not {result}"
    event(f"value: {type(value).__name__}")
    return value


def check_parsed(parsed: ParsedAssistant | None) -> None:
    """A malformed reply says why and carries nothing; a good one carries well-typed calls."""
    assert parsed is not None and isinstance(parsed.content, str)
    if parsed.error is not None:
        assert parsed.error.strip() and not parsed.calls and parsed.final is None
        return
    assert parsed.final is None or (isinstance(parsed.final, str) and parsed.final)
    assert not (parsed.calls and parsed.final is not None)
    assert all(isinstance(c.name, str) and c.name and isinstance(c.arguments, dict) for c in parsed.calls)


# Model output: assistant replies in the BUTTON format and the native forms; model names from flags.


@FAST
@given(texts | call_texts)
@with_examples((text,) for text in HOSTILE)
def test_assistant_text_gives_calls_an_answer_or_a_reason(text: str) -> None:
    check_parsed(typed(lambda: parse_assistant_text(text), ParsedAssistant))


@FAST
@given(texts)
@with_examples((text,) for text in HOSTILE)
def test_call_list_gives_calls_or_a_value_error(body: str) -> None:
    calls = typed(lambda: parse_call_list(body), list, ValueError)
    assert calls is None or (calls and all(isinstance(c.arguments, dict) for c in calls))


@FAST
@given(texts | call_texts)
@with_examples((text,) for text in [*HOSTILE, f"<tool_call>{LONG_INT}</tool_call>", '[{"name": ' + LONG_INT])
def test_native_text_gives_calls_an_answer_or_a_reason(text: str) -> None:
    check_parsed(typed(lambda: parse_native_text(text), ParsedAssistant))


@FAST
@given(plain_texts | json_texts)
def test_native_calls_give_calls_or_a_format_error(arguments: str) -> None:
    turn = typed(
        lambda: turn_from_calls([FunctionCall(id="c1", name="f", arguments=arguments)], None, 1),
        AssistantTurn,
    )
    assert turn is not None and (turn.format_error or isinstance(turn.tool_calls[0].arguments, dict))


@pytest.mark.parametrize("arguments", [DEEP_LIST, LONG_INT])
def test_native_calls_with_json_that_json_loads_cannot_take(arguments: str) -> None:
    assert turn_from_calls([FunctionCall(id="c1", name="f", arguments=arguments)], None, 1).format_error


@FAST
@given(texts)
def test_model_name_gives_a_spec_or_a_value_error(text: str) -> None:
    typed(lambda: parse_model(text), ModelSpec, ValueError)


# Tool replies, the call requests sent to tools, and the checks of arguments and results.


@FAST
@given(texts)
@with_examples((text,) for text in HOSTILE)
def test_tool_output_gives_a_result_or_a_reason(text: str) -> None:
    result, error = parse_tool_output(text)
    assert (
        isinstance(result, dict) if error is None else (result is None and isinstance(error, str) and error)
    )


class _Echo:
    def execute(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"called": str(name)}


@FAST
@given(texts | call_texts | st.none())
@with_examples((text,) for text in HOSTILE)
def test_tool_request_gives_a_json_reply(call_request: str | None) -> None:
    assert isinstance(json.loads(execute_request(_Echo(), call_request)), dict)


MEASURE = FunctionSpec(  # what a composer model may write: a float step, a $ref that resolves nowhere
    name="measure",
    description="Measure something.",
    parameters={
        "type": "object",
        "properties": {"x": {"type": "number", "multipleOf": 0.5}, "y": {"$ref": "#/$defs/missing"}},
        "required": ["x"],
    },
    responses={"type": "object", "properties": {"x": {"type": "number", "multipleOf": 0.1}}},
)
numbers = st.floats() | st.integers() | st.just(10**400)


@SLOW
@given(st.dictionaries(st.sampled_from(["x", "y", "z"]), numbers | json_values) | json_values)
@with_examples(({"x": value},) for value in (float("nan"), float("inf"), 10**400))
@example({"x": 1.0, "y": 2})
def test_validators_give_none_or_a_reason(value: Any) -> None:
    for spec in (MEASURE, tiny.GET_AUTHOR):
        typed(lambda: validate_arguments(spec, value), (str, type(None)))  # noqa: B023
        typed(lambda: validate_result(spec, value), (str, type(None)))  # noqa: B023


# Replies of the bottom-up stages: a value, or a ReplyError or pydantic ValidationError (both fed back to
# the model by ask_until_valid); nothing else.

SCENARIO = tiny.sequential_task().scenario
SEED = SeedConversation(source="toolbench", origin="x:1", turns=[SeedTurn(role="user", text="Hi")])
TASK = tiny.sequential_task()
DRAFT = DraftTask(
    instruction=TASK.instruction, strategy=TASK.strategy, atomic=TASK.atomic, subtasks=TASK.subtasks
)
SPECS = [{k: v for k, v in s.model_dump().items() if k != "domain"} for s in TASK.functions]
STAGES: dict[str, tuple[Callable[[str], Any], Any]] = {  # parser, a valid reply
    "scenario": (lambda t: parse_scenario(t, SEED), {"scenario": "finding books to read", "domain": "books"}),
    "expansion": (
        lambda t: parse_expansion(t, ExpandRequest(scenario=SCENARIO, count=2)),
        {"scenarios": [{"scenario": "renting a bike", "domain": "travel"}]},
    ),
    "atomic": (lambda t: parse_atomic(t, SCENARIO), {"task": "Who wrote Dune?"}),
    "sequential": (
        lambda t: parse_composition(t, ComposeRequest(atomic=TASK.atomic, strategy=Strategy.SEQUENTIAL)),
        {"composed_task": "When was the author of Dune born?", "subsequent_task": "Find their birth year."},
    ),
    "parallel": (
        lambda t: parse_composition(
            t, ComposeRequest(atomic=TASK.atomic, strategy=Strategy.PARALLEL_THEN_SEQUENTIAL)
        ),
        {
            "composed_task": "Which came first?",
            "parallel_task": "Who wrote Emma?",
            "subsequent_task": "Compare.",
        },
    ),
    "functions": (
        lambda t: parse_functions(t, DRAFT),
        {
            "functions": SPECS,
            "steps": [{"step": k + 1, "functions": [s["name"]]} for k, s in enumerate(SPECS)],
        },
    ),
    "judgement": (lambda t: parse_judgement(t, DRAFT), "The steps complete the task. <ans>yes</ans>"),
}
REPLY_ERRORS = (ReplyError, ValidationError)


def _deep_schema_reply(depth: int) -> str:
    """The valid functions reply with a parameter whose schema nests `depth` objects."""
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}}
    reply = json.loads(json.dumps(STAGES["functions"][1]))
    reply["functions"][0]["parameters"]["properties"]["deep"] = schema
    return json.dumps(reply)


def _reply(value: Any) -> st.SearchStrategy[str]:
    """A reply around a (varied) value: bare, fenced, or with prose before it."""
    text = value if isinstance(value, str) else json.dumps(value)
    return st.sampled_from(["%s", "```json\n%s\n```", "Here it is: %s"]).map(lambda wrapper: wrapper % text)


stage_replies = st.sampled_from(sorted(STAGES)).flatmap(
    lambda stage: st.tuples(
        st.just(stage), st.one_of(*[variants(STAGES[stage][1]).flatmap(_reply)] * 2, texts)
    )
)


@settings(FAST, max_examples=400)
@given(stage_replies)
@with_examples(((stage, text),) for stage, text in zip(itertools.cycle(STAGES), HOSTILE, strict=False))
@example(("functions", _deep_schema_reply(300)))
def test_stage_replies_give_a_value_or_a_reply_error(case: tuple[str, str]) -> None:
    stage, text = case
    parse = STAGES[stage][0]
    typed(lambda: parse(text), object, *REPLY_ERRORS)
    typed(lambda: parse_json_object(text), dict, ReplyError)
    typed(lambda: parse_verdict(text), tuple, ReplyError)


# Seed files: seeds, or a SeedFormatError naming the file and line.

SEED_RECORDS = [json.loads(line) for line in EXAMPLE_SEEDS.read_text(encoding="utf-8").splitlines()]
seed_records = st.sampled_from(SEED_RECORDS).flatmap(variants) | json_values


@FAST
@given(seed_records)
def test_seed_record_gives_a_seed_or_a_value_error(record: Any) -> None:
    typed(lambda: parse_record(record, "x:1"), SeedConversation, ValueError)


seed_lines = st.lists(
    st.builds(json.dumps, seed_records) | pieced | st.sampled_from(HOSTILE_JSON), max_size=4
)
file_bytes = st.binary(max_size=64) | seed_lines.map(lambda lines: "\n".join(lines).encode())


@SLOW
@given(file_bytes, st.sampled_from([".jsonl", ".json"]))
@with_examples((value.encode(), suffix) for value in HOSTILE_JSON for suffix in (".json", ".jsonl"))
@example(b"\xff\xfe{}", ".jsonl")
def test_seed_file_gives_seeds_or_a_seed_format_error(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"seeds{suffix}"
        path.write_bytes(content)
        typed(lambda: load_seeds(path), list, SeedFormatError)


def test_seed_file_keeps_line_separators_inside_strings(tmp_path: Path) -> None:
    """JSON Lines end at a newline only: U+2028, which `ensure_ascii=False` writes raw, is string text."""
    path = tmp_path / "seeds.jsonl"
    path.write_text(json.dumps({"query": "Hi\u2028there"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_seeds(path)[0].turns[0].text == "Hi\u2028there"


# Exported records read back: (messages, tools) or a DataError; each format's parser gives the dialogue
# back or a RecordError.

_AUTHOR = tiny.call("c1", "get_book_author", title=tiny.GATSBY)
_BIRTH = tiny.call("c2", "get_author_birth_year", author=tiny.FITZGERALD)
CONVERSATION = StoredConversation(
    id=1,
    run_id=1,
    task_id=1,
    task=TASK,
    trajectory=tiny.trajectory(
        AssistantTurn(content="I will look it up.", tool_calls=[_AUTHOR, _BIRTH]),
        tiny.tool_results((_AUTHOR, {"author": tiny.FITZGERALD}), (_BIRTH, "unknown author")),
    ),
    checks=[],
    status="accepted",
    rejected_by=None,
    models={},
)
RECORDS = {name: json.loads(json.dumps(f.render(CONVERSATION))) for name, f in FORMATS.items()}
export_records = st.sampled_from(sorted(RECORDS)).flatmap(lambda name: variants(RECORDS[name])) | json_values


@SLOW
@given(st.lists(st.builds(json.dumps, export_records) | pieced, max_size=3) | st.binary(max_size=48))
@with_examples(([value],) for value in HOSTILE_JSON)
@example(b"\xff\xfe{}")
def test_training_file_gives_records_or_a_data_error(lines: list[str] | bytes) -> None:
    content = lines if isinstance(lines, bytes) else "\n".join(lines).encode()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.jsonl"
        path.write_bytes(content)
        path.with_name("train.jsonl.manifest.json").write_bytes(content)
        typed(lambda: list(read_records(path)), list, DataError)
        typed(lambda: read_manifest(path), (dict, type(None)), DataError)


@settings(FAST, max_examples=400)
@given(
    st.sampled_from(sorted(FORMATS)).flatmap(lambda name: st.tuples(st.just(name), variants(RECORDS[name])))
)
def test_export_record_gives_exchanges_or_a_record_error(case: tuple[str, Any]) -> None:
    name, record = case
    exchanges = typed(lambda: FORMATS[name].parse(record), list, RecordError)
    for exchange in exchanges or []:
        assert isinstance(exchange, ParsedExchange) and isinstance(exchange.text, str)
        assert all(isinstance(c.name, str) and isinstance(c.arguments, dict) for c in exchange.calls)
