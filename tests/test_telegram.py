"""Residents and staff answering in Telegram, end to end through python-telegram-bot's real HTTP stack."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.i18n import translate
from bot.messages import ATTACHMENT_NOT_KEPT, WELCOME
from bot.runtime import Runtime
from bot.telegram import conversation
from bot.telegram.conversation import Handled
from bot.telegram.updates import Inbound
from storage.catalogue import import_survey
from storage.models import AnonymousDraft, Answer, Area, Consent, Contact, Organisation, Outbox, Response, Service, Wave
from storage.organisations import add_place, name_organisation
from storage.staff import create_codes
from surveys.loader import survey_from_yaml
from surveys.templates import TEMPLATES
from tests.conftest import NOW, on_disk, survey_of
from tests.fake_telegram import OTHER_POLLER, FakeTelegram
from tests.telegram_harness import Running, running_chorus
from tests.test_privacy import dump

CHAT = 1001
OTHER = 1002


async def responses(run: Running) -> list[Response]:
    async with run.db.read() as session:
        return list(await session.scalars(select(Response)))


async def answers(run: Running, response_id: str) -> dict[str, object]:
    async with run.db.read() as session:
        rows = await session.execute(select(Answer.question_id, Answer.value).where(Answer.response_id == response_id))
        return {question: value for question, value in rows}


async def agree_to_coproduction(run: Running, chat: int) -> None:
    """A resident who opened coproduction-ideas from its link and agreed to take part: at its first question."""
    await run.say(chat, "/start coproduction-ideas", replies=3)
    await run.press(chat, "I agree")


async def test_a_resident_completes_the_tsm_survey_with_buttons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        sent = await run.say(CHAT, "/start tsm", replies=3)
        assert "takes about 5 minutes" in sent[-2]["text"]
        assert "Are you happy to take part?" in sent[-1]["text"]
        consent_message, consent_button = run.keyboard_message(CHAT), run.keyboard(CHAT)[0]["callback_data"]
        await run.press(CHAT, "I agree")
        await run.press(CHAT, "Very satisfied")
        await run.press(CHAT, "Yes")  # had a repair
        await run.press(CHAT, "Fairly satisfied")  # TP02
        await run.press(CHAT, "Very satisfied")  # TP03
        for _ in range(4):  # TP04-TP07
            await run.press(CHAT, "Fairly satisfied")
        await run.press(CHAT, "Agree")  # TP08
        await run.press(CHAT, "No")  # no complaint: TP09 skipped
        await run.press(CHAT, "No")  # no communal areas: TP10 skipped
        await run.press(CHAT, "Don't know")  # TP11
        await run.press(CHAT, "Very dissatisfied")  # TP12
        await run.say(CHAT, "Repairs are quick but nobody tells us anything.")
        assert "Thank you. Your answers help your landlord" in run.last_text(CHAT)
        before = len(run.fake.to(CHAT))
        answer = await run.answer_to_press(CHAT, consent_message, consent_button)  # the first question's, after the end
        assert answer["text"] == "This survey is finished. Thank you for taking part."
        assert len(run.fake.to(CHAT)) == before, "and nothing else is sent"
        [response] = await responses(run)
        assert response.status == "completed" and response.participant_key is not None
        stored = await answers(run, response.id)
        assert stored["tp01_overall"] == "very_satisfied"
        assert stored["tp11_neighbourhood"] == "dont_know"
        assert "tp09_complaints" not in stored and stored["made_complaint"] == "no"
        assert stored["why_overall"] == "Repairs are quick but nobody tells us anything."
        async with run.db.read() as session:
            consent = (await session.scalars(select(Consent))).one()
        assert consent.decision == "agree" and consent.notice.startswith("Your landlord runs this survey")
        edited = [s for s in run.fake.sent if s["method"] == "editMessageText"]
        assert edited and edited[0]["text"].endswith("\u2713 I agree") and edited[0]["reply_markup"] is None


async def test_a_resident_completes_the_coproduction_survey_by_typing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start coproduction-ideas", replies=3)
        await run.say(CHAT, "yes")
        sent = await run.say(CHAT, "1, 3")  # two issues: the priority question follows
        assert "only work on one of those first" in sent[-1]["text"]
        await run.say(CHAT, "parks")
        sent = await run.say(CHAT, "benches " * 300)  # 2,400 characters where at most 2,000 are taken
        assert sent[-1]["text"] == "That is 2399 characters; please keep it under 2000."
        await run.say(CHAT, "More benches by the canal")
        await run.say(CHAT, "no")
        assert "within six weeks" in run.last_text(CHAT)
        [response] = await responses(run)
        assert await answers(run, response.id) == {
            "consent": "agree",
            "matters_most": ["housing_repairs", "green_spaces"],
            "priority": "green_spaces",
            "idea": "More benches by the canal",
            "get_involved": "no",
        }


async def test_a_tick_beyond_the_most_allowed_is_answered_on_the_button_and_the_hint_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await agree_to_coproduction(run, CHAT)
        question, before = run.keyboard_message(CHAT), len(run.fake.to(CHAT))
        for choice in range(3):
            answer = await run.answer_to_press(CHAT, question, run.keyboard(CHAT)[choice]["callback_data"])
            assert "text" not in answer
        shown = run.fake.messages[(CHAT, question)]
        assert shown["text"].endswith("?\nChoose up to three."), "ticking keeps the hint"
        fourth = run.keyboard(CHAT)[3]["callback_data"]
        answer = await run.answer_to_press(CHAT, question, fourth)
        assert answer["text"] == "Please choose no more than 3."
        await asyncio.sleep(0.2)
        assert len(run.fake.to(CHAT)) == before, "said on the button, not in a message below the question"
        ticked = [b["text"] for b in run.keyboard(CHAT) if b["text"].startswith("\u2705")]
        assert len(ticked) == 3 and "Clean streets" not in str(ticked)
        await run.answer_to_press(CHAT, question, run.keyboard(CHAT)[0]["callback_data"])
        await run.answer_to_press(CHAT, question, fourth)
        sent = await run.press(CHAT, "Done")
        assert "if we could only work on one" in sent[-1]["text"]
        [response] = await responses(run)
        assert await answers(run, response.id) == {
            "consent": "agree",
            "matters_most": ["safety", "green_spaces", "clean_streets"],
        }


async def test_toggles_back_skip_and_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await agree_to_coproduction(run, CHAT)
        before = len(run.fake.to(CHAT))
        await run.fake.press(CHAT, run.keyboard_message(CHAT), run.keyboard(CHAT)[2]["callback_data"])
        await run.fake.press(CHAT, run.keyboard_message(CHAT), run.keyboard(CHAT)[5]["callback_data"])
        for _ in range(100):
            labels = [b["text"] for b in run.keyboard(CHAT)]
            if labels[2].startswith("\u2705") and labels[5].startswith("\u2705"):
                break
            await asyncio.sleep(0.02)
        assert labels[2] == "\u2705 Parks and green spaces" and labels[5] == "\u2705 Cost of living"
        assert len(run.fake.to(CHAT)) == before, "toggling edits the message rather than sending new ones"
        await run.press(CHAT, "Done")
        sent = await run.say(CHAT, "/back")
        assert "Which of these matter most" in sent[-1]["text"]
        ticked = [b["text"] for b in run.keyboard(CHAT) if b["text"].startswith("\u2705")]
        assert ticked == ["\u2705 Parks and green spaces", "\u2705 Cost of living"], "gone back to, the picks stand"
        sent = await run.say(CHAT, "/back")
        assert sent[-1]["text"].endswith("<b>Are you happy to take part?</b>\n<i>Your answer before: I agree</i>")
        await run.press(CHAT, "I agree")
        await run.say(CHAT, "green")
        await run.say(CHAT, "/skip")  # the idea is optional
        sent = await run.say(CHAT, "/language pl", replies=2)
        assert sent[-2]["text"] == "Zmieniono język na Polski.\nTa ankieta jest dostępna w językach: English.", (
            "told, in Polish, why the survey stays in English"
        )
        assert "Would you like to help" in sent[-1]["text"], "an English-only survey stays in English"
        sent = await run.say(CHAT, "/skip")
        assert sent[-1]["text"] == "To pytanie wymaga odpowiedzi, zanim przejdziemy dalej."


BILINGUAL = survey_of(
    "id: bilingual\ntitle: Bilingual\nlanguages: [en, pl]\nquestions:\n"
    "  - {id: tenant, type: yes_no, label: {en: 'Are you a tenant?', pl: 'Czy jest Pan/Pani najemcą?'}}\n"
)


async def test_a_language_pressed_in_the_picker_shows_there_and_its_buttons_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await agree_to_coproduction(run, CHAT)
        await run.say(CHAT, "/language")
        picker = run.keyboard_message(CHAT)
        sent = await run.press(CHAT, "Polski", replies=2)
        assert sent[-2]["text"].startswith("Zmieniono język na Polski.")
        assert "Which of these matter most" in sent[-1]["text"], "and the question again, the survey in English"
        assert await run.buttons_gone(CHAT, picker)
        assert run.fake.messages[(CHAT, picker)]["text"].endswith("\n\u2713 Polski")


async def test_a_survey_written_in_the_chosen_language_changes_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.db.write(lambda session: import_survey(session, BILINGUAL, NOW))
        await run.say(CHAT, "/start bilingual", replies=2)
        sent = await run.say(CHAT, "/language pl", replies=2)
        assert sent[-2]["text"] == "Zmieniono język na Polski.", "nothing said of other languages"
        assert "Czy jest Pan/Pani najemcą?" in sent[-1]["text"]
        assert [b["text"] for b in run.keyboard(CHAT)][:2] == ["Tak", "Nie"]


async def test_a_question_gone_back_to_keeps_the_answer_before_in_the_language_chosen_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    homes = survey_of(
        "id: homes2\ntitle: Homes\nlanguages: [en, pl]\nquestions:\n"
        "  - {id: tenant, type: yes_no, label: {en: 'Are you a tenant?', pl: 'Czy jest Pan/Pani najemcą?'}}\n"
        "  - {id: years, type: integer, label: {en: 'How many years?', pl: 'Ile lat?'}}\n"
    )
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.db.write(lambda session: import_survey(session, homes, NOW))
        await run.say(CHAT, "/start homes2", replies=2)
        await run.press(CHAT, "Yes")
        sent = await run.say(CHAT, "/back")
        assert sent[-1]["text"].endswith("<i>Your answer before: Yes</i>")
        sent = await run.say(CHAT, "/language pl", replies=2)
        assert sent[-1]["text"].startswith("<b>Czy jest Pan/Pani najemcą?</b>")
        assert sent[-1]["text"].endswith("<i>Twoja wcześniejsza odpowiedź: Tak</i>"), "in the language chosen"


async def test_a_resident_whose_telegram_is_in_polish_is_told_the_survey_is_in_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.db.write(lambda session: import_survey(session, BILINGUAL, NOW))
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends(CHAT, "/start tsm", language="pl")
        sent = await run.fake.wait_for(CHAT, before + 3)
        assert sent[-3]["text"].endswith("/mydata i /forget.\n\nTa ankieta jest dostępna w językach: English.")
        assert "Are you happy to take part?" in sent[-1]["text"]
        before = len(run.fake.to(CHAT + 1))
        await run.fake.user_sends(CHAT + 1, "/start bilingual", language="pl")
        sent = await run.fake.wait_for(CHAT + 1, before + 2)
        assert sent[-2]["text"].endswith("/mydata i /forget."), "a survey written in Polish says nothing of it"
        assert "Czy jest Pan/Pani najemcą?" in sent[-1]["text"]


async def test_the_words_sent_with_a_photo_are_kept_as_the_answer_and_the_photo_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await agree_to_coproduction(run, CHAT)
        await run.say(CHAT, "cost of living, parks")
        await run.press(CHAT, "Cost of living")
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends_photo(CHAT, caption="A bench by the pond, like this one")
        sent = await run.fake.wait_for(CHAT, before + 2)
        assert sent[-2]["text"] == ATTACHMENT_NOT_KEPT
        assert "Would you like to help" in sent[-1]["text"], "and the survey goes on"
        (response,) = await responses(run)
        assert (await answers(run, response.id))["idea"] == "A bench by the pond, like this one"


async def test_a_typed_choice_is_read_back_on_top_of_the_next_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        sent = await run.say(CHAT, "\U0001f44d")  # a thumbs up, as people answer in a chat
        assert sent[-1]["text"].startswith("<i>\u2713 I agree</i>\n\n<b>Taking everything into account")
        sent = await run.say(CHAT, "5")
        assert sent[-1]["text"].startswith("<i>\u2713 Very dissatisfied</i>\n\n<b>Has your landlord carried out")
        assert run.keyboard(CHAT)[0]["text"] == "Yes", "the next question keeps its buttons"
        sent = await run.say(CHAT, "perhaps")
        assert sent[-1]["text"] == "Sorry, \u201cperhaps\u201d is not one of the options. Please choose one of them."
        sent = await run.say(CHAT, "/back")
        assert sent[-1]["text"].endswith("<i>Your answer before: Very dissatisfied</i>"), "and can go back to mend it"
        await run.say(CHAT, "2")
        sent = await run.say(CHAT, "nah")
        assert sent[-1]["text"].startswith("<i>\u2713 No</i>\n\n<b>"), "no repair, so on past the repair questions"
        [response] = await responses(run)
        assert await answers(run, response.id) == {
            "consent": "agree",
            "tp01_overall": "fairly_satisfied",
            "had_repair": "no",
        }


async def test_words_typed_at_a_choice_offering_other_are_the_residents_own_answer_read_back_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await agree_to_coproduction(run, CHAT)
        await run.tick(CHAT, 1, 2)
        sent = await run.say(CHAT, "Dog fouling")
        assert sent[-1]["text"].startswith(
            "<i>\u2713 Safety and anti-social behaviour, Parks and green spaces, Other: Dog fouling</i>\n\n"
            "<b>And if we could only work on one"
        )
        [response] = await responses(run)
        kept = await answers(run, response.id)
        assert (
            kept["matters_most"] == ["safety", "green_spaces", "other"] and kept["matters_most_other"] == "Dog fouling"
        )


async def test_other_pressed_asks_for_the_residents_own_words_in_plain_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await agree_to_coproduction(run, CHAT)
        await run.tick(CHAT, 10)
        sent = await run.press(CHAT, "Done")
        assert sent[-1]["text"] == "<b>Please type your answer</b>"


async def test_a_reply_to_an_earlier_questions_message_is_not_taken_for_the_latest_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Swiping to reply to "Taking everything into account..." with "no" means that question, not "Has your
    landlord carried out a repair?", which is what would have stored it."""
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.say(CHAT, "yes")
        overall = run.keyboard_message(CHAT)
        await run.say(CHAT, "very satisfied")
        repair = run.keyboard_message(CHAT)
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends(CHAT, "no", reply_to=overall)
        sent = await run.fake.wait_for(CHAT, before + 1)
        assert sent[-1]["text"] == (
            "That is a reply to an earlier question, so I have not taken it as an answer. "
            "Please answer the latest question; to change an earlier answer, send /back."
        )
        [response] = await responses(run)
        assert await answers(run, response.id) == {"consent": "agree", "tp01_overall": "very_satisfied"}
        await run.fake.user_sends(CHAT, "no", reply_to=repair)
        sent = await run.fake.wait_for(CHAT, before + 2)
        assert sent[-1]["text"].startswith("<i>\u2713 No</i>"), "a reply to the latest question answers it"
        assert (await answers(run, response.id))["had_repair"] == "no"


