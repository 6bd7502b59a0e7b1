"""A participant keeps their place through a crash: SIGKILL the bot mid-survey and start it again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import select

from bot.admin import import_surveys
from bot.config import load_settings
from storage.database import Database
from storage.models import Answer
from surveys.templates import template_paths
from tests.conftest import SECRET
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.telegram_harness import free_port

CHAT = 2002
COMMENT = "The plumber came twice and it still leaks"
CHORUS = Path(sys.executable).parent / "chorus"


async def surveys_served(
    tmp_path: Path, base_url: str, monkeypatch: pytest.MonkeyPatch, **settings: str
) -> dict[str, str]:
    """The environment of a `chorus run` on the fake Bot API at `base_url`, its database holding the built-in
    surveys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHORUS_", "TELEGRAM_"))}
    env |= {
        "CHORUS_SECRET_KEY": SECRET,
        "CHORUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chorus.db'}",
        "CHORUS_PORT": str(free_port()),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": base_url,
        **settings,
    }
    for name, value in env.items():
        if name.startswith(("CHORUS_", "TELEGRAM_")):
            monkeypatch.setenv(name, value)
    await import_surveys(load_settings(None), template_paths())
    return env


async def start_bot(
    fake: FakeTelegram, env: dict[str, str], cwd: Path, log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """`chorus run` polling the fake; its log goes to `log`, or a pipe read only if it fails to start (a pipe
    left unread fills, and stops a process that logs much)."""
    calls = fake.calls["getUpdates"]
    process = subprocess.Popen(
        [str(CHORUS), "run"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log or subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while fake.calls["getUpdates"] == calls:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the bot never started polling"
        await asyncio.sleep(0.05)
    return process


async def test_sigkill_mid_survey_loses_nothing_not_even_a_comment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTelegram(chat_rate=1000, chat_burst=1000, overall_rate=10_000, overall_burst=10_000)
    env = await surveys_served(tmp_path, await fake.start(), monkeypatch)
    first = await start_bot(fake, env, tmp_path)
    try:
        await fake.user_sends(CHAT, "/start tsm")
        await fake.wait_for(CHAT, 3)
        for number, reply in enumerate(("yes", "very satisfied", "yes"), start=4):
            await fake.user_sends(CHAT, reply)
            sent = await fake.wait_for(CHAT, number)
        assert "overall repairs service" in sent[-1]["text"]
        await fake.user_sends(CHAT, COMMENT)
        await fake.wait_for_text(CHAT, "kept what you wrote as a comment", after=len(sent))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    second = await start_bot(fake, env | {"CHORUS_PORT": str(free_port())}, tmp_path)
    try:
        before = len(fake.to(CHAT))
        await fake.user_sends(CHAT, "/start")
        await fake.wait_for_text(CHAT, "overall repairs service", after=before)
        answered = len(fake.to(CHAT))
        await fake.user_sends(CHAT, "fairly satisfied")
        await fake.wait_for_text(CHAT, "time taken to complete your most recent repair", after=answered)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
        await fake.stop()
    db = Database.open(env["CHORUS_DATABASE_URL"])
    try:
        async with db.read() as session:
            stored = dict((await session.execute(select(Answer.question_id, Answer.value))).all())
            comments = dict(
                (await session.execute(select(Answer.question_id, Answer.text).where(Answer.text.is_not(None)))).all()
            )
    finally:
        await db.close()
    assert stored == {
        "consent": "agree",
        "tp01_overall": "very_satisfied",
        "had_repair": "yes",
        "tp02_repairs": "fairly_satisfied",
    }
    assert comments == {"tp02_repairs": COMMENT}, "the comment made before the crash is kept with the answer after it"


async def test_debug_logging_keeps_what_residents_say_out_of_the_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator may turn on DEBUG to chase a fault; the logs it writes outlive erasure and retention, so they
    must not carry residents' words or their chat ids, as python-telegram-bot's debug lines about each call do."""
    fake = FakeTelegram(chat_rate=1000, chat_burst=1000, overall_rate=10_000, overall_burst=10_000)
    env = await surveys_served(tmp_path, await fake.start(), monkeypatch, CHORUS_LOG_LEVEL="DEBUG")
    with (tmp_path / "chorus.log").open("wb") as log:
        bot = await start_bot(fake, env, tmp_path, log)
        try:
            await fake.user_sends(CHAT, "/start tsm")
            await fake.wait_for(CHAT, 3)
            await fake.user_sends(CHAT, COMMENT)
            await fake.wait_for_text(CHAT, "is not one of the options", after=3)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
            await fake.stop()
    logged = (tmp_path / "chorus.log").read_text()
    assert " DEBUG " in logged, "Chorus's own debug lines are written"
    assert COMMENT not in logged and str(CHAT) not in logged
