"""The wave and outbox commands as an officer or operator runs them."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from storage.database import Database
from storage.migrate import upgrade
from tests.conftest import SECRET
from tests.test_cli_storage import audit_actions
from tests.test_outreach import populate


@pytest.fixture
def town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database with the residents of tests/test_outreach.py, at any hour (no quiet hours)."""
    path = tmp_path / "cli.db"
    url = f"sqlite+aiosqlite:///{path}"
    for name, value in {
        "CHORUS_SECRET_KEY": SECRET,
        "CHORUS_DATABASE_URL": url,
        "CHORUS_QUIET_HOURS": "0:00-0:00",
    }.items():
        monkeypatch.setenv(name, value)

    async def build() -> None:
        db = Database.open(url)
        try:
            await upgrade(db)
            await populate(db)
        finally:
            await db.close()

    asyncio.run(build())
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_open_list_and_close_a_wave(town: Path) -> None:
    opened = run("wave", "open", "pulse", "--area", "ancoats", "--name", "December pulse")
    assert opened.exit_code == 0, opened.output
    assert opened.output == "Wave 1 of pulse opened: 1 invite queued to go.\n"
    listed = run("wave", "list")
    assert "1  pulse  December pulse  opened " in listed.output
    assert ", open: 1 invited, 0 started, 0 completed, 0 reminded" in listed.output
    closed = run("wave", "close", "1")
    assert closed.output == "Wave 1 closed: 1 message not yet sent cancelled; no more reminders will be sent for it.\n"
    assert run("wave", "close", "1").output == "Wave 1 closed: no more reminders will be sent for it.\n"
    assert "closed " in run("wave", "list").output
    assert audit_actions(f"sqlite+aiosqlite:///{town}")[-3:] == ["wave.open", "wave.close", "wave.close"]


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (
            ["--area", "gorton", "--service", "repairs"],
            "a wave invites residents who agreed to a survey's consent notice",
        ),
        (["--role", "staff", "--org", "ancoats-housing", "--area", "gorton"], "staff who have joined with a code"),
    ],
)
def test_a_wave_that_invites_nobody_says_why_it_might_be(town: Path, args: list[str], why: str) -> None:
    opened = run("wave", "open", "pulse", *args)
    assert opened.exit_code == 0, opened.output
    assert opened.stdout == "Wave 1 of pulse opened: 0 invites queued to go.\n"
    assert opened.stderr.startswith("Nobody was invited: ") and why in opened.stderr


def test_outbox_status_counts_what_is_waiting(town: Path) -> None:
    run("wave", "open", "pulse")
    status = run("outbox", "status")
    assert status.exit_code == 0, status.output
    assert status.output.splitlines()[:2] == [
        "queued 2, sending 0, sent 0, failed 0, cancelled 0",
        "sending at 0.0 messages/s over the last minute",
    ]
    assert "oldest queued message: " in status.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["wave", "open", "pulse", "--area", "moss-side"],
            "cannot open a wave of 'pulse': no area called moss-side "
            "(add it with `chorus org area ORGANISATION SLUG --name NAME`)\n",
        ),
        (["wave", "open", "nope"], "no survey called 'nope': import it with `chorus survey import FILE`\n"),
        (["wave", "close", "99"], "no wave 99; `chorus wave list` shows them\n"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(town: Path, args: list[str], message: str) -> None:
    result = run(*args)
    assert (result.exit_code, result.stderr) == (2, message)
    assert "No waves yet" in run("wave", "list").output


def test_follow_shows_progress_until_every_invite_has_gone(town: Path) -> None:
    def sender() -> None:
        """Stands in for `chorus run`: sends the first invite a moment after they are queued; the second
        person has begun from a leaflet meanwhile, so theirs is cancelled."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sqlite3.connect(town) as connection:
                first = "(SELECT min(id) FROM outbox)"
                if connection.execute(f"UPDATE outbox SET status = 'sent' WHERE id = {first}").rowcount:
                    connection.execute("UPDATE outbox SET status = 'cancelled' WHERE status = 'queued'")
                    return
            time.sleep(0.2)

    thread = threading.Thread(target=sender)
    thread.start()
    result = run("wave", "open", "pulse", "--follow")
    thread.join()
    assert result.exit_code == 0, result.output
    assert "Sending invites (0 failed, 1 cancelled)" in result.output
    assert "2/2" in result.output
