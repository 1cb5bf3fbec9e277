"""Model names, the `--config` YAML file, and how CLI flags override it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from cli.run_config import resolve_config
from datamodel.models import SMOLLM2_PATH, ModelSpec, RoleModel, parse_model
from roles.clients import ENDPOINT_MODEL_INFO, openai_client

RUN_YAML = """\
n: 7
concurrency: 8
max_retries: 6
cache_dir: /tmp/somewhere
budget: {tokens: 5000, usd: 1.5, price_in: 0.15, price_out: 0.6}
roles:
  assistant:
    {model: "openai:qwen2.5-7b", base_url: "http://localhost:8000/v1", format: native, temperature: 0.2}
  user: {model: "openai:gpt-4o-mini", api_key_env: MY_KEY}
  composer: {model: "openai:gpt-4o-mini"}
  judge: {model: offline}
"""


@pytest.mark.parametrize(
    ("uri", "spec"),
    [
        ("offline", ModelSpec("offline", "offline")),
        ("openai:gpt-4o-mini", ModelSpec("openai", "gpt-4o-mini")),
        ("openai:meta/llama:8b", ModelSpec("openai", "meta/llama:8b")),
        ("hf:/models/qwen", ModelSpec("hf", "/models/qwen")),
        ("smollm2", ModelSpec("hf", str(SMOLLM2_PATH))),
    ],
)
def test_model_names(uri: str, spec: ModelSpec) -> None:
    assert parse_model(uri) == spec


@pytest.mark.parametrize("uri", ["gpt-4o", "openai:", "claude:x", ""])
def test_bad_model_names_say_what_is_allowed(uri: str) -> None:
    with pytest.raises(ValueError, match="openai:MODEL"):
        parse_model(uri)


def test_model_info_is_autogens_for_names_it_knows_and_an_endpoints_for_the_rest() -> None:
    def info(model: str) -> object:
        settings = RoleModel(model=model, base_url="http://127.0.0.1:9/v1")
        made = openai_client("assistant", settings, native_tools=False, parallel=True, max_retries=0)
        return made.model_info

    known = info("openai:gpt-4o-mini")
    assert isinstance(known, dict) and known["family"] == "gpt-4o" and known["structured_output"] is True
    assert info("openai:qwen2.5-7b") == ENDPOINT_MODEL_INFO
    assert ENDPOINT_MODEL_INFO["function_calling"] and ENDPOINT_MODEL_INFO["json_output"]
    assert ENDPOINT_MODEL_INFO["family"] == "unknown" and ENDPOINT_MODEL_INFO["structured_output"] is False


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(RUN_YAML)
    return path


def test_file_sets_everything_and_flags_override(tmp_path: Path) -> None:
    given = {"concurrency": 64, "temperature": 0.9, "workers": 2}
    config = resolve_config(_write(tmp_path), given, {"n": 600, "seed": 3})
    assert (config.n, config.seed, config.concurrency, config.workers) == (7, 3, 64, 2)  # LLM runs shard too
    assistant = config.role("assistant")
    assert assistant.format == "native" and assistant.base_url == "http://localhost:8000/v1"
    assert assistant.temperature == 0.9 and config.role("user").temperature == 0.9
    assert config.role("user").api_key_env == "MY_KEY" and config.role("tool").model == "offline"
    assert config.role("composer").model == "openai:gpt-4o-mini"  # accepted now, used by later stages
    llm = config.llm
    assert (llm.max_retries, llm.cache_dir, llm.budget_tokens, llm.budget_usd) == (
        6,
        "/tmp/somewhere",
        5000,
        1.5,
    )
    assert "llm" not in config.content() and "concurrency" not in config.content()
    assert config.content()["roles"]["assistant"]["model"] == "openai:qwen2.5-7b"


def test_call_format_alias_and_flag() -> None:
    assert RoleModel(format="button-tags").format == "button"  # type: ignore[arg-type]
    config = resolve_config(None, {"assistant_model": "openai:x", "call_format": "native"}, {})
    assert config.role("assistant").format == "native" and config.uses_llm


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("roles: {critic: {model: offline}}", "unknown role"),
        ("- a list", "must be a mapping"),
        ("roles: {assistant: {model: gpt4}}", "openai:MODEL"),
        ("budget: {dollars: 3}", "unknown budget key"),
    ],
)
def test_bad_config_files_get_one_clear_line(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = CliRunner().invoke(
        app, ["generate", "--config", str(path), "--db", f"sqlite:///{tmp_path}/x.db"]
    )
    assert result.exit_code == 1 and needle in result.output and "Traceback" not in result.output
