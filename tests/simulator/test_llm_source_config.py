"""`--source llm` settings: YAML and flags layer into `bottom_up`, the roles it needs are enforced with one
clear message, the settings survive the JSON round trip of `runs.config` (a resume reuses them), and an
episode of a task without ground truth gets only the clients its roles need."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from cli.commands import read_generate as read_command
from composition.world.offline import OfflineWorld
from datamodel.models import Roles
from datamodel.run_config import GenerateConfig, read_run_config
from roles.offline import OfflineUserClient
from roles.scripted import ScriptedChatCompletionClient
from simulator.build import episode_clients

LLM_ROLES = {role: {"model": "openai:m"} for role in ("composer", "judge", "assistant", "tool")}


class Silent(ScriptedChatCompletionClient):
    """Stands in for a managed LLM client: episode_clients only reads `.model`."""

    model = "openai:m"

    def decide(self, messages: Any, tools: Any) -> str:
        return "<final>ok</final>"


def test_file_sets_bottom_up_and_flags_override_single_keys(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "source: llm\nbottom_up: {seeds: my_seeds.jsonl, n_expansions: 3}\nroles:\n"
        + "".join(f"  {role}: {{model: 'openai:m'}}\n" for role in LLM_ROLES)
    )
    config = read_command(
        ["--config", str(path), "--n-expansions", "1", "--dedup-threshold", "0.9"]
    ).run_config()
    assert config.source == "llm"
    assert config.bottom_up.seeds == Path("my_seeds.jsonl")
    assert (config.bottom_up.n_expansions, config.bottom_up.dedup_threshold) == (1, 0.9)


def test_llm_source_names_the_roles_it_lacks() -> None:
    roles = Roles.model_validate({"composer": {"model": "openai:m"}, "assistant": {"model": "openai:m"}})
    config = GenerateConfig(source="llm", roles=roles)
    assert config.missing_llm_roles() == ["judge", "tool"]


def test_user_may_stay_offline_and_world_source_needs_nothing() -> None:
    flags = [arg for role in LLM_ROLES for arg in (f"--{role}-model", "openai:m")]
    assert read_command(["--source", "llm", *flags]).run_config().role("user").spec.is_llm is False
    assert read_command([]).run_config().missing_llm_roles() == []


def test_stored_content_round_trips_through_json() -> None:
    config = GenerateConfig.model_validate(
        {"source": "llm", "roles": LLM_ROLES, "bottom_up": {"n_expansions": 1, "seeds": "my_seeds.jsonl"}}
    )
    stored = config.model_dump(mode="json")
    assert stored["kind"] == "generate" and stored["bottom_up"]["seeds"] == "my_seeds.jsonl"
    assert read_run_config(stored) == config


def test_task_without_reference_gets_no_offline_assistant() -> None:
    world = OfflineWorld(world_seed=0)
    task = world.generate_task(0, 0).model_copy(update={"reference": None})
    config = GenerateConfig(source="llm", roles=LLM_ROLES)  # type: ignore[arg-type]
    llm = cast(Any, {"assistant": Silent(), "tool": Silent()})
    clients = episode_clients(task, world, config, llm)
    assert isinstance(clients.user, OfflineUserClient)
    assert clients.assistant is llm["assistant"] and clients.tool is llm["tool"]
    assert clients.models == {"user": "offline-user", "assistant": "openai:m", "tool": "openai:m"}
