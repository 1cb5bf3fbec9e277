"""Command-line flags and `--config` YAML files, both derived from a config class by pydantic-settings.

A config class (datamodel/run_config.py) declares every setting once, with its default and help. Its
fields become flags (`max_turns` → `--max-turns`, nested `roles.assistant.model` →
`--roles.assistant.model`), with the short forms a command lists in `shortcuts` (`--assistant-model`).
A YAML file has the config's own shape; it is validated against the class first, so a mistyped key is an
error that names it, then the flags given on the command line are laid over it. Environment variables
are not read: a stray `SEED` in the shell must not change a dataset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, CliSettingsSource, SettingsError

__all__ = ["ConfigFileError", "describe_validation_error", "load_config_file", "parse_command"]

M = TypeVar("M", bound=BaseModel)


class ConfigFileError(ValueError):
    """A `--config` file that cannot be used; the message names the file and what is wrong."""


def _flag(location: Sequence[int | str]) -> str:
    return "--" + ".".join(str(part).replace("_", "-") for part in location)


def describe_validation_error(error: ValidationError) -> str:
    """The first problem of a ValidationError as one line naming the flag, e.g. `invalid --n: ...`."""
    first = error.errors()[0]
    where = _flag(first["loc"]) if first["loc"] else "input"
    if first["type"] == "extra_forbidden":
        return f"unknown setting {where}"
    if first["type"] == "missing":
        return f"{where} is required (see --help)"
    if first["type"] == "value_error":  # a rule of ours (across settings): its message says it all
        message = str(first.get("ctx", {}).get("error", first["msg"]))
        return message if not first["loc"] else f"invalid {where}: {message}"
    return f"invalid {where}: {first['msg']} (got {first.get('input')!r})"


def _key(location: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in location)


def load_config_file(path: Path, model: type[BaseModel]) -> dict[str, Any]:
    """A YAML file's settings, checked against `model`: every key must be one of its settings."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"cannot read --config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"--config {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"--config {path} must be a mapping of settings, got {type(data).__name__}")
    try:
        model.model_validate(data)
    except ValidationError as exc:
        for problem in exc.errors():
            if problem["type"] == "extra_forbidden":
                raise ConfigFileError(
                    f"--config {path}: unknown key {_key(problem['loc'])!r} (docs/cli.md lists the settings)"
                ) from None
        first = exc.errors()[0]
        if first["type"] != "missing":  # a required setting may still come from a flag
            raise ConfigFileError(
                f"--config {path}: {_key(first['loc'])}: {first['msg']} (got {first.get('input')!r})"
            ) from None
    return data


def parse_command(
    model: type[M],
    args: Sequence[str],
    *,
    prog: str,
    shortcuts: Mapping[str, str | list[str]] | None = None,
    file_settings: Mapping[str, Any] | None = None,
) -> M:
    """`model` from the command line laid over `file_settings` (a `--config` file's), over the defaults.

    Raises pydantic's ValidationError for a bad value and pydantic-settings' SettingsError for arguments
    argparse refuses; `--help` prints the help and exits.
    """
    # Only the command line is read (CliSettingsSource alone, not CliApp, whose settings class would also
    # read environment variables: a stray `seed` in a shell must not change a dataset). It is typed for
    # BaseSettings and parses any model's fields; the model validates what it parsed.
    source: CliSettingsSource[Any] = CliSettingsSource(
        cast(type[BaseSettings], model),
        cli_parse_args=_normalized(model, args),
        cli_prog_name=prog,
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_avoid_json=True,
        cli_hide_none_type=True,
        cli_exit_on_error=False,
        cli_shortcuts=dict(shortcuts or {}),
    )
    given = source()
    return model.model_validate(_laid_over(dict(file_settings or {}), given))


def _laid_over(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """`top` laid over `base`, nested settings merged key by key (a flag changes one key of a section)."""
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        merged[key] = (
            _laid_over(below, value) if isinstance(below, dict) and isinstance(value, Mapping) else value
        )
    return merged


def _group(model: type[BaseModel], flag: str) -> type[BaseModel]:
    """The settings class of the nested group that `flag` names."""
    return cast(type[BaseModel], model.model_fields[flag.removeprefix("--").replace("-", "_")].annotation)


def _example(model: type[BaseModel], flag: str) -> str:
    """`key=value,...` with the first two settings of the group `flag` names and their defaults."""
    shown = list(_group(model, flag).model_fields.items())[:2]
    return ",".join(f"{name}={f.default}" for name, f in shown)


def _normalized(model: type[BaseModel], args: Sequence[str]) -> list[str]:
    """Two spellings pydantic-settings does not take, as the ones it does:
    - `--n 600` as `-n 600`: it spells a one-letter setting with one dash, while our docs, scripts and
      Makefile have always written `--n`;
    - `--mix clarify=0.1,follow_up=0.2` as `--mix.clarify 0.1 --mix.follow-up 0.2`: a nested setting
      given as key=value pairs, the compact form for a group of numbers."""
    long = {f"--{name}": f"-{name}" for name in model.model_fields if len(name) == 1}
    groups = {
        f"--{name.replace('_', '-')}"
        for name, field in model.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    out: list[str] = []
    items = iter(args)
    for arg in items:
        flag, equals, value = arg.partition("=")
        if flag in long:
            out.append(long[flag] + equals + value)
        elif flag in groups and not equals:
            pairs = next(items, "")
            if pairs.lstrip().startswith("{"):
                out += [arg, pairs]
                continue
            keys = _group(model, flag).model_fields
            for pair in pairs.split(","):
                key, equals, item = (part.strip() for part in pair.partition("="))
                if not (key and equals and item):
                    raise SettingsError(
                        f"{flag} {pairs!r}: give key=value pairs separated by commas, "
                        f"e.g. {flag} {_example(model, flag)}"
                    )
                if key.replace("-", "_") not in keys:
                    raise SettingsError(f"{flag}: unknown key {key!r}; the keys are {', '.join(keys)}")
                out += [f"{flag}.{key.replace('_', '-')}", item]
        else:
            out.append(arg)
    return out
