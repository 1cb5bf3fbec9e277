"""The openai SDK client behind every `openai:` role, set up for many requests in flight.

Three departures from the SDK's defaults, all measured with bench/concurrency.py (client CPU per LLM call
in one process at concurrency 32, 100 ms endpoint; docs/decisions.md has the figures):

- **aiohttp transport.** `DefaultAioHttpClient` (the `openai[aiohttp]` extra) is the transport the SDK
  itself recommends for concurrent use; it costs a fifth less CPU per request than the default one.
- **Chat-completion bodies posted as given.** The SDK's `chat.completions.create` first runs the body
  through a transform driven by its TypedDict annotations, walking every message against each member of
  the message union. For chat completions that transform renames no key and formats no value (no field
  of those params carries an alias or a format); all it does is drop unset parameters and turn iterables
  and pydantic models into JSON values, and autogen-ext sends plain dicts and lists.
- **Plain requests skip the SDK's httpx2 layer** (`_ChatPoster`). For every request the SDK builds an
  httpx2 request (URL parsing, header merging), passes it through httpx2 onto the aiohttp transport and
  wraps the reply back into httpx2 objects: about half the client CPU of an LLM call. A non-streaming
  chat completion without per-request options is posted on an aiohttp session directly, with the
  headers the SDK builds (made once per retry count), the body as the SDK serializes it, and the reply
  parsed into the SDK's `ChatCompletion` as the SDK parses it. Anything else than a JSON success (an
  error status, a timeout, a dropped connection, a body that is not JSON) goes through the SDK's own
  retry decision, backoff with Retry-After, logging, exceptions and response handling. Streams and
  requests with extra headers, query, body or timeout take the SDK's whole path.

tests/llm/test_endpoint.py checks that what reaches the server, what comes back and how failures end
are what the stock client sends, returns and raises. A refused connection comes back as the SDK's
`APIConnectionError` on both paths (see `_refused`).
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import httpx2
import pydantic
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
from openai._base_client import get_platform
from openai._compat import model_copy
from openai._constants import DEFAULT_CONNECTION_LIMITS
from openai._models import FinalRequestOptions, add_request_id, construct_type
from openai._utils import asyncify
from openai._utils._json import openapi_dumps
from openai.resources.chat import AsyncChat, AsyncCompletions
from openai.types.chat import ChatCompletion, ChatCompletionChunk

__all__ = ["endpoint_openai_client"]

_CHAT_PATH = "/chat/completions"


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
        no_options = extra_headers is None and extra_query is None and extra_body is None
        if no_options and isinstance(timeout, NotGiven) and not body.get("stream"):
            assert isinstance(self._client, _EndpointOpenAI)  # the only client that makes this class
            return await self._client.poster.post(body)
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
                _CHAT_PATH,
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


def _environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTP(S)_PROXY, NO_PROXY), as the SDK's client honours."""
    parts = urlsplit(url)
    if proxy_bypass(parts.hostname or ""):
        return None
    return getproxies().get(parts.scheme)


def _completion(payload: bytes, request_id: str | None) -> ChatCompletion:
    """What the SDK makes of a JSON body on a client without strict validation: `construct_type`, which
    takes any shape. A body that is a valid ChatCompletion makes the same object through pydantic's
    validation at a twentieth of the cost; only other bodies take the SDK's way (and a body that is not
    JSON raises its JSONDecodeError)."""
    completion: Any
    try:
        completion = ChatCompletion.model_validate_json(payload)
    except pydantic.ValidationError:
        completion = construct_type(type_=ChatCompletion, value=json.loads(payload))
    if isinstance(completion, ChatCompletion):
        add_request_id(completion, request_id)
    return completion  # type: ignore[no-any-return]


