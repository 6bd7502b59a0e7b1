"""Every built-in survey completed in Telegram both ways: by pressing buttons and by typing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Organisation, Response
from storage.staff import create_codes
from surveys.engine import start, step
from surveys.inputs import Done, Input, Pick, Reply, Toggle
from surveys.loader import load_survey
from surveys.model import Kind
from surveys.outputs import AskQuestion, Completed
from surveys.templates import template_paths
from tests.conftest import NOW
from tests.telegram_harness import Running, running_chorus

CHAT = 3003


async def join_as_staff(run: Running) -> None:
    async with run.db.read() as session:
        session.add(Organisation(slug="mutual", name="The Mutual", created_at=NOW))
        await session.commit()
    [code] = await run.db.write(lambda s: create_codes(s, "mutual", 1, NOW))
    await run.say(CHAT, f"/start join-{code}")


async def answer(run: Running, ask: AskQuestion, by_buttons: bool) -> Input:
    """Answer the question the bot asked, as a participant would; returns the same input for the mirror engine."""
    first = ask.choices[0] if ask.choices else None
    if ask.kind is Kind.SELECT_MULTIPLE and first is not None:
        if by_buttons:
            before = len(run.fake.sent)
            await run.fake.press(CHAT, run.keyboard_message(CHAT), run.keyboard(CHAT)[0]["callback_data"])
            while len(run.fake.sent) == before:
                await asyncio.sleep(0.01)
            await run.press(CHAT, "Done")
            return Done(ask.question_id)
        await run.say(CHAT, "1")
        return Reply("1")
    if first is not None:
        if by_buttons:
            await run.press(CHAT, first.label)
            return Pick((first.value,))
        await run.say(CHAT, "1" if ask.kind is not Kind.RATING else first.value)
        return Reply("1" if ask.kind is not Kind.RATING else first.value)
    await run.say(CHAT, "Keep the community room open in the evenings")
    return Reply("Keep the community room open in the evenings")


@pytest.mark.parametrize("by_buttons", [True, False], ids=["buttons", "typing"])
@pytest.mark.parametrize("path", template_paths(), ids=lambda p: p.stem)
async def test_each_built_in_survey_to_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Path, by_buttons: bool
) -> None:
    survey = load_survey(path)
    async with running_chorus(tmp_path, monkeypatch) as run:
        if survey.metadata.anonymous:
            await join_as_staff(run)
        before = len(run.fake.to(CHAT))
        await run.fake.user_sends(CHAT, f"/start {survey.id}")
        state, outputs = start(survey)
        await run.fake.wait_for(CHAT, before + 1 + len(outputs))
        while True:
            ask = next((o for o in outputs if isinstance(o, AskQuestion)), None)
            if ask is None:
                assert isinstance(outputs[-1], Completed)
                break
            if ask.kind is Kind.SELECT_MULTIPLE and by_buttons:
                state, _ = step(survey, state, Toggle(ask.choices[0].value, ask.question_id))
            given = await answer(run, ask, by_buttons)
            state, outputs = step(survey, state, given)
        assert run.last_text(CHAT).endswith(
            survey.thank_you.get("en", "en") if survey.thank_you else "Thank you for taking part."
        )
        await run.week_ends()
        async with run.db.read() as session:
            [response] = (await session.scalars(select(Response))).all()
        assert response.status == "completed"
        assert (response.participant_key is None) == survey.metadata.anonymous
