"""Real `chorus run` processes sending invites to the fake Bot API: SIGKILL mid-send, and a leader taking over.

The fake runs in the test's event loop; the processes reach it over HTTP
through python-telegram-bot, as they would reach Telegram.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot import admin, outreach
from bot.config import Settings, load_settings
from bot.outbox_sender import WINDOW
from bot.runtime import Runtime, utc_now
from storage.database import Database
from storage.models import Outbox
from storage.subscriptions import subscribe
from storage.waves import Audience
from surveys.templates import template_paths
from tests.conftest import POSTGRES_URL
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.test_outreach_telegram import residents
from tests.test_service import CHORUS, environment, free_port

COMMISSIONER = 900_000
SUMMARY_TICK_SECONDS = 7  # a new leader's first summary tick is 5 s after it takes the lead


def chorus_env(base_url: str, database_url: str, **extra: str) -> dict[str, str]:
    return environment(
        free_port(),
        CHORUS_DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=base_url,
        CHORUS_QUIET_HOURS="00:00-00:00",
        **extra,
    )


def start(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(CHORUS), "run"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def leads(env: dict[str, str]) -> bool | None:
    """What the process's /metrics says about the lead; None while it is not serving."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{env['CHORUS_PORT']}/metrics", timeout=1) as response:
            body = response.read().decode()
    except OSError:
        return None
    match = re.search(r"^chorus_leader (\S+)$", body, re.MULTILINE)
    return match is not None and float(match.group(1)) == 1.0


async def until(
    condition: object, what: str, timeout: float = 60, process: subprocess.Popen[bytes] | None = None
) -> float:
    """Wait for `condition()` to be true; returns the seconds it took."""
    assert callable(condition)
    began = time.monotonic()
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"chorus run exited: {process.communicate()[1].decode()[-2000:]}")
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return time.monotonic() - began


def summaries(fake: FakeTelegram) -> int:
    return sum(1 for m in fake.sent if m["chat_id"] == COMMISSIONER and "document" in m)


def invites(fake: FakeTelegram, chats: range) -> Counter[int]:
    return Counter(m["chat_id"] for m in fake.sent if m["method"] == "send" and m["chat_id"] in chats)


async def unsettled(db: Database) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status.in_(["queued", "sending"]))
        )
    return int(count or 0)


async def prepared(settings: Settings, chats: range) -> Database:
    """The database migrated, the built-in surveys imported, residents seeded and a TSM wave opened for them."""
    await admin.upgrade_database(settings)
    await admin.import_surveys(settings, template_paths())
    db = Database.open(settings.database_url)
    await residents(db, chats)
    opened = await outreach.open_wave(Runtime(settings, db), "tsm", Audience())
    assert opened is not None and opened.invited == len(chats)
    return db


def use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for name, value in env.items():
        if name.startswith(("CHORUS_", "TELEGRAM_")):
            monkeypatch.setenv(name, value)
    return load_settings(None)


async def test_sigkill_during_a_5000_invite_send_loses_none_and_repeats_at_most_those_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeTelegram(overall_rate=10_000, overall_burst=10_000, chat_rate=1000, chat_burst=1000)
    base_url = await fake.start()
    chats = range(100_000, 105_000)
    env = chorus_env(base_url, f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}", TELEGRAM_RATE_LIMIT="1000")
    db = await prepared(use(monkeypatch, env), chats)
    try:
        first = start(env, tmp_path)
        try:
            await until(lambda: sum(invites(fake, chats).values()) >= 1500, "1,500 invites", process=first)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        before_kill = sum(invites(fake, chats).values())
        assert before_kill < len(chats), "the kill came mid-send"
        second = start(env | {"CHORUS_PORT": str(free_port())}, tmp_path)
        try:
            await until(lambda: set(invites(fake, chats)) == set(chats), "every invite", process=second)
            for _ in range(100):
                if not await unsettled(db):
                    break
                await asyncio.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        assert await unsettled(db) == 0
    finally:
        await db.close()
        await fake.stop()
    counts = invites(fake, chats)
    duplicates = sum(count - 1 for count in counts.values())
    assert set(counts) == set(chats), "no invite is lost"
    assert duplicates <= WINDOW, f"{duplicates} invites went twice; at most {WINDOW} can be in flight"
    with capsys.disabled():
        print(f"\n  SIGKILL after {before_kill} of 5,000 invites: {duplicates} sent twice (bound {WINDOW}), 0 lost")


