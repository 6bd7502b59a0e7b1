"""/mydata read in the chat: the export as a resident reads it, in their language, before the file."""

from __future__ import annotations

from typing import Any

from bot.telegram.my_data import readable
from bot.telegram.render import split
from storage.database import Database
from storage.privacy import export
from tests.conftest import SECRET
from tests.test_privacy import COMMENT, NAME, NOW, populate


async def exported(db: Database) -> dict[str, Any]:
    made = await populate(db)
    return await db.write(lambda s: export(s, made["contact"], secret_key=SECRET, now=NOW, actor="test"))


async def test_each_answer_reads_as_it_was_asked_and_shown(db: Database) -> None:
    text = readable(await exported(db), "en")
    assert text.startswith("<b>What we hold about you</b>\nYour Telegram chat, in English, since 28 November 2026.")
    assert "\u2022 Sat \u2014 Very satisfied\n  <i>Your comment: " + COMMENT + "</i>" in text
    assert f"\u2022 Why \u2014 I am {NAME}, call me on 07700 900123" in text
    assert text.endswith(
        "Answers to anonymous surveys are stored with no link to you, so they cannot be shown here.\n"
        "The file below has all of it, with the notices you agreed to and the messages we sent you."
    )


async def test_skips_unanswered_comments_and_a_stop_read_plainly_and_escaped(db: Database) -> None:
    data = await exported(db)
    data["contact"]["opted_out_at"] = NOW.isoformat()
    response = data["responses"][0]
    response |= {"status": "answering", "completed_at": None, "title": "Repairs <pulse>"}
    data["responses"][1] |= {"status": "answering", "completed_at": None, "answers": []}
    response["answers"] += [
        {"question_id": "lift", "question": "Lift & stairs?", "answer": None, "value": None},
        {"question_id": "bins", "question": "Bins?", "answer": None, "value": None, "comment": "<b>never</b> emptied"},
        {
            "question_id": "damp",
            "question": "Damp?",
            "answer": None,
            "value": None,
            "comment": "mould",
            "unanswered": True,
        },
    ]
    text = readable(data, "en")
    assert "\nYou asked for no more messages on 28 November 2026.\n" in text
    assert "<b>Repairs &lt;pulse&gt;, started on 28 November 2026 and not finished:</b>" in text
    assert "\u2022 Lift &amp; stairs? \u2014 Skipped\n" in text
    assert "\u2022 Bins? \u2014 Skipped\n  <i>Your comment: &lt;b&gt;never&lt;/b&gt; emptied</i>" in text
    assert "\u2022 Damp?\n  <i>Your comment: mould</i>" in text, "not answered yet: no answer to show"
    assert "<b>Kept, started on 28 November 2026 and not finished:</b>\nNo answers yet.\n" in text


async def test_in_polish_with_polish_dates(db: Database) -> None:
    text = readable(await exported(db), "pl")
    assert text.startswith(
        "<b>Co o Tobie przechowujemy</b>\nTwój czat w Telegramie, język: English, od 28 listopada 2026."
    )
    assert "<b>Residents – ukończono 28 listopada 2026:</b>" in text


async def test_a_long_comment_is_shortened_in_the_message_and_kept_whole_in_the_file(db: Database) -> None:
    data = await exported(db)
    data["responses"][0]["answers"][0]["comment"] = "the lift again " * 600
    parts = split(readable(data, "en"))
    [comment] = [line for line in parts[0].splitlines() if "the lift again" in line]
    assert comment.endswith("\u2026</i>") and len(comment) < 1100, "shortened, with a sign that it was"
    assert len(parts) == 1
    assert data["responses"][0]["answers"][0]["comment"] == "the lift again " * 600


async def test_where_they_live_the_service_they_use_and_whom_they_work_for_come_after_the_chat(db: Database) -> None:
    data = await exported(db)
    assert "Your area" not in readable(data, "en"), "nothing recorded, nothing said"
    data["contact"] |= {"area": "Ancoats & Beswick", "service": "Repairs desk"}
    assert readable(data, "en").startswith(
        "<b>What we hold about you</b>\nYour Telegram chat, in English, since 28 November 2026.\n"
        "Your area, from the link you opened: Ancoats &amp; Beswick.\n"
        "The service whose link you opened: Repairs desk.\n\n"
    )
    data["contact"] |= {"role": "staff", "organisation": "Gorton Mutual", "area": None, "service": None}
    assert "28 November 2026.\nYou joined as staff of Gorton Mutual.\n\n" in readable(data, "en")
    assert "Dołączono jako pracownik organizacji Gorton Mutual." in readable(data, "pl")