async def test_a_reply_to_a_question_answered_by_a_press_is_not_taken_for_the_latest_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pressed question loses its buttons but keeps its words, which name it; a message that names no question
    (the language chosen) is read as before."""
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.press(CHAT, "I agree")
        overall = run.keyboard_message(CHAT)
        await run.press(CHAT, "Very satisfied")
        assert await run.buttons_gone(CHAT, overall)
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends(CHAT, "no", reply_to=overall)
        sent = await run.fake.wait_for(CHAT, before + 1)
        assert sent[-1]["text"].startswith("That is a reply to an earlier question, so I have not taken it")
        [response] = await responses(run)
        assert "had_repair" not in await answers(run, response.id)
        await run.say(CHAT, "/language")
        chooser = run.keyboard_message(CHAT)
        before = len(run.fake.to(CHAT))
        await run.fake.press(CHAT, chooser, run.keyboard(CHAT)[0]["callback_data"])
        await run.fake.wait_for_text(CHAT, "carried out a repair", after=before)
        assert run.fake.messages[(CHAT, chooser)]["text"].endswith("\n\u2713 English")
        await run.fake.user_sends(CHAT, "no", reply_to=chooser)
        await run.fake.wait_for_text(CHAT, "\u2713 No", after=before)
        assert (await answers(run, response.id))["had_repair"] == "no", "the language's message names no question"


async def test_a_comment_typed_at_a_choice_is_thanked_for_and_kept_with_the_answer_pressed_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.press(CHAT, "I agree")
        comment = "The <b>repairs</b> take months & nobody calls back"
        sent = await run.say(CHAT, comment)
        assert sent[-1]["text"] == (
            "Thank you, we have kept what you wrote as a comment on this question. "
            "Please also choose one of the answers above."
        )
        await run.press(CHAT, "Fairly dissatisfied")
        async with run.db.read() as session:
            kept = (await session.execute(select(Answer.question_id, Answer.value, Answer.text))).all()
        assert ("tp01_overall", "fairly_dissatisfied", comment) in kept
        edited = [s for s in run.fake.sent if s["method"] == "editMessageText"]
        assert edited[-1]["text"].endswith("\u2713 Fairly dissatisfied"), "the press answers the question as ever"


async def test_a_press_on_a_stale_button_is_answered_and_its_buttons_taken_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        consent, agree = run.keyboard_message(CHAT), run.keyboard(CHAT)[0]["callback_data"]
        await run.say(CHAT, "yes")
        assert run.fake.messages[(CHAT, consent)].get("reply_markup"), "a typed answer leaves the buttons"
        for press in range(2):  # the second finds the buttons gone already: Telegram says "not modified"
            answer = await run.answer_to_press(CHAT, consent, agree)
            assert await run.buttons_gone(CHAT, consent), press
            assert "earlier question" in answer["text"], press
        taken = [s for s in run.fake.sent if s["method"] == "editMessageReplyMarkup"]
        assert [s["message_id"] for s in taken] == [consent], "taken away once"
        [response] = await responses(run)
        assert await answers(run, response.id) == {"consent": "agree"}
        for _ in range(250):
            async with run.db.read() as session:
                outcomes = set(await session.scalars(select(Outbox.status).distinct()))
            if not outcomes & {"queued", "sending"}:
                break
            await asyncio.sleep(0.02)
        assert outcomes == {"sent"}, "the second removal's 'not modified' is no failure"


async def test_a_survey_answered_before_a_new_version_counts_as_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mended = (TEMPLATES / "coproduction-ideas.yaml").read_text().replace("about 3 minutes", "about three minutes")
    async with running_chorus(tmp_path, monkeypatch) as run:
        await finish_coproduction(run, CHAT)
        await run.db.write(lambda session: import_survey(session, survey_from_yaml(mended), NOW))
        sent = await run.say(CHAT, "/start coproduction-ideas")
        assert sent[-1]["text"] == "You've already answered this survey. Thank you for taking part."
        sent = await run.press(CHAT, "Answer it again", replies=3)
        assert "This takes about three minutes." in sent[-2]["text"], "answering again takes the new version"


async def test_a_leaflet_scanned_again_carries_on_with_a_welcome_back_not_the_introduction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        sent = await run.say(CHAT, "/start tsm")
        assert sent[-1]["text"].endswith("<b>Are you happy to take part?</b>"), "a double tap asks again, only"
        await run.press(CHAT, "I agree")
        await run.press(CHAT, "Very satisfied")
        sent = await run.say(CHAT, "/start tsm-ancoats", replies=2)
        assert sent[-2]["text"] == "Welcome back! Here is where you left off."
        assert "carried out a repair" in sent[-1]["text"]
        await asyncio.sleep(0.2)
        assert len(run.fake.to(CHAT)) == 8, "nothing more: no introduction buried above the question"


async def test_done_or_ok_typed_at_a_multiple_choice_answers_with_the_ticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await agree_to_coproduction(run, CHAT)
        await run.say(CHAT, "/language pl", replies=2)
        await run.tick(CHAT, 2, 5)
        sent = await run.say(CHAT, "Gotowe")
        assert sent[-1]["text"].startswith("<i>\u2713 Parks and green spaces, Cost of living</i>")
        assert "which should it be?" in sent[-1]["text"]
        await run.say(CHAT, "/back")
        sent = await run.say(CHAT, "OK")  # as people type once they have ticked what they want
        assert sent[-1]["text"].startswith("<i>\u2713 Parks and green spaces, Cost of living</i>")


TYPED = survey_of(
    """
    id: typed
    title: Typed
    questions:
      - {id: idea, type: text, label: "One idea?"}
      - {id: safe, type: likert, scale: satisfaction, dont_know: true, label: "Safe?"}
      - {id: yard, type: select_one, label: "Which garden?", choices: [{value: back, label: Back garden}, {value: na, label: Not applicable}]}
      - {id: must, type: yes_no, required: true, label: "Must?"}
    """
)


async def test_skip_or_back_typed_does_what_its_button_does_unless_it_names_a_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typed at a free-text question, "skip" was stored as the answer; at a choice, refused as not an option."""
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.db.write(lambda session: import_survey(session, TYPED, NOW))
        await run.say(CHAT, "/start typed", replies=2)
        sent = await run.say(CHAT, "n/a")
        assert sent[-1]["text"].startswith("<b>Safe?</b>"), "nothing to say: skipped, not stored as 'n/a'"
        sent = await run.say(CHAT, "Back")
        assert sent[-1]["text"].startswith("<b>One idea?</b>")
        await run.say(CHAT, "Skip")
        sent = await run.say(CHAT, "not applicable")
        assert sent[-1]["text"].startswith("<i>\u2713 Don't know / not applicable</i>"), "the question offers it"
        sent = await run.say(CHAT, "not applicable")
        assert sent[-1]["text"].startswith("<i>\u2713 Not applicable</i>"), "a choice of the survey's own"
        sent = await run.say(CHAT, "prefer not to say")
        assert sent[-1]["text"] == "This question needs an answer before we can go on.", "a required one is not skipped"
        await run.say(CHAT, "/language pl", replies=2)
        sent = await run.say(CHAT, "wstecz")
        assert sent[-1]["text"].startswith("<b>Which garden?</b>")
        sent = await run.say(CHAT, "Pomiń")
        assert sent[-1]["text"].startswith("<b>Must?</b>")
        (response,) = await responses(run)
        assert await answers(run, response.id) == {"idea": None, "safe": "dont_know", "yard": None}, "skipped"


