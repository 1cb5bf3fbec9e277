"""`button generate` settings from three layers: defaults, a `--config` YAML file, then CLI flags.

A flag overrides the file only when it was given on the command line (click reports where each value
came from), so a file's `concurrency: 8` is not undone by the flag's default. Role-level flags
(`--base-url`, `--temperature`, ...) apply to every role played by an LLM; `--call-format` to the assistant.
Bottom-up flags (`--seeds`, `--n-expansions`, `--dedup-threshold`) land in `bottom_up`, which a file sets
as a mapping of the same name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datamodel.models import load_yaml_config
from datamodel.run_config import GenerateConfig

__all__ = ["from_command_line", "resolve_config"]

_LLM_FILE_KEYS = ("max_retries", "cache", "cache_dir")
_BUDGET_KEYS = {
    "tokens": "budget_tokens",
    "usd": "budget_usd",
    "price_in": "price_in",
    "price_out": "price_out",
}
_ROLE_FLAGS = {
    "user_model": "user",
    "assistant_model": "assistant",
    "tool_model": "tool",
    "composer_model": "composer",
    "judge_model": "judge",
}
_BOTTOM_UP_FLAGS = ("seeds", "n_expansions", "dedup_threshold")
_ROLE_SETTINGS = ("base_url", "api_key_env", "temperature", "max_tokens", "timeout")
_LLM_FLAGS = ("max_retries", "cache_dir", "budget_tokens", "budget_usd", "price_in", "price_out")


def from_command_line(source: object) -> bool:
    """Whether click's ParameterSource says the user gave the value. Compared by name: typer ships
    its own copy of click, whose enum is not click's."""
    return source is not None and getattr(source, "name", "") not in ("DEFAULT", "DEFAULT_MAP")


def _from_file(path: Path) -> dict[str, Any]:
    """The YAML file in GenerateConfig's shape (its `budget:` and LLM keys folded into `llm`)."""
    data = dict(load_yaml_config(path))
    llm: dict[str, Any] = {key: data.pop(key) for key in _LLM_FILE_KEYS if key in data}
    budget = data.pop("budget", None) or {}
    if not isinstance(budget, dict):
        raise ValueError(f"--config {path}: 'budget' must be a mapping (tokens, usd, price_in, price_out)")
    for key, value in budget.items():
        if key not in _BUDGET_KEYS:
            raise ValueError(
                f"--config {path}: unknown budget key {key!r}; allowed: {', '.join(_BUDGET_KEYS)}"
            )
        llm[_BUDGET_KEYS[key]] = value
    roles = data.pop("roles", None) or {}
    data["roles"] = {name: dict(v or {}) for name, v in roles.items()}
    data["llm"] = llm
    return data


def _apply_flags(data: dict[str, Any], given: dict[str, Any]) -> None:
    roles: dict[str, dict[str, Any]] = data.setdefault("roles", {})
    llm: dict[str, Any] = data.setdefault("llm", {})
    for flag, role in _ROLE_FLAGS.items():
        if flag in given:
            roles.setdefault(role, {})["model"] = given[flag]
    for name in _ROLE_SETTINGS:
        if name in given:
            for settings in roles.values():
                if settings.get("model", "offline") != "offline":
                    settings[name] = given[name]
    if "call_format" in given:
        roles.setdefault("assistant", {})["format"] = given["call_format"]
    for name in _LLM_FLAGS:
        if name in given:
            llm[name] = given[name]
    if "cache" in given:
        llm["cache"] = given["cache"]
    flags = {name: given[name] for name in _BOTTOM_UP_FLAGS if name in given}
    if flags:
        from_file = data.get("bottom_up") or {}
        data["bottom_up"] = {**from_file, **flags} if isinstance(from_file, dict) else from_file
    plain = set(GenerateConfig.model_fields) - {"roles", "llm", "bottom_up"}
    data.update({k: v for k, v in given.items() if k in plain})


def resolve_config(
    config_file: Path | None, given: dict[str, Any], defaults: dict[str, Any]
) -> GenerateConfig:
    """Defaults, overlaid by the file, overlaid by the flags given on the command line."""
    data: dict[str, Any] = {k: v for k, v in defaults.items() if k in GenerateConfig.model_fields}
    if config_file is not None:
        data.update(_from_file(config_file))
    _apply_flags(data, given)
    config = GenerateConfig.model_validate(data)
    missing = config.missing_llm_roles()
    if missing:
        flags = ", ".join(f"--{role}-model" for role in missing)
        raise ValueError(
            f"--source llm needs an LLM for the {', '.join(missing)} role(s): give {flags} openai:MODEL "
            "(only the user may stay offline: the offline assistant needs a ground-truth reference and "
            "the offline tool runs only world functions)"
        )
    return config
