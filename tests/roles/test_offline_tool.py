"""The offline tool client executes calls in an tiny_executor and reports failures as error objects."""

from __future__ import annotations

import json

from autogen_core.models import SystemMessage, UserMessage

from roles.offline import OfflineToolClient


def _ask(client: OfflineToolClient, payload: str) -> object:
    return json.loads(
        client.decide([SystemMessage(content="s"), UserMessage(content=payload, source="t")], [])
    )


def test_executes_the_request(tiny_executor) -> None:
    client = OfflineToolClient(tiny_executor)
    assert _ask(client, '{"name": "get_book_author", "arguments": {"title": "Dune"}}') == {
        "author": "Frank Herbert"
    }
    assert tiny_executor.calls == [("get_book_author", {"title": "Dune"})]


def test_execution_failure_becomes_an_error_object(tiny_executor) -> None:
    reply = _ask(
        OfflineToolClient(tiny_executor), '{"name": "get_book_author", "arguments": {"title": "Nope"}}'
    )
    assert reply == {"error": "no book titled 'Nope'"}


def test_malformed_request_becomes_an_error_object(tiny_executor) -> None:
    reply = _ask(OfflineToolClient(tiny_executor), "not json")
    assert isinstance(reply, dict) and reply["error"].startswith("malformed call request")