async def test_which_first_offers_only_the_issues_ticked_and_records_the_one_pressed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await agree_to_coproduction(run, CHAT)
        await run.say(CHAT, "cost of living, parks")
        assert [b["text"] for b in run.keyboard(CHAT)] == ["Parks and green spaces", "Cost of living", "\u25c0 Back"]
        sent = await run.press(CHAT, "Cost of living")
        assert "one idea" in sent[-1]["text"]
        (response,) = await responses(run)
        assert (await answers(run, response.id))["priority"] == "cost_of_living"
        sent = await run.say(CHAT, "/mydata", replies=2)
        assert (
            "\u2022 And if we could only work on one of those first, which should it be? \u2014 Cost of living"
            in (sent[-2]["text"])
        ), "read in the chat as well as in the file"
        document = next(s for s in reversed(run.fake.sent) if s.get("document"))
        [exported] = json.loads(document["document"]["content"])["responses"]
        shown = {answer["question_id"]: answer["answer"] for answer in exported["answers"]}
        assert shown["matters_most"] == "Parks and green spaces, Cost of living", "as the person saw it"


async def finish_coproduction(run: Running, chat: int) -> None:
    await agree_to_coproduction(run, chat)
    await run.say(chat, "safety")
    await run.say(chat, "/skip")
    sent = await run.say(chat, "no")
    assert "Thank you. We will share" in sent[-1]["text"]


