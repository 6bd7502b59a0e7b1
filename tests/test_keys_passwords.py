"""Participant keys and password hashes."""

from __future__ import annotations

from storage.keys import participant_key
from storage.passwords import hash_password, verify_password


def test_a_participant_key_is_stable_and_depends_on_the_secret() -> None:
    assert participant_key("a" * 40, 7) == participant_key("a" * 40, 7)
    assert participant_key("a" * 40, 7) != participant_key("a" * 40, 8)
    assert participant_key("a" * 40, 7) != participant_key("b" * 40, 7)
    assert len(participant_key("a" * 40, 7)) == 64


def test_passwords_are_salted_and_checked() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse", first)
    assert not verify_password("wrong horse", first)
    assert not verify_password("correct horse", "not a hash")
