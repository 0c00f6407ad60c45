"""Prompt weights: '(misty:1.3) lake' emphasises "misty" (AUTOMATIC1111's web UI syntax, without nesting).

The pipeline scales the weighted words' token hidden states by their weight; this module only reads the syntax,
so a Request checks it without loading a model.
"""

from __future__ import annotations

import re

from videogen.errors import UsageError

PROMPT_WEIGHT = re.compile(r"\(([^():]+):([^()]*)\)")  # (words:1.3)
MAX_PROMPT_WEIGHT = 4.0


def parse_prompt_weights(prompt: str, setting: str = "prompt") -> tuple[str, list[tuple[int, int, float]]]:
    """'(misty:1.3) lake' -> ('misty lake', [(0, 5, 1.3)]): the plain text and each weighted character span."""
    pieces, spans, position = [], [], 0
    for match in PROMPT_WEIGHT.finditer(prompt):
        pieces.append(prompt[position : match.start()])
        try:
            weight = float(match.group(2))
        except ValueError:
            weight = float("nan")
        if not 0 <= weight <= MAX_PROMPT_WEIGHT:
            raise UsageError(f"{setting}: weight {match.group(2).strip()!r} in {match.group(0)!r} is not a number from 0 to {MAX_PROMPT_WEIGHT:g}; write (words:1.3)")
        start = sum(map(len, pieces))
        pieces.append(match.group(1))
        spans.append((start, start + len(match.group(1)), weight))
        position = match.end()
    pieces.append(prompt[position:])
    return "".join(pieces), spans


def format_prompt_weights(text: str, spans: list[tuple[int, int, float]]) -> str:
    """parse_prompt_weights' inverse: ('misty lake', [(0, 5, 1.3)]) -> '(misty:1.3) lake'."""
    pieces, position = [], 0
    for start, end, weight in sorted(spans):
        pieces += [text[position:start], f"({text[start:end]}:{weight!r})"]
        position = end
    return "".join(pieces) + text[position:]