async def test_a_second_scan_after_finishing_asks_before_starting_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await finish_coproduction(run, CHAT)
        sent = await run.say(CHAT, "/start coproduction-ideas")
        assert sent[-1]["text"] == "You've already answered this survey. Thank you for taking part."
        assert [b["text"] for b in run.keyboard(CHAT)] == ["Answer it again"]
        assert [r.status for r in await responses(run)] == ["completed"], "nothing started by the scan"
        asking = run.keyboard_message(CHAT)
        sent = await run.press(CHAT, "Answer it again", replies=3)
        assert sent[-1]["text"].endswith("<b>Are you happy to take part?</b>")
        asked_again = run.fake.messages[(CHAT, asking)]
        assert asked_again["text"] == "You've already answered this survey. Thank you for taking part."
        assert not asked_again.get("reply_markup"), "its button goes once pressed"
        assert sorted(r.status for r in await responses(run)) == ["answering", "completed"]


async def test_a_forwarded_message_is_never_taken_as_an_answer_or_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.press(CHAT, "I agree")
        for passed_on in ("1", "/forget"):
            before = len(run.fake.to(CHAT))
            await run.fake.user_forwards(CHAT, passed_on)
            sent = await run.fake.wait_for(CHAT, before + 1)
            assert sent[-1]["text"].startswith("That looks like a forwarded message")
        [response] = await responses(run)
        assert await answers(run, response.id) == {"consent": "agree"}, "nothing taken from what was forwarded"
        sent = await run.say(CHAT, "1")
        assert "\u2713 Very satisfied" in sent[-1]["text"], "typed, the same words are an answer"


