"""Quotes shown to commissioners lose the personal data residents put in them."""

from __future__ import annotations

import pytest

from analysis.redaction import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My name is Asha Khan and the lift is broken", "My name is [name] and the lift is broken"),
        ("Hi, this is Tom. Bins not collected", "Hi, this is [name]. Bins not collected"),
        ("email me: sam.o'neill@example.org", "email me: [email]"),
        ("Call me on 07700 900123 please", "Call me on [phone] please"),
        ("ring +44 161 496 0000", "ring [phone]"),
        ("I live at M4 5JD", "I live at [postcode]"),
        ("flat 12 has no heating", "[address] has no heating"),
        ("outside 14 Acacia Avenue every night", "outside [address] every night"),
        ("my case ref HR-20931 was closed", "my case ref [reference] was closed"),
        ("complaint number 20394857", "complaint number [reference]"),
        ("The damp is getting worse", "The damp is getting worse"),
        ("We waited 3 weeks", "We waited 3 weeks"),
    ],
)
def test_personal_data_is_replaced_and_the_rest_kept(text: str, expected: str) -> None:
    assert redact(text) == expected