@pytest.fixture
async def postgres_database() -> AsyncIterator[str]:
    """A database of its own on the test server: `chorus run` processes cannot be given a schema."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CHORUS_TEST_POSTGRES_URL (.ci/run sets it)")
    name = f"chorus_leader_{uuid.uuid4().hex[:10]}"
    admin_engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin_engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        async with admin_engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin_engine.dispose()


async def test_two_processes_on_postgresql_one_leads_and_the_other_takes_over(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeTelegram(overall_rate=10_000, overall_burst=10_000, chat_rate=1000, chat_burst=1000)
    base_url = await fake.start()
    first_wave, second_wave = range(200_000, 200_200), range(300_000, 300_200)

    def webhook(port: str) -> dict[str, str]:
        return {"CHORUS_PUBLIC_URL": f"http://127.0.0.1:{port}", "CHORUS_WEBHOOK_SECRET": "webhook-secret-0123456789"}

    env_a = chorus_env(base_url, postgres_database, TELEGRAM_RATE_LIMIT="200")
    env_a |= webhook(env_a["CHORUS_PORT"])
    env_b = env_a | {"CHORUS_PORT": str(free_port())}
    env_b |= webhook(env_b["CHORUS_PORT"])
    settings = use(monkeypatch, env_a)
    db = await prepared(settings, first_wave)
    # Subscribed for a while, so last Monday's summary is due as soon as a leader ticks.
    await db.write(
        lambda session: subscribe(session, "telegram", str(COMMISSIONER), None, utc_now() - timedelta(days=8))
    )
    a, b = start(env_a, tmp_path), None
    try:
        await until(lambda: leads(env_a), "the first process to lead", process=a)
        b = start(env_b, tmp_path)
        await until(lambda: leads(env_b) is not None, "the second process to serve", process=b)
        await until(lambda: set(invites(fake, first_wave)) == set(first_wave), "the first wave", process=a)
        await until(lambda: summaries(fake) == 1, "the weekly summary", process=a)
        for _ in range(100):  # settled, so the kill below cannot leave it in flight (those may go twice, by design)
            if not await unsettled(db):
                break
            await asyncio.sleep(0.1)
        assert await unsettled(db) == 0
        assert leads(env_b) is False, "one leader at a time"
        a.send_signal(signal.SIGKILL)
        a.wait()
        takeover = await until(lambda: leads(env_b), "the second process to take over", timeout=30, process=b)
        led_since = time.monotonic()
        await residents(db, second_wave)
        opened = await outreach.open_wave(Runtime(settings, db), "tsm", Audience())
        assert opened is not None and opened.invited == len(second_wave), "the first wave is in its cool-off"
        await until(lambda: set(invites(fake, second_wave)) == set(second_wave), "the second wave", process=b)
        await asyncio.sleep(max(1.0, SUMMARY_TICK_SECONDS - (time.monotonic() - led_since)))
    finally:
        for process in (a, b):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        await db.close()
        await fake.stop()
    sent = invites(fake, first_wave) + invites(fake, second_wave)
    assert set(sent.values()) == {1}, "no invite went twice"
    assert summaries(fake) == 1, "the new leader's summary tick found last week's summary already sent"
    with capsys.disabled():
        print(
            f"\n  leader SIGKILLed: the other process led {takeover:.1f}s later; "
            "400 invites and the weekly summary, each sent once"
        )