async def test_bad_input_gets_a_helpful_reply_and_never_breaks_the_survey(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        sent = await run.say(CHAT, "hello")
        assert "not answering a survey" in sent[-1]["text"]
        await run.say(CHAT, "/start tsm", replies=3)
        sent = await run.say(CHAT, "<b>maybe</b> & more")
        assert (
            sent[-1]["text"]
            == "Sorry, \u201c&lt;b&gt;maybe&lt;/b&gt; &amp; more\u201d is not one of the options. Please choose one of them."
        )
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends_sticker(CHAT)
        sent = await run.fake.wait_for(CHAT, before + 1)
        assert "I can only read text" in sent[-1]["text"]
        sent = await run.say(CHAT, "/frobnicate")
        assert "I don't know that command" in sent[-1]["text"]
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends_album(CHAT, 3)
        await run.fake.user_edits(CHAT, "edited text is ignored")
        await run.fake.user_sends(CHAT, "/start nosuchsurvey")
        await run.fake.wait_for_text(CHAT, "couldn't find that survey", before)
        replies = [message["text"] for message in run.fake.to(CHAT)[before:]]
        assert len(replies) == 3, "one reply for the three photos of an album"
        assert "I can only read text" in replies[0]
        assert replies[1].startswith("I only read what you send, not later changes to it."), "an edit is not read"
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends_album(CHAT, 3, caption="the damp in my kitchen")
        await run.fake.user_sends(CHAT, "/help")
        await run.fake.wait_for_text(CHAT, "/forget erases", before)
        replies = [message["text"] for message in run.fake.to(CHAT)[before:]]
        assert replies[0] == ATTACHMENT_NOT_KEPT, "said once for the album"
        assert replies[1].startswith("Sorry, \u201cthe damp in my kitchen\u201d"), "its words read as typed ones"
        assert len(replies) == 3
        group_before = len(run.fake.to(-500))
        await run.fake.user_sends(-500, "/start tsm", chat_type="group")
        sent = await run.fake.wait_for(-500, group_before + 1)
        assert "private chat" in sent[-1]["text"]
        sent = await run.say(CHAT, "/start", replies=1)
        assert "Are you happy to take part?" in sent[-1]["text"], "a plain /start resumes the current question"
        consent_message, old_button = run.keyboard_message(CHAT), run.keyboard(CHAT)[1]["callback_data"]
        await run.press(CHAT, "I agree")
        answer = await run.answer_to_press(CHAT, consent_message, old_button)  # "I do not agree", on the old message
        assert "earlier question" in answer["text"]
        [response] = await responses(run)
        assert await answers(run, response.id) == {"consent": "agree"}
        assert not any("parse" in str(s.get("text")) for s in run.fake.sent)


async def test_in_a_group_only_a_command_for_this_bot_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commissioners' group that gets the weekly summary talks among itself; the bot keeps out of it.

    Telegram sends every bot in a group its service messages and the replies
    to its own messages, whatever its privacy mode.
    """
    group = -600
    earlier = {"message_id": 1, "date": 1, "chat": {"id": group, "type": "group"}}
    async with running_chorus(tmp_path, monkeypatch, webhook=True) as run:
        await run.fake.in_group(group, text="Did everyone see the summary?")
        await run.fake.in_group(group, new_chat_members=[run.fake.user(78)])
        await run.fake.in_group(group, pinned_message=earlier)
        await run.fake.in_group(group, text="Repairs are up again", reply_to_message=earlier)
        await run.fake.user_sends(group, "/help@another_bot", chat_type="group")
        await run.fake.user_sends(group, "/help@chorus_test_bot", chat_type="group")
        await run.fake.user_sends(group, "/start", chat_type="group")
        async with run.db.read() as session:  # under a webhook, each update is applied before it is delivered
            queued = await session.scalar(select(func.count()).where(Outbox.address == str(group)))
        assert queued == 2, "one reply to each of the two commands for this bot, nothing else"
        sent = await run.fake.wait_for(group, 2)
        assert all("private chat" in message["text"] for message in sent)


async def test_the_access_log_has_no_line_for_each_update_taken_but_one_for_a_refused_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """At the default level a line per resident's answer was noise, and cost 8% of the answers a second."""
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    async with running_chorus(tmp_path, monkeypatch, webhook=True) as run:
        await run.say(CHAT, "/help")
        assert run.fake.webhook is not None
        update = {"update_id": 9000, "message": {"message_id": 1, "date": 0, "chat": {"id": CHAT, "type": "private"}}}
        assert await run.fake.post_webhook(update, "wrong-secret-0123456789") == 403
        async with ClientSession() as client, client.get(f"http://127.0.0.1:{run.settings.port}/healthz") as health:
            assert health.status == 200
    lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]
    assert len(lines) == 2, lines
    assert '"POST /telegram/webhook HTTP/1.1" 403' in lines[0]
    assert '"GET /healthz HTTP/1.1" 200' in lines[1]


async def test_help_stop_and_my_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        sent = await run.say(CHAT, "/help")
        assert "/forget erases everything" in sent[-1]["text"]
        await run.say(CHAT, "/start tsm", replies=3)
        await run.press(CHAT, "I agree")
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends(CHAT, "/mydata")
        sent = await run.fake.wait_for(CHAT, before + 2)
        assert sent[-2]["text"].startswith("<b>What we hold about you</b>\nYour Telegram chat, in English, since ")
        assert "<b>Tenant Satisfaction Survey, started on " in sent[-2]["text"]
        assert "\u2022 Are you happy to take part? \u2014 I agree" in sent[-2]["text"]
        document = next(s for s in reversed(run.fake.sent) if s.get("document"))
        data = json.loads(document["document"]["content"])
        assert data["contact"]["address"] == str(CHAT)
        assert data["consents"][0]["decision"] == "agree"
        [consent] = data["responses"][0]["answers"]
        assert (consent["question"], consent["answer"]) == ("Are you happy to take part?", "I agree")
        question = run.keyboard_message(CHAT)
        sent = await run.say(CHAT, "/stop")
        assert "won't get any more messages" in sent[-1]["text"]
        async with run.db.read() as session:
            contact = (await session.scalars(select(Contact))).one()
        assert contact.opted_out_at is not None and contact.current_version_id is not None, "opted out, place kept"
        sent = await run.say(CHAT, "Very satisfied")
        assert "Send /start to carry on where you left off" in sent[-1]["text"]
        answer = await run.answer_to_press(CHAT, question, run.keyboard(CHAT)[0]["callback_data"])
        assert "Send /start to carry on" in answer["text"]
        [response] = await responses(run)
        assert await answers(run, response.id) == {"consent": "agree"}, "nothing answered while stopped"
        sent = await run.say(CHAT, "/start", replies=2)
        assert sent[-2]["text"] == "Welcome back! Here is where you left off."
        assert "how satisfied or dissatisfied are you" in sent[-1]["text"], "/start carries on at the same question"
        await run.press(CHAT, "Very satisfied")
        assert (await answers(run, response.id))["tp01_overall"] == "very_satisfied"
        async with run.db.read() as session:
            assert (await session.scalars(select(Contact))).one().opted_out_at is None


async def test_forget_leaves_nothing_that_identifies_the_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.press(CHAT, "I agree")
        await run.press(CHAT, "Very satisfied")
        sent = await run.say(CHAT, "/forget")
        assert "Are you sure?" in sent[-1]["text"]
        sent = await run.press(CHAT, "Yes, erase everything")
        assert sent[-1]["text"] == "Done. Everything we held about you has been erased."
        async with run.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(Contact)) == 0
            assert await session.scalar(select(func.count()).select_from(Response)) == 0
            assert await session.scalar(select(func.count()).select_from(Consent)) == 0
        assert str(CHAT) not in await dump(run.db)


STORY = survey_of(
    """
    id: story
    title: Your street
    questions:
      - {id: told, type: text, label: "What should we know about your street?"}
    """
)


async def test_forget_leaves_nothing_of_the_person_in_the_database_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted rows linger in SQLite's pages and its write-ahead log until overwritten; /forget must not leave them
    there for anyone who copies the files, even while the service keeps running."""
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.db.write(lambda session: import_survey(session, STORY, NOW))
        told = "Zebedee Quartermaine at number 9 keeps the stairwell lit"
        for chat, said in ((CHAT, told), (OTHER, "The bins go out on Tuesdays")):
            await run.say(chat, "/start story", replies=2)
            assert (await run.say(chat, said))[-1]["text"] == "Thank you for taking part."
        assert told.encode() in on_disk(run.settings.database_url), "the answer was stored"
        await run.say(CHAT, "/forget")
        sent = await run.press(CHAT, "Yes, erase everything")
        assert sent[-1]["text"] == "Done. Everything we held about you has been erased."
        left = on_disk(run.settings.database_url)
        assert b"Quartermaine" not in left and b"Tuesdays" in left, "their answer gone, and only theirs"


async def test_a_database_error_logs_nothing_a_person_said_or_who_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Logs are kept outside erasure and retention, so they must not hold answers or chat ids; a database error's
    message carries the statement's values unless told not to."""
    caplog.set_level(logging.INFO)
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.db.write(lambda session: import_survey(session, STORY, NOW))
        await run.say(CHAT, "/start story", replies=2)
        refuse = "CREATE TRIGGER refuse BEFORE UPDATE ON response BEGIN SELECT RAISE(ABORT, 'the disk is unwell'); END"
        await run.db.write(lambda session: session.execute(text(refuse)))
        sent = await run.say(CHAT, "Zebedee Quartermaine at number 9 keeps the stairwell lit")
        assert "Sorry" in sent[-1]["text"], "the person hears that something went wrong"
    assert "the disk is unwell" in caplog.text, "the error is logged"
    assert "stairwell" not in caplog.text


