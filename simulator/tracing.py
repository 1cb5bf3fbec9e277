"""A spanless OpenTelemetry tracer for AgentChat's runtime, installed when nothing else is configured.

autogen-core opens a span around every message its runtime moves (publish, deliver, send) and the
group chat moves a dozen of them per turn. With no OpenTelemetry SDK configured the spans are no-ops,
but each still goes through the API's proxy tracer, `use_span` and a context attach/detach: about a
tenth of the client CPU per LLM call (docs/decisions.md). `AUTOGEN_DISABLE_RUNTIME_TRACING=true` does
not help: it swaps in the API's `NoOpTracer`, which does that same work. The switch the library offers
is the tracer provider its runtime reads (SelectorGroupChat builds its runtime itself, so the global
one), and the provider here hands out a tracer whose spans cost nothing at all.

A process that wants AgentChat's spans configures its own provider before the first episode (or sets
OTEL_PYTHON_TRACER_PROVIDER); it is then left alone.
"""

from __future__ import annotations

import contextlib
from typing import Any

from opentelemetry import trace

__all__ = ["SpanlessTracerProvider", "quiet_agent_tracing"]

# Reusable: nullcontext keeps no state between uses.
_NO_SPAN = contextlib.nullcontext(trace.INVALID_SPAN)


class _SpanlessTracer(trace.NoOpTracer):
    """NoOpTracer without the context attach: nothing reads a span that is never recorded."""

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return _NO_SPAN


class SpanlessTracerProvider(trace.NoOpTracerProvider):
    """Every tracer it hands out opens no span and touches no context."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _TRACER


_TRACER = _SpanlessTracer()


def quiet_agent_tracing() -> None:
    """Install the spanless provider unless the process has configured OpenTelemetry itself."""
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(SpanlessTracerProvider())