class _ChatPoster:
    """Posts non-streaming chat completions of one `_EndpointOpenAI` on its own aiohttp session.

    The session mirrors the SDK's aiohttp transport (connection limits, timeouts, certificates, proxies
    from the environment); the headers are the SDK's for each retry count, built once: the client always
    has a fixed key, so they never change between requests. The retry loop is the SDK's
    (`AsyncAPIClient.request`), step for step, with its own decisions, sleeps and errors."""

    def __init__(self, client: _EndpointOpenAI) -> None:
        self._client = client
        self._options = FinalRequestOptions.construct(
            method="post", url=_CHAT_PATH, security={"bearer_auth": True}
        )
        limits = httpx2.Timeout(client.timeout)
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=limits.connect, sock_read=limits.read, connect=limits.pool
        )
        # Looked up once: aiohttp's own trust_env looks it up on every request, in a thread.
        self._proxy = _environment_proxy(str(client.base_url))
        self._https = client.base_url.scheme == "https"
        self._prepared: dict[int, tuple[str, list[tuple[str, str]]]] = {}
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        """The session, opened on first use inside the event loop that makes the requests."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=DEFAULT_CONNECTION_LIMITS.max_connections or 0,
                keepalive_timeout=DEFAULT_CONNECTION_LIMITS.keepalive_expiry,
                ssl=httpx2.create_ssl_context(trust_env=True) if self._https else True,
            )
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def _prepare(self, retries_taken: int) -> tuple[str, list[tuple[str, str]]]:
        """The URL and headers the SDK would send for this attempt (less Content-Length, which aiohttp
        sets for each body), from a request the SDK builds the first time."""
        prepared = self._prepared.get(retries_taken)
        if prepared is None:
            client = self._client
            if client._platform is None:  # as the SDK's first request does: it may block on I/O
                client._platform = await asyncify(get_platform)()
            options = await client._prepare_options(model_copy(self._options))
            request = client._build_request(options, retries_taken=retries_taken)
            await client._prepare_request(request)
            headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
            prepared = self._prepared[retries_taken] = (str(request.url), headers)
        return prepared

    async def post(self, body: dict[str, Any]) -> ChatCompletion:
        client, content = self._client, openapi_dumps(body)
        max_retries = client.max_retries
        for retries_taken in range(max_retries + 1):
            retry = retries_taken < max_retries
            url, headers = await self._prepare(retries_taken)
            try:
                async with self._open().post(
                    url, data=content, headers=headers, timeout=self._timeout, proxy=self._proxy
                ) as response:
                    payload = await response.read()
            except TimeoutError as exc:  # aiohttp's connect and read timeouts are TimeoutErrors
                if retry:
                    await self._sleep(retries_taken, None)
                    continue
                raise APITimeoutError(request=httpx2.Request("POST", url, headers=headers)) from exc
            except aiohttp.ClientError as exc:  # refused, reset, dropped mid-body
                if retry:
                    await self._sleep(retries_taken, None)
                    continue
                raise APIConnectionError(request=httpx2.Request("POST", url, headers=headers)) from exc
            kind = response.headers.get("content-type", "*").split(";")[0]
            success = 200 <= response.status < 300
            if success and kind.endswith("json"):
                return _completion(payload, response.headers.get("x-request-id"))
            # Anything else, as the SDK's objects: the request and response its errors carry.
            request = httpx2.Request("POST", url, headers=headers)
            status, raw_headers = response.status, response.raw_headers
            raw = httpx2.Response(status, headers=raw_headers, content=payload, request=request)
            if success:  # not JSON: the SDK's own handling (text, or its JSON guess)
                return await client._process_response(  # type: ignore[no-any-return]
                    cast_to=ChatCompletion,
                    options=self._options,
                    response=raw,
                    stream=False,
                    stream_cls=None,
                    retries_taken=retries_taken,
                )
            if retry and client._should_retry(raw):
                await self._sleep(retries_taken, raw)
                continue
            raise client._make_status_error_from_response(raw) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _sleep(self, retries_taken: int, response: httpx2.Response | None) -> None:
        """The SDK's backoff: Retry-After when the server gives one, else exponential with jitter."""
        await self._client._sleep_for_retry(
            retries_taken=retries_taken,
            max_retries=self._client.max_retries,
            options=self._options,
            response=response,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _PlainBodyChat(AsyncChat):
    @cached_property
    def completions(self) -> AsyncCompletions:
        return _PlainBodyCompletions(self._client)


class _EndpointOpenAI(AsyncOpenAI):
    @cached_property
    def chat(self) -> AsyncChat:
        return _PlainBodyChat(self)

    @cached_property
    def poster(self) -> _ChatPoster:
        return _ChatPoster(self)

    async def close(self) -> None:
        if "poster" in self.__dict__:
            await self.poster.close()
        await super().close()

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