HOMES = survey_of(
    """
    id: homes
    title: Our homes
    organisation: ancoats-housing
    questions:
      - {id: happy, type: yes_no, label: "Are you happy with your home?"}
    """
)


async def area_of(run: Running, chat: int) -> str | None:
    async with run.db.read() as session:
        return await session.scalar(
            select(Area.name).join(Contact, Contact.area_id == Area.id).where(Contact.address == str(chat))
        )


async def test_a_deep_link_records_the_area_within_the_surveys_organisation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:

        def places(session: Session) -> None:
            """As an officer does it: `chorus survey import`, then `chorus org add` and `chorus org area`."""
            import_survey(session, HOMES, NOW)
            name_organisation(session, "gorton-mutual", "Gorton Mutual", NOW)
            name_organisation(session, "ancoats-housing", "Ancoats Housing Co-op", NOW)
            add_place(session, "area", "gorton-mutual", "central", "Gorton Central", NOW)
            add_place(session, "area", "ancoats-housing", "central", "Ancoats Central", NOW)

        await run.db.write(places)
        sent = await run.say(CHAT, "/start homes-central", replies=2)
        assert sent[-2]["text"].startswith("This survey is run by Ancoats Housing Co-op."), "by name, not its slug"
        assert await area_of(run, CHAT) == "Ancoats Central", "the area of the survey's own organisation"
        await run.say(CHAT, "/start homes-centrl")
        assert await area_of(run, CHAT) == "Ancoats Central", "a mistyped area leaves the recorded one alone"
        await run.say(CHAT + 1, "/start tsm-central")
        assert await area_of(run, CHAT + 1) == "Gorton Central", "a survey of no organisation: the first area so named"
        await run.say(CHAT + 2, "/start HOMES-Central", replies=2)
        assert await area_of(run, CHAT + 2) == "Ancoats Central", "a link typed with capitals means the same"


async def test_a_services_link_records_the_service_with_the_person_and_their_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A letter from the repairs desk carries `?start=homes-repairs`: its users can be asked, and counted, as such."""
    async with running_chorus(tmp_path, monkeypatch) as run:

        def places(session: Session) -> None:
            import_survey(session, HOMES, NOW)
            name_organisation(session, "ancoats-housing", "Ancoats Housing Co-op", NOW)
            add_place(session, "area", "ancoats-housing", "beswick", "Beswick", NOW)
            add_place(session, "service", "ancoats-housing", "repairs", "Repairs desk", NOW)

        await run.db.write(places)
        await run.say(CHAT, "/start homes-beswick", replies=2)
        await run.say(CHAT, "/start homes-repairs")
        assert await area_of(run, CHAT) == "Beswick", "a service's link leaves the area recorded"
        await run.say(OTHER, "/start homes-repairs", replies=2)
        await run.press(OTHER, "Yes")
        async with run.db.read() as session:
            used = dict(
                (await session.execute(select(Contact.address, Service.name).join(Service, isouter=True))).all()
            )
            [recorded] = (await session.execute(select(Service.name).join(Response))).scalars().all()
        assert used == {str(CHAT): "Repairs desk", str(OTHER): "Repairs desk"}
        assert recorded == "Repairs desk", "the answers are counted as the service's users'"
        sent = await run.say(OTHER, "/mydata", replies=2)
        assert "The service whose link you opened: Repairs desk." in sent[-2]["text"]


async def test_staff_join_with_a_code_and_answer_anonymously(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        sent = await run.say(CHAT, "/start staff-pulse", replies=1)
        assert "This survey is for staff" in sent[-1]["text"]
        async with run.db.read() as session:
            session.add(Organisation(slug="northern-care", name="Northern Care Mutual", created_at=NOW))
            await session.commit()
        [code] = await run.db.write(lambda s: create_codes(s, "northern-care", 1, NOW))
        sent = await run.say(CHAT, f"/start join-{code}")
        assert sent[-1]["text"].startswith("You're now registered as staff of Northern Care Mutual.")
        sent = await run.say(OTHER, f"/start join-{code}")
        assert "already been used" in sent[-1]["text"], "a code works once"
        sent = await run.say(CHAT, "/start staff-pulse", replies=3)
        assert "anonymous: once enough others have answered, or at the end of the week" in sent[-3]["text"]
        for reply in ("agree", "strongly agree", "7", "mostly", "agree", "disagree", "9", "Fewer meetings"):
            await run.say(CHAT, reply)
        assert "Thank you. The results" in run.last_text(CHAT)
        assert await responses(run) == [], "held with the rest of the week's"
        exported = await run.say(CHAT, "/mydata", replies=2)
        assert "anonymous surveys are linked to you until enough others have answered" in exported[-2]["text"]
        assert "Fewer meetings" in exported[-1]["document"]["content"].decode(), "theirs to see while it is linked"
        await run.week_ends()
        [response] = await responses(run)
        assert (response.participant_key, response.state, response.completed_at) == (None, None, None)
        assert (await answers(run, response.id))["enps"] == 9
        async with run.db.read() as session:
            contact = await session.scalar(select(Contact).where(Contact.address == str(CHAT)))
            assert contact is not None and contact.role == "staff"
            assert await session.scalar(select(func.count()).select_from(AnonymousDraft)) == 0
        exported = await run.say(CHAT, "/mydata", replies=2)
        assert (
            "We hold no answers linked to you.\n\nAnswers to anonymous surveys are stored with no link"
            in (exported[-2]["text"])
        ), "a member of staff's answers are anonymous"
        assert "Fewer meetings" not in exported[-1]["document"]["content"].decode()


async def test_webhook_needs_the_secret_and_applies_each_update_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, webhook=True) as run:
        assert run.fake.webhook is not None and run.fake.webhook["url"].endswith("/telegram/webhook")
        update = {
            "update_id": 5000,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": CHAT, "type": "private"},
                "from": run.fake.user(CHAT),
                "text": "/start tsm",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        assert await run.fake.post_webhook(update, None) == 403
        assert await run.fake.post_webhook(update, "wrong-secret-0123456789") == 403
        assert await run.fake.post_webhook(update, run.fake.webhook["secret"]) == 200
        await run.fake.wait_for(CHAT, 3)
        await run.press(CHAT, "I agree")
        answer = {
            "update_id": 5001,
            "message": {**update["message"], "message_id": 2, "text": "very satisfied", "entities": []},
        }
        assert await run.fake.post_webhook(answer, run.fake.webhook["secret"]) == 200
        await run.fake.wait_for(CHAT, 5)
        for replayed in (update, answer):
            assert await run.fake.post_webhook(replayed, run.fake.webhook["secret"]) == 200
        await asyncio.sleep(0.3)
        assert len(run.fake.to(CHAT)) == 5, "replayed updates send nothing"
        [response] = await responses(run)
        assert await answers(run, response.id) == {"consent": "agree", "tp01_overall": "very_satisfied"}


async def test_a_webhook_call_that_is_not_an_update_gets_400_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, webhook=True) as run:
        assert run.fake.webhook is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": run.fake.webhook["secret"], "Content-Type": "application/json"}
        bodies = [b"not json", b"[1, 2]", b"{}", b'{"update_id": 7, "callback_query": {"id": "1", "message": 5}}']
        async with ClientSession() as client:
            for body in bodies:
                async with client.post(run.fake.webhook["url"], data=body, headers=headers) as response:
                    assert (response.status, await response.text()) == (400, "not a Telegram update"), body
        async with run.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(Contact)) == 0, "nothing was stored"
        sent = await run.say(CHAT, "/start tsm", replies=3)
        assert "Are you happy to take part?" in sent[-1]["text"], "and the bot still serves"


async def test_a_malformed_update_from_get_updates_is_confirmed_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        malformed = await run.fake.deliver({"message": {"message_id": 1, "chat": {"id": CHAT}}})
        sent = await run.say(CHAT, "/start tsm", replies=3)
        assert "Are you happy to take part?" in sent[-1]["text"], "the updates after it are served"
        async with asyncio.timeout(10):
            while any(u["update_id"] == malformed["update_id"] for u in run.fake.unconfirmed):
                await asyncio.sleep(0.01)


async def test_under_a_webhook_a_button_is_answered_in_the_webhook_response(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spinner on a pressed button stops as the press commits, not when the outbox gets to it."""
    async with running_chorus(tmp_path, monkeypatch, webhook=True) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        consent_message, refuse = run.keyboard_message(CHAT), run.keyboard(CHAT)[1]["callback_data"]
        await run.press(CHAT, "I agree")
        await run.fake.press(CHAT, consent_message, refuse)  # the consent question's other button, pressed late
        answered = [call for call in run.fake.calls_in_responses if call["method"] == "answerCallbackQuery"]
        assert len(answered) == 2 and "text" not in answered[0]
        assert "earlier question" in answered[1]["text"]
        await asyncio.sleep(0.3)
        assert run.fake.calls["answerCallbackQuery"] == 2, "each press is answered once: in its webhook response"
        assert run.fake.calls["editMessageText"] == 1, "the outbox still edits the question to show the answer"
        [response] = await responses(run)
        assert await answers(run, response.id) == {"consent": "agree"}


