"""The answer check of verification: the expected answer stated as a whole, case- and punctuation-blind."""

from __future__ import annotations

import pytest

from composition.logic import answer_matches

STATED = [
    ("The flight takes 3 hours and costs 412.50 EUR.", "412.50 eur"),
    ("see v.12", "12"),  # a dot that is not a decimal point is punctuation
    ("It is in PARIS, France.", "paris"),
    ("Total: 12", "12"),
    ("12 items", "12"),
    ("Arrives at 14:05.", "14:05"),
    ("Value 12.", "12"),  # a full stop is not a decimal part
    ("le café est fermé", "café"),
    ("snake_case (12) here", "12"),
    ("first 112, then 12", "12"),  # found at its second place
]
NOT_STATED = [
    ("112 items", "12"),  # inside a longer number
    ("it costs 12.5", "12"),  # a decimal part follows
    ("it costs 1.12", "12"),  # the decimal part of another number
    ("the paris_hotel", "paris"),  # a word character after
    ("x12", "12"),
    ("١٢٣ and 12٣", "12"),  # a decimal digit of another script is a word character
    ("anything", "..."),  # nothing left of the answer after normalizing
]


@pytest.mark.parametrize(("final", "answer"), STATED)
def test_an_answer_stated_as_a_whole_matches(final: str, answer: str) -> None:
    assert answer_matches(final, answer)


@pytest.mark.parametrize(("final", "answer"), NOT_STATED)
def test_an_answer_inside_something_longer_does_not_match(final: str, answer: str) -> None:
    assert not answer_matches(final, answer)
