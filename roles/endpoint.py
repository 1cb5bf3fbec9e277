"""The openai SDK client behind every `openai:` role, set up for many requests in flight.

Two departures from the SDK's defaults, both measured with bench/concurrency.py (client CPU per LLM call
in one process at concurrency 32, 100 ms endpoint: 5.1 ms with the defaults, 3.0 ms with both):

- **aiohttp transport.** `DefaultAioHttpClient` (the `openai[aiohttp]` extra) is the transport the SDK
  itself recommends for concurrent use; it costs a fifth less CPU per request than the default one.
- **Chat-completion bodies posted as given.** The SDK's `chat.completions.create` first runs the body
  through a transform driven by its TypedDict annotations, walking every message against each member of
  the message union: a quarter of what remained. For chat completions that transform renames no key and
  formats no value (no field of those params carries an alias or a format); all it does is drop unset
  parameters and turn iterables and pydantic models into JSON values, and autogen-ext sends plain dicts
  and lists. So `_PlainBodyCompletions.create` drops the unset parameters and posts the body through the
  SDK's own `post`: the same auth, retries, timeouts, response parsing and streaming.
  tests/llm/test_endpoint.py checks that what reaches the server is what the SDK's own path sends.

A refused connection comes back as the SDK's `APIConnectionError`, as with its default transport (see
`_refused`).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import aiohttp
from openai import (
    APIConnectionError,
    APITimeoutError,
    AsyncOpenAI,
    AsyncStream,
    DefaultAioHttpClient,
    NotGiven,
    Omit,
    RequestOptions,
    Timeout,
    not_given,
)
from openai.resources.chat import AsyncChat, AsyncCompletions
from openai.types.chat import ChatCompletion, ChatCompletionChunk

__all__ = ["endpoint_openai_client"]


class _PlainBodyCompletions(AsyncCompletions):
    """`chat.completions` whose `create` posts the body without the SDK's type-driven transform."""

    async def create(  # type: ignore[override]
        self,
        *,
        extra_headers: dict[str, str] | None = None,
        extra_query: dict[str, object] | None = None,
        extra_body: dict[str, object] | None = None,
        timeout: float | Timeout | None | NotGiven = not_given,
        **params: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        body = {key: value for key, value in params.items() if not isinstance(value, (NotGiven, Omit))}
        options: RequestOptions = {"security": {"bearer_auth": True}}  # what create() asks for
        if extra_headers is not None:
            options["headers"] = extra_headers
        if extra_query is not None:
            options["params"] = extra_query
        if extra_body is not None:
            options["extra_json"] = extra_body
        if not isinstance(timeout, NotGiven):
            options["timeout"] = timeout
        try:
            return await self._client.post(
                "/chat/completions",
                body=body,
                options=options,
                cast_to=ChatCompletion,
                stream=bool(body.get("stream")),
                stream_cls=AsyncStream[ChatCompletionChunk],
            )
        except APITimeoutError as exc:
            if _refused(exc):
                raise APIConnectionError(request=exc.request) from exc
            raise


def _refused(exc: BaseException) -> bool:
    """Whether a timeout the SDK reports is really a failed connection (refused, unknown host).

    The SDK's aiohttp transport maps every aiohttp connection error to a connect *timeout* (its map takes
    the broad `ClientConnectionError` entry over the specific `ClientConnectorError` one; noted in the
    review of openai-python#3594). Both are retried alike; only the final error would mislead, saying
    "Request timed out." for a wrong port."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(cause, TimeoutError):
            return True
        cause = cause.__cause__
    return False


class _PlainBodyChat(AsyncChat):
    @cached_property
    def completions(self) -> AsyncCompletions:
        return _PlainBodyCompletions(self._client)


class _EndpointOpenAI(AsyncOpenAI):
    @cached_property
    def chat(self) -> AsyncChat:
        return _PlainBodyChat(self)

    @property
    def user_agent(self) -> str:  # the SDK names the class: say what the stock client says
        return super().user_agent.replace(type(self).__name__, AsyncOpenAI.__name__, 1)


def endpoint_openai_client(
    *, api_key: str, base_url: str | None, timeout: float, max_retries: int
) -> AsyncOpenAI:
    """An AsyncOpenAI on the aiohttp transport whose chat completions skip the body transform.

    The aiohttp session opens on the first request, inside the event loop that makes it, and closes
    with the client (`await client.close()`)."""
    return _EndpointOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        http_client=DefaultAioHttpClient(timeout=timeout),
    )
