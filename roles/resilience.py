"""One wrapper around every LLM client of a run: concurrency limit, reply cache, token ledger, budget.

HTTP failures (429 with Retry-After, 5xx, timeouts, dropped connections) are retried by the client with
the openai SDK's own policy (`max_retries`, `timeout`; roles/clients.py); this wrapper does not repeat
that. It only retries the one case the SDK does not: a 200 reply whose body is not a valid completion
(garbage JSON), which the SDK raises at once (docs/decisions.md). And it names a refused connection as
one (`connection_refused`): the SDK's aiohttp transport reports it as a timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
import openai
import pydantic
from autogen_core import CancellationToken
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelCapabilities,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from roles.cache import ResponseCache, request_key
from roles.ledger import Budget, TokenLedger

__all__ = ["MALFORMED_REPLY_ERRORS", "LLMRuntime", "ManagedClient", "connection_refused", "describe_failure"]

log = logging.getLogger(__name__)

# Raised when a 200 body is not a completion; the SDK does not retry these.
MALFORMED_REPLY_ERRORS: tuple[type[Exception], ...] = (
    json.JSONDecodeError,
    openai.APIResponseValidationError,
    pydantic.ValidationError,
    AttributeError,  # autogen reads fields of a body that parsed as JSON but is not a completion
    TypeError,
    IndexError,  # no choices
    UnicodeDecodeError,  # a body of bytes that are not UTF-8
)
_ZERO = RequestUsage(prompt_tokens=0, completion_tokens=0)


def connection_refused(exc: BaseException) -> bool:
    """Whether an error the SDK reports as a timeout is really a connection that failed (refused, no such
    host): aiohttp's `ClientConnectorError` somewhere in its chain of causes.

    The SDK's aiohttp transport maps every aiohttp connection error to a connect timeout, so a wrong port
    would end with "Request timed out." after the retries (which treat both alike); the stock httpx2
    transport says "Connection error.", and so do we."""
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, aiohttp.ClientConnectorError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def describe_failure(exc: BaseException) -> str:
    """One line for what ended an LLM request, an episode or a stage: the endpoint's own cause (refused
    connection at URL, no reply in time, HTTP status and message such as 401 or model not found), not
    the wrapper's name (an ExceptionGroup is read through to its first failure)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    name = type(exc).__name__
    if isinstance(exc, openai.APIStatusError):
        return f"{name}: {exc.request.url} answered HTTP {exc.status_code}: {exc.message}"
    if isinstance(exc, openai.APITimeoutError):
        return f"{name}: no reply from {exc.request.url} in time (a slow server needs a longer --timeout)"
    if isinstance(exc, openai.APIConnectionError):
        cause = _root_cause(exc)
        why = f"{type(cause).__name__}: {cause}" if cause is not exc else str(exc)
        return f"{name}: cannot connect to {exc.request.url} ({why})"
    return f"{name}: {exc}"


@contextmanager
def _connection_errors_named() -> Iterator[None]:
    """Re-raise a refused connection that the SDK reports as a timeout as its `APIConnectionError`."""
    try:
        yield
    except openai.APITimeoutError as exc:
        if connection_refused(exc):
            raise openai.APIConnectionError(request=exc.request) from exc
        raise


@dataclass
class LLMRuntime:
    """What every client of one run (in one process) shares: the in-flight limit, ledger, budget, cache."""

    concurrency: int = 32
    budget: Budget = field(default_factory=Budget)
    cache: ResponseCache | None = None
    malformed_retries: int = 2
    ledger: TokenLedger = field(default_factory=TokenLedger)
    # A limit shared with more than this run's clients (a worker's share of a distributed run's limit,
    # simulator/distributed.py); None: a semaphore of `concurrency` of its own.
    limiter: AbstractAsyncContextManager[Any] | None = None
    _gate: asyncio.Semaphore | None = None

    @property
    def gate(self) -> AbstractAsyncContextManager[Any]:
        """The shared limiter, or a semaphore created on first use inside the event loop that runs the
        requests."""
        if self.limiter is not None:
            return self.limiter
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.concurrency)
        return self._gate

    @property
    def budget_exhausted(self) -> bool:
        return self.budget.exhausted(self.ledger)


class ManagedClient(ChatCompletionClient):
    """Delegates to `inner`; `identity` (model, endpoint, parameters) namespaces the cache key."""

    def __init__(
        self,
        inner: ChatCompletionClient,
        runtime: LLMRuntime,
        *,
        role: str,
        model: str,
        identity: Mapping[str, Any],
        stage: str = "simulate",
    ) -> None:
        self.inner = inner
        self.role, self.model, self.stage = role, model, stage
        self._runtime = runtime
        self._identity = dict(identity)

    async def _send(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        for attempt in range(self._runtime.malformed_retries + 1):
            try:
                async with self._runtime.gate:
                    with _connection_errors_named():
                        return await self.inner.create(messages, **kwargs)
            except MALFORMED_REPLY_ERRORS as exc:
                if attempt == self._runtime.malformed_retries:
                    raise
                log.warning("%s: malformed reply from %s (%s); retrying", self.role, self.model, exc)
        raise AssertionError("unreachable")

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        """Budget check, cache lookup, then the request under the run's concurrency limit."""
        runtime = self._runtime
        runtime.budget.check(runtime.ledger)
        cache, key = runtime.cache, ""
        if cache is not None:
            key = request_key(self._identity, messages, tools, json_output, extra_create_args)
            hit = cache.get(key)
            if hit is not None:
                runtime.ledger.record(self.role, self.stage, self.model, 0, 0, cached=True)
                return hit.model_copy(update={"cached": True, "usage": _ZERO})
        result = await self._send(
            messages,
            tools=tools,
            tool_choice=tool_choice,
            json_output=json_output,
            extra_create_args=extra_create_args,
            cancellation_token=cancellation_token,
        )
        usage = result.usage
        runtime.ledger.record(
            self.role, self.stage, self.model, usage.prompt_tokens, usage.completion_tokens, cached=False
        )
        if cache is not None:
            cache.put(key, result)
        return result

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
        include_usage: bool | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """Streams through the inner client under the same limit and ledger (streams are not cached)."""
        self._runtime.budget.check(self._runtime.ledger)
        async with self._runtime.gate:
            stream = self.inner.create_stream(
                messages,
                tools=tools,
                tool_choice=tool_choice,
                json_output=json_output,
                extra_create_args=extra_create_args,
                cancellation_token=cancellation_token,
            )
            with _connection_errors_named():
                async for item in stream:
                    if isinstance(item, CreateResult):
                        u = item.usage
                        self._runtime.ledger.record(
                            self.role, self.stage, self.model, u.prompt_tokens, u.completion_tokens, False
                        )
                    yield item

    async def close(self) -> None:
        await self.inner.close()

    def actual_usage(self) -> RequestUsage:
        return self.inner.actual_usage()

    def total_usage(self) -> RequestUsage:
        return self.inner.total_usage()

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return self.inner.count_tokens(messages, tools=tools)

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return self.inner.remaining_tokens(messages, tools=tools)

    @property
    def capabilities(self) -> ModelCapabilities:  # type: ignore[override]
        return self.inner.capabilities  # type: ignore[no-any-return]

    @property
    def model_info(self) -> ModelInfo:
        return self.inner.model_info
