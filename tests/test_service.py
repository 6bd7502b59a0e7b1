"""`chorus run` as an operator runs it: a real process, a real port, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.event_loop import loop_factory
from bot.leader import service_stopped

CHORUS = Path(sys.executable).parent / "chorus"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHORUS_", "TELEGRAM_"))}
    env.update({"CHORUS_SECRET_KEY": "s" * 40, "CHORUS_PORT": str(port), "CHORUS_HOST": "127.0.0.1", **extra})
    return env


def wait_for_health(port: int, process: subprocess.Popen[str]) -> bytes:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                return bytes(response.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError("chorus run never answered /healthz")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    process = subprocess.Popen(
        [str(CHORUS), "run"],
        cwd=tmp_path,
        env=environment(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process, port
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_run_serves_health_and_stops_cleanly_on_sigterm(server: tuple[subprocess.Popen[str], int]) -> None:
    process, port = server
    assert wait_for_health(port, process) == b'{"status": "ok"}'
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert f"Chorus is serving on http://127.0.0.1:{port}" in stderr
    assert "Stopping" in stderr
    assert "Traceback" not in stderr


def test_a_missing_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = environment(free_port())
    del env["CHORUS_SECRET_KEY"]
    result = subprocess.run([str(CHORUS), "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["CHORUS_SECRET_KEY: is required but not set (in the environment or .env)"]


def test_a_taken_port_is_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(CHORUS), "run"], cwd=tmp_path, env=environment(port), capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"CHORUS_PORT: cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize("host", ["999.1.1.1", "192.0.2.1"], ids=["no such name", "an address not on this machine"])
def test_a_host_it_cannot_listen_on_is_one_line_naming_it(tmp_path: Path, host: str) -> None:
    env = environment(free_port(), CHORUS_HOST=host)
    result = subprocess.run([str(CHORUS), "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"CHORUS_HOST: cannot listen on {host}:")


def test_run_started_while_a_restore_runs_stops_at_once_and_writes_nothing(tmp_path: Path) -> None:
    """It says so in one line and stops, and its supervisor starts it again later; a follower serving webhooks
    meanwhile would write answers into the file the restore is replacing."""
    with service_stopped(tmp_path / "chorus.db"):
        result = subprocess.run(
            [str(CHORUS), "run"], cwd=tmp_path, env=environment(free_port()), capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["chorus db restore is replacing chorus.db; start again when it has finished"]
    assert not (tmp_path / "chorus.db").exists()


def test_run_upgrades_the_embedded_database_and_refuses_a_newer_one(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(CHORUS), "run"],
        cwd=tmp_path,
        env=environment(port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_health(port, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    with sqlite3.connect(tmp_path / "chorus.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"contact", "response", "answer", "outbox"} <= tables
        connection.execute("UPDATE alembic_version SET version_num = '9999_newer'")
    result = subprocess.run(
        [str(CHORUS), "run"], cwd=tmp_path, env=environment(free_port()), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("CHORUS_DATABASE_URL: the database schema (9999_newer) is newer")


async def test_the_tests_run_on_the_event_loop_the_service_serves_on() -> None:
    factory = loop_factory()
    assert factory is not None, "uvloop installs on every platform CI runs on"
    served_on = factory()
    try:
        assert type(asyncio.get_running_loop()) is type(served_on)
    finally:
        served_on.close()
