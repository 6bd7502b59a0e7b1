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
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

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


@pytest.mark.parametrize(
    ("stop", "repeats_at_most"),
    [
        (signal.SIGKILL, WINDOW),  # a crash: what was claimed and not yet recorded as sent can go again
        (signal.SIGTERM, 0),  # a restart or a deploy: what was on its way lands and is recorded first
    ],
    ids=["SIGKILL", "SIGTERM"],
)
async def test_a_process_stopped_mid_send_loses_no_invite_and_repeats_at_most_what_a_crash_had_in_flight(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stop: signal.Signals,
    repeats_at_most: int,
) -> None:
    """Telegram taking 0.3 s a call, so that at the stop dozens of invites are on their way."""
    fake = FakeTelegram(overall_rate=10_000, overall_burst=10_000, chat_rate=1000, chat_burst=1000, latency=0.3)
    base_url = await fake.start()
    chats = range(100_000, 102_000)
    env = chorus_env(base_url, f"sqlite+aiosqlite:///{tmp_path / 'stop.db'}", TELEGRAM_RATE_LIMIT="300")
    db = await prepared(use(monkeypatch, env), chats)
    try:
        first = start(env, tmp_path)
        try:
            await until(lambda: sum(invites(fake, chats).values()) >= 400, "400 invites", process=first)
        finally:
            first.send_signal(stop)
            stopped = await asyncio.to_thread(first.wait, 30)  # the fake answers its calls meanwhile
        assert stopped == (0 if stop == signal.SIGTERM else -signal.SIGKILL)
        before_stop = sum(invites(fake, chats).values())
        assert before_stop < len(chats), "the stop came mid-send"
        await send_the_rest(env, tmp_path, fake, chats, db)
    finally:
        await db.close()
        await fake.stop()
    counts = invites(fake, chats)
    repeats = sum(count - 1 for count in counts.values())
    assert set(counts) == set(chats), "no invite is lost"
    assert repeats <= repeats_at_most, f"{repeats} invites went twice"
    with capsys.disabled():
        print(f"\n  {stop.name} after {before_stop} of 2,000 invites: {repeats} sent twice (at most {repeats_at_most})")


async def send_the_rest(env: dict[str, str], tmp_path: Path, fake: FakeTelegram, chats: range, db: Database) -> None:
    """A second `chorus run` sends every invite not yet sent, records each outcome, and stops cleanly."""
    second = start(env | {"CHORUS_PORT": str(free_port())}, tmp_path)
    try:
        await until(lambda: set(invites(fake, chats)) == set(chats), "every invite", process=second)
        for _ in range(100):
            if not await unsettled(db):
                break
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0, "the fake answers its calls meanwhile"
    assert await unsettled(db) == 0


@asynccontextmanager
async def database_of_its_own(server: str) -> AsyncIterator[str]:
    """A new database on the server, dropped afterwards: `chorus run` processes cannot be given a schema.

    No pool: a restart of the server (bench/pg_restart.py) ends any connection kept.
    """
    name = f"chorus_process_{uuid.uuid4().hex[:10]}"
    admin_engine = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin_engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        async with admin_engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin_engine.dispose()


@pytest.fixture
async def postgres_database() -> AsyncIterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CHORUS_TEST_POSTGRES_URL (.ci/run sets it)")
    async with database_of_its_own(POSTGRES_URL) as url:
        yield url


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
