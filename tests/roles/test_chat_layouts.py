"""A native assistant's context, as a local model is given it, is the training record of the export the
model learnt from: the `trl` record in the template layout, the `hermes` record in the Hermes layout,
message for message (tools included), for every stored conversation of the shared export database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from autogen_core import CancellationToken
from autogen_core.models import LLMMessage
from autogen_core.tools import Tool, ToolSchema

from datamodel.trajectory import AssistantTurn, ToolTurn, UserTurn
from db import store
from db.store import StoredConversation
from roles.assistant import AssistantRole
from roles.chat_layouts import native_layout, to_chat
from roles.messages import turn_message
from roles.scripted import ScriptedChatCompletionClient
from tests.conftest import load_test_module
from training.formats.hermes import hermes_record
from training.formats.trl import trl_record

data = load_test_module("button_tests_export_data", Path(__file__).parents[1] / "training" / "export_data.py")
tiny = load_test_module("button_tests_tiny_lm", Path(__file__).parents[1] / "training" / "tiny_lm.py")


class _Capture(ScriptedChatCompletionClient):
    """Answers once and keeps what it was asked with."""

    asked: list[LLMMessage] = []
    tools: list[dict[str, Any]] = []

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> str:
        self.asked = list(messages)
        self.tools = [{"type": "function", "function": dict(t)} for t in tools if not isinstance(t, Tool)]
        return "<final>done</final>"


@pytest.fixture(scope="module")
def conversations(tmp_path_factory: pytest.TempPathFactory) -> list[StoredConversation]:
    _, sessions = data.build_export_db(tmp_path_factory.mktemp("export"))
    with sessions() as session:
        stored = list(store.iter_conversations(session, status=None))
    return [c for c in stored if c.models.get("assistant") != data.REJECTED_MODEL]  # the hand-written oddity


def _context(conversation: StoredConversation) -> tuple[list[LLMMessage], list[dict[str, Any]]]:
    """What a native assistant sends its client after every turn of the conversation."""
    client = _Capture()
    role = AssistantRole(
        "assistant",
        client,
        conversation.task.functions,
        parallel=conversation.trajectory.parallel,
        native=True,
    )
    sources = {UserTurn: "user", AssistantTurn: "assistant", ToolTurn: "tool"}
    messages = [turn_message(t, sources[type(t)]) for t in conversation.trajectory.turns]
    asyncio.run(role.on_messages(messages, CancellationToken()))
    return client.asked, client.tools


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False))


def test_the_template_layout_is_the_trl_record(conversations: list[StoredConversation]) -> None:
    assert len(conversations) >= 40
    for conversation in conversations:
        asked, tools = _context(conversation)
        record = _plain(trl_record(conversation))
        assert _plain(to_chat(asked, "template", tools)) == record["messages"], conversation.id
        assert tools == json.loads(record["tools"])


def test_the_hermes_layout_is_the_hermes_record(conversations: list[StoredConversation]) -> None:
    for conversation in conversations:
        asked, tools = _context(conversation)
        assert _plain(to_chat(asked, "hermes", tools)) == _plain(hermes_record(conversation))["messages"]


def test_the_layout_follows_what_the_template_renders() -> None:
    chatml = tiny.build_tokenizer(["a b c"], tiny.CHATML, vocab_size=300)
    assert native_layout(chatml) == "hermes"  # SmolLM2's template drops tools and tool_calls
    llama = tiny.build_tokenizer(["a b c"], tiny.LLAMA3_TOOLS, vocab_size=300)
    assert native_layout(llama) == "template"
