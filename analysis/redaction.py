"""Removes personal data from a quote before a commissioner sees it.

>>> redact("My name is Asha Khan, call 07700 900123 about flat 4, 12 Acacia Road M4 5JD (ref HR-20931)")
'My name is [name], call [phone] about [address], [address] [postcode] (ref [reference])'
"""

from __future__ import annotations

import re

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w])(\+44\s?\(?0?\)?|0)(\s?\d){9,10}(?!\d)"), "[phone]"),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I), "[postcode]"),
    (
        re.compile(
            r"\b(?i:my name is|i am called|i'?m called|this is|name:)\s+([A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){0,2})"
        ),
        "NAME",
    ),
    (re.compile(r"\b(?:flat|apartment|apt|unit|house|no\.?)\s*\d+[a-z]?\b", re.I), "[address]"),
    (
        re.compile(
            r"\b\d+[a-z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:road|rd|street|st|avenue|ave|lane|close|court|drive|way|"
            r"grove|place|gardens|crescent|terrace|walk|square)\b",
            re.I,
        ),
        "[address]",
    ),
    (re.compile(r"(?<=\bref )[A-Z0-9][A-Z0-9/-]{3,}|\b[A-Z]{2,4}-?\d{4,}\b|\b\d{6,}\b"), "[reference]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        if replacement == "NAME":
            text = pattern.sub(lambda match: match.group(0)[: match.start(1) - match.start(0)] + "[name]", text)
        else:
            text = pattern.sub(replacement, text)
    return text