async def test_a_blocked_bot_marks_the_contact_opted_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        run.fake.blocked.add(CHAT)
        await run.fake.user_sends(CHAT, "/help")
        await run.opted_out()


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_blocking_the_bot_opts_the_resident_out_at_once_and_start_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: bool
) -> None:
    """Telegram says when a person blocks the bot; they are opted out then, not at the next message's 403."""
    async with running_chorus(tmp_path, monkeypatch, webhook=webhook) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.press(CHAT, "I agree")
        question = run.last_text(CHAT)
        sends = run.fake.calls["sendMessage"]
        await run.fake.user_blocks(CHAT)
        await run.opted_out()
        assert run.fake.calls["sendMessage"] == sends, "nothing was sent to find out"
        await run.fake.user_blocks(OTHER)  # someone who never wrote to the bot
        await run.fake.user_blocks(CHAT, blocked=False)
        await run.say(CHAT, "/start", replies=2)
        assert run.last_text(CHAT) == question, "they carry on at the question they had reached"
        async with run.db.read() as session:
            contacts = list(await session.scalars(select(Contact)))
        assert [(c.address, c.opted_out_at) for c in contacts] == [(str(CHAT), None)]
        assert not run.fake.withheld, "Chorus asks Telegram for these updates"


async def test_polling_outlives_another_poller_and_a_429(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A second process polling with the same token, or Telegram asking to wait, does not stop the bot."""
    caplog.set_level(logging.WARNING, logger="bot.telegram.channel")
    async with running_chorus(tmp_path, monkeypatch) as run:
        run.fake.poll_refusals += [(409, f"Conflict: {OTHER_POLLER}", None), (429, "Too Many Requests", 1)]
        await run.say(CHAT, "/start tsm", replies=3)  # the poll already waiting takes this; the next two are refused
        await run.press(CHAT, "I agree")
        assert not run.fake.poll_refusals
        assert "another process is taking this bot's updates" in caplog.text


async def test_a_token_revoked_while_polling_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram.channel")
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        run.fake.token = "123456:REVOKEDtokenREVOKEDtokenREVOKED12"  # as @BotFather's /revoke does
        await run.fake.user_sends(CHAT, "/help")  # ends the poll in flight; the next is refused
        async with asyncio.timeout(10):
            while "was it revoked or changed with @BotFather?" not in caplog.text:
                await asyncio.sleep(0.02)


async def test_a_refused_token_is_named_and_the_rest_of_chorus_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A mistyped token stops the bot alone, says so without quoting it, and the scheduler and sender still run."""
    caplog.set_level(logging.INFO)
    wrong = "123456:WRONGtokenWRONGtokenWRONGtoken123"
    async with running_chorus(tmp_path, monkeypatch, connected=False, TELEGRAM_BOT_TOKEN=wrong) as run:
        async with asyncio.timeout(10):
            while "Telegram refused TELEGRAM_BOT_TOKEN" not in caplog.text:
                await asyncio.sleep(0.02)
            async with ClientSession() as client:
                metrics = f"http://127.0.0.1:{run.settings.port}/metrics"
                while "chorus_leader 1.0" not in await (await client.get(metrics)).text():
                    await asyncio.sleep(0.02)
        assert wrong not in caplog.text
        assert run.fake.calls["getUpdates"] == 0


async def answers_stored(run: Running) -> float:
    """`chorus_answers_stored` for Telegram, as Prometheus reads it from /metrics (0 before the first)."""
    async with ClientSession() as client:
        exposed = await (await client.get(f"http://127.0.0.1:{run.settings.port}/metrics")).text()
    found = re.search(r'^chorus_answers_stored_total\{channel="telegram"\} (\S+)$', exposed, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def test_answers_stored_counts_answers_not_comments_or_a_change_of_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start coproduction-ideas", replies=3)
        before = await answers_stored(run)
        await run.press(CHAT, "I agree")
        await run.say(CHAT, "More benches in the park and a place for kids to play")
        await run.say(CHAT, "/language pl", replies=2)
        await run.say(CHAT, "cost of living, parks")
        assert await answers_stored(run) - before == 2, "the consent and the choices; not the comment or /language"


def failing_once(monkeypatch: pytest.MonkeyPatch, error: Exception) -> list[int]:
    """The next update's turn raises `error`, as a database fault or a bug would, once; the ids of updates it failed."""
    failed: list[int] = []
    applying = conversation._apply

    def apply(runtime: Runtime, session: Session, inbound: Inbound, answer_in_response: bool, take: bool) -> Handled:
        if not failed:
            failed.append(inbound.update_id)
            raise error
        return applying(runtime, session, inbound, answer_in_response, take)

    monkeypatch.setattr(conversation, "_apply", apply)
    return failed


DISK_ERROR = OperationalError("INSERT INTO inbound_receipt", {}, Exception("disk I/O error"))


async def test_polling_asks_again_for_an_update_the_database_could_not_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        failed = failing_once(monkeypatch, DISK_ERROR)
        sent = await run.say(CHAT, "/start tsm", replies=3)
        assert failed, "the first try failed"
        assert "Are you happy to take part?" in sent[-1]["text"], "the update came again and was applied"


@pytest.mark.parametrize(
    ("error", "status"),
    [(DISK_ERROR, 500), (RuntimeError("a bug in one turn"), 200)],
    ids=["database fault: delivered again", "anything else: skipped"],
)
async def test_a_webhook_update_that_fails_is_retried_only_if_it_could_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: Exception, status: int
) -> None:
    """Telegram holds a chat's later updates until one is taken: one that fails every time must not hold them."""
    async with running_chorus(tmp_path, monkeypatch, webhook=True) as run:
        failed = failing_once(monkeypatch, error)
        delivered = await run.fake.user_sends(CHAT, "/start tsm")
        assert failed == [delivered["update_id"]] and run.fake.webhook_responses[-1] == status
        if status == 500:
            assert await run.fake.post_webhook(delivered, run.fake.webhook["secret"]) == 200, "as Telegram retries it"
            await run.fake.wait_for(CHAT, 3)
        else:
            assert f"update {delivered['update_id']} could not be applied; skipped" in caplog.text
            [sorry] = await run.fake.wait_for(CHAT, 1)
            assert sorry["text"].startswith("Sorry, something went wrong on our side")
            await run.say(CHAT, "/start tsm", replies=3)
        assert "Are you happy to take part?" in run.last_text(CHAT)


async def test_the_sender_keeps_within_the_per_chat_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    strict = FakeTelegram(chat_rate=1.0, chat_burst=2.0)
    async with running_chorus(tmp_path, monkeypatch, fake=strict) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.say(CHAT, "yes")
        assert "Taking everything into account" in run.last_text(CHAT)
        assert run.fake.too_many_requests == 0, "the fourth message waited for the chat's limit instead of a 429"


async def test_a_429_is_honoured_and_the_message_still_goes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = FakeTelegram(chat_rate=1.0, chat_burst=2.0)
    async with running_chorus(tmp_path, monkeypatch, fake=strict, TELEGRAM_CHAT_BURST="10") as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.say(CHAT, "yes")
        assert run.fake.too_many_requests >= 1, "a sender set looser than Telegram gets a 429 in a burst"
        texts = [m["text"] for m in run.fake.to(CHAT)]
        assert "Taking everything into account" in texts[-1], "and sends it after retry_after"
        assert len(texts) == len(set(texts)) == 4, "each message once"


async def test_a_new_version_imported_mid_survey_does_not_restart_those_part_way_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mended = survey_from_yaml((TEMPLATES / "tsm.yaml").read_text().replace(": your landlord", ": Ancoats Homes"))
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.press(CHAT, "I agree")
        await run.press(CHAT, "Very satisfied")
        [begun] = await responses(run)
        await run.db.write(lambda session: import_survey(session, mended, NOW))
        sent = await run.say(CHAT, "/start tsm", replies=2)
        assert sent[-2]["text"] == "Welcome back! Here is where you left off."
        assert "Has your landlord carried out a repair" in sent[-1]["text"], "on the version they began"
        sent = await run.say(OTHER, "/start tsm", replies=3)
        assert sent[-2]["text"].startswith("This survey takes about 5 minutes. Ancoats Homes must ask"), (
            "others: the new one"
        )
        versions = sorted(r.survey_version_id for r in await responses(run))
        assert versions[0] == begun.survey_version_id < versions[1], "one response on each version"


async def test_a_survey_closed_meanwhile_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_chorus(tmp_path, monkeypatch) as run:
        await run.say(CHAT, "/start tsm", replies=3)
        await run.press(CHAT, "I agree")
        [response] = await responses(run)

        def close(session: Session) -> None:
            wave = Wave(
                survey_version_id=response.survey_version_id, name="2026", audience={}, opened_at=NOW, closed_at=NOW
            )
            session.add(wave)
            session.flush()
            session.execute(update(Response).values(wave_id=wave.id))

        await run.db.write(close)
        sent = await run.say(CHAT, "very satisfied")
        assert sent[-1]["text"] == "This survey has closed. Thank you for your interest."
        assert await answers(run, response.id) == {"consent": "agree"}
        sent = await run.say(CHAT, "/start tsm", replies=3)
        assert sent[-1]["text"].endswith("<b>Are you happy to take part?</b>"), "its link starts it afresh"
        sent = await run.press(CHAT, "I agree")
        assert "how satisfied or dissatisfied are you" in sent[-1]["text"], "and takes answers, not refused as closed"
        assert await answers(run, response.id) == {"consent": "agree"}, "the closed wave's answers stay as they were"


async def test_someone_opening_the_bot_first_reads_what_it_is_for_in_their_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before a first /start Telegram shows only the bot's description: from a QR code, with none, a blank
    screen and a Start button."""
    async with running_chorus(tmp_path, monkeypatch) as run:
        assert run.fake.descriptions == {
            "": "Hello! I'm Chorus. I ask short surveys for local services, one question at a time. "
            "Open the link on your leaflet or scan its QR code to begin a survey.",
            "pl": "Dzień dobry! Jestem Chorus. Zadaję krótkie ankiety o lokalnych usługach, po jednym pytaniu. "
            "Otwórz link z ulotki lub zeskanuj kod QR, aby rozpocząć ankietę.",
            "ur": translate("ur", WELCOME),
        }
        assert run.fake.short_descriptions["pl"] == "Krótkie ankiety o lokalnych usługach, po jednym pytaniu."
        assert set(run.fake.short_descriptions) == {"", "pl", "ur"}


async def test_a_description_set_with_botfather_is_left_as_the_council_wrote_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTelegram(chat_rate=1000, chat_burst=1000, overall_rate=10_000, overall_burst=10_000)
    fake.descriptions[""] = "Ancoats Voice: tell Ancoats Housing what you think."
    async with running_chorus(tmp_path, monkeypatch, fake=fake) as run:
        assert run.fake.descriptions == {"": "Ancoats Voice: tell Ancoats Housing what you think."}
        assert run.fake.short_descriptions == {}


class OlderBotAPI(FakeTelegram):
    """A self-hosted Bot API server from before descriptions could be read: it answers 404 for them."""

    api_getMyDescription = None


async def test_a_bot_api_server_that_cannot_describe_the_bot_still_serves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = OlderBotAPI(chat_rate=1000, chat_burst=1000, overall_rate=10_000, overall_burst=10_000)
    async with running_chorus(tmp_path, monkeypatch, fake=older) as run:
        sent = await run.say(CHAT, "/start tsm", replies=3)
        assert "Are you happy to take part?" in sent[-1]["text"]
        assert older.descriptions == {}
