"""Versioned prompt templates of the bottom-up stages, loaded by name and version.

Prompts are files (`<name>.v<version>.txt`) rather than string constants so that a changed wording is a
new file, never an edit: every stored stage item names the prompt and version that made it, and an old
run stays explainable after the wording moves on. Placeholders are `{{name}}`, so JSON examples inside a
template need no escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["PROMPT_DIR", "PromptError", "PromptTemplate", "available_versions", "load_prompt"]

PROMPT_DIR = Path(__file__).parent
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


class PromptError(ValueError):
    """A prompt file is missing, or a render left a placeholder unfilled or got an unknown one."""


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt file: its name, version and text with `{{placeholders}}`."""

    name: str
    version: int
    text: str

    @property
    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.text))

    def render(self, **values: str) -> str:
        """The prompt with every placeholder filled; the names must match exactly (typos fail loudly)."""
        missing = self.placeholders - values.keys()
        extra = values.keys() - self.placeholders
        if missing or extra:
            raise PromptError(
                f"prompt {self.name}.v{self.version}: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)


def available_versions(name: str) -> list[int]:
    """Versions of a prompt that exist on disk, ascending."""
    pattern = re.compile(rf"^{re.escape(name)}\.v(\d+)\.txt$")
    found = (pattern.match(p.name) for p in PROMPT_DIR.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


@cache
def load_prompt(name: str, version: int) -> PromptTemplate:
    """The template `<name>.v<version>.txt`; PromptError names the versions that do exist."""
    path = PROMPT_DIR / f"{name}.v{version}.txt"
    if not path.is_file():
        versions = available_versions(name)
        have = ", ".join(f"v{v}" for v in versions) or "none"
        raise PromptError(f"no prompt {name!r} version {version} (available: {have})")
    return PromptTemplate(name=name, version=version, text=path.read_text(encoding="utf-8"))
