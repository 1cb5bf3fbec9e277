"""Model names, the `--config` YAML file, and how CLI flags override it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from cli.commands import read_generate as read_command
from datamodel.models import SMOLLM2_PATH, ModelSpec, RoleModel, parse_model
from roles.clients import ENDPOINT_MODEL_INFO, openai_client

RUN_YAML = """\
n: 7
concurrency: 8
llm: {max_retries: 6, cache_dir: /tmp/somewhere, budget_tokens: 5000, budget_usd: 1.5, price_in: 0.15}
endpoint: {temperature: 0.5}
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
    flags = ["--config", str(_write(tmp_path)), "--seed", "3", "--concurrency", "64", "--workers", "2"]
    config = read_command([*flags, "--temperature", "0.9", "--roles.user.temperature", "0.1"]).run_config()
    assert (config.n, config.seed, config.concurrency, config.workers) == (7, 3, 64, 2)  # LLM runs shard too
    assistant = config.role("assistant")
    assert assistant.format == "native" and assistant.base_url == "http://localhost:8000/v1"
    # --temperature sets the endpoint default, which a role's own setting (file or flag) overrides
    assert assistant.temperature == 0.2 and config.role("user").temperature == 0.1
    assert config.role("composer").temperature == 0.9
    assert config.role("user").api_key_env == "MY_KEY" and config.role("tool").model == "offline"
    assert config.role("composer").model == "openai:gpt-4o-mini"
    llm = config.llm
    assert (llm.max_retries, llm.cache_dir, llm.budget_tokens, llm.budget_usd) == (
        6,
        "/tmp/somewhere",
        5000,
        1.5,
    )
    assert config.model_dump(mode="json")["roles"]["assistant"]["model"] == "openai:qwen2.5-7b"


def test_call_format_alias_and_flag() -> None:
    assert RoleModel(format="button-tags").format == "button"  # type: ignore[arg-type]
    config = read_command(["--assistant-model", "openai:x", "--call-format", "native"]).run_config()
    assert config.role("assistant").format == "native" and config.uses_llm


def test_environment_variables_never_set_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("SEED", "9"), ("seed", "9"), ("n", "3"), ("max_turns", "5"), ("db", "sqlite:///x")):
        monkeypatch.setenv(name, value)
    command = read_command([])
    config = command.run_config()
    assert (config.seed, config.n, config.max_turns, command.db) == (0, 600, 24, "sqlite:///button.db")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("roles: {critic: {model: offline}}", "unknown key 'roles.critic'"),
        ("- a list", "must be a mapping"),
        ("roles: {assistant: {model: gpt4}}", "openai:MODEL"),
        ("llm: {dollars: 3}", "unknown key 'llm.dollars'"),
        ("budget: {usd: 3}", "unknown key 'budget'"),
        ("max_turn: 3", "unknown key 'max_turn'"),
    ],
)
def test_bad_config_files_get_one_clear_line(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = CliRunner().invoke(
        app, ["generate", "--config", str(path), "--db", f"sqlite:///{tmp_path}/x.db"]
    )
    assert result.exit_code == 1 and needle in result.output and "Traceback" not in result.output
