"""The spanless tracer: no span, no context change, and a configured provider is left alone."""

from __future__ import annotations

import pytest
from opentelemetry import context, trace

from simulator import tracing
from simulator.tracing import SpanlessTracerProvider, quiet_agent_tracing


def test_spans_are_invalid_and_leave_the_context_alone() -> None:
    tracer = SpanlessTracerProvider().get_tracer("autogen")
    before = context.get_current()
    with tracer.start_as_current_span("publish") as span:
        assert span is trace.INVALID_SPAN
        assert context.get_current() is before
        with tracer.start_as_current_span("deliver") as inner:  # nested and reused
            assert inner is trace.INVALID_SPAN
    assert not tracer.start_span("x").is_recording()


def test_a_configured_provider_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    configured = trace.NoOpTracerProvider()
    installed: list[object] = []
    monkeypatch.setattr(tracing.trace, "get_tracer_provider", lambda: configured)
    monkeypatch.setattr(tracing.trace, "set_tracer_provider", installed.append)
    quiet_agent_tracing()
    assert installed == []


def test_installed_when_nothing_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[object] = []
    monkeypatch.setattr(tracing.trace, "get_tracer_provider", trace.ProxyTracerProvider)
    monkeypatch.setattr(tracing.trace, "set_tracer_provider", installed.append)
    quiet_agent_tracing()
    assert len(installed) == 1 and isinstance(installed[0], SpanlessTracerProvider)
