"""Kept so `from training.button_format import button_record` goes on working: the format now lives in
training/formats/button.py, beside the other export formats."""

from __future__ import annotations

from training.formats.button import button_record, parse_button

__all__ = ["button_record", "parse_button"]
