"""The LLM-driven bottom-up stages, one small module each.

Every stage is a prompt (composition/prompts) plus a pure parser from the model's reply to a typed value
(or a `ReplyError` saying what is wrong, fed back to the model on the next attempt). `runner.py` asks,
retries, persists one item per transaction and skips items already stored; `composition/pipeline.py`
chains the stages.
"""
