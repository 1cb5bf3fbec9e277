"""Seed conversations as the bottom-up phase reads them (composition/seeds.py parses the files)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["Role", "SeedConversation", "SeedTurn"]

Role = Literal["system", "user", "assistant", "function"]


class SeedTurn(BaseModel):
    """One turn of a seed conversation, as plain text."""

    role: Role = Field(description="system, user, assistant or function (a tool's response).")
    text: str = Field(description="What was said, with format markers such as <|endoftext|> removed.")


class SeedConversation(BaseModel):
    """A seed dialogue from a public function-calling dataset, reduced to what scenario extraction needs."""

    source: Literal["glaive", "toolbench"] = Field(description="Dataset style the record was read as.")
    origin: str = Field(description="Where the record came from: 'file:line'.")
    turns: list[SeedTurn] = Field(min_length=1, description="The dialogue, in order.")
    functions: list[dict[str, Any]] = Field(
        default_factory=list, description="Function definitions the dialogue offered, as given."
    )

    def transcript(self, max_chars: int = 4000) -> str:
        """The turns as 'role: text' lines, cut to `max_chars` so a long seed cannot blow the prompt."""
        text = "\n".join(f"{t.role}: {t.text}" for t in self.turns if t.role != "system")
        return text if len(text) <= max_chars else text[:max_chars] + " ..."
