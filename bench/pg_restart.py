"""Whether one `chorus run` on PostgreSQL goes on sending a wave when the PostgreSQL server restarts under it.

A restart (an upgrade, a managed failover) ends every connection, the one
holding the lead's advisory lock included: the process loses the lead, stops
its sender, and takes the lead back once the server is up. This opens a TSM
wave of N invites in a database of its own on the local server, starts
`chorus run` against the fake Bot API of the tests, restarts the server with
`pg_ctlcluster` once a few invites have gone, and reports how many residents
were invited, how many twice, and how long the rest took.

It restarts the machine's PostgreSQL: run it as root, with nothing else using
the server. It is not a test for that reason.

Usage:
    .venv/bin/python bench/pg_restart.py [--invites 1000] [--cluster 15/main] [--wait 90]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.test_outreach_processes import chorus_env, database_of_its_own, invites, leads, prepared, start  # noqa: E402
from tests.test_service import free_port  # noqa: E402

SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
FIRST_CHAT = 500_000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invites", type=int, default=1000)
    parser.add_argument("--cluster", default="15/main", help="the server to restart, as pg_lsclusters names it")
    parser.add_argument("--wait", type=float, default=90.0, help="seconds to wait for the rest after the restart")
    parser.add_argument("--processes", type=int, default=1, help="`chorus run` processes on the database; one leads")
    args = parser.parse_args()
    wave = range(FIRST_CHAT, FIRST_CHAT + args.invites)
    version, cluster = args.cluster.split("/")
    fake = FakeTelegram(overall_rate=10_000, overall_burst=10_000, chat_rate=1000, chat_burst=1000)
    base_url = await fake.start()
    try:
        async with database_of_its_own(SERVER) as url:
            env = chorus_env(base_url, url, TELEGRAM_RATE_LIMIT="50")
            os.environ.update({k: v for k, v in env.items() if k.startswith(("CHORUS_", "TELEGRAM_"))})
            db = await prepared(load_settings(None), wave)
            await db.close()
            envs = [env | {"CHORUS_PORT": str(free_port())} for _ in range(args.processes)]
            processes = [start(each, Path(tempfile.mkdtemp())) for each in envs]
            try:
                while sum(invites(fake, wave).values()) < len(wave) // 7:
                    await asyncio.sleep(0.1)
                before = len(invites(fake, wave))
                led_before = [n for n, each in enumerate(envs) if leads(each)]
                subprocess.run(["pg_ctlcluster", version, cluster, "restart"], check=True)
                restarted = time.monotonic()
                while len(invites(fake, wave)) < len(wave) and time.monotonic() - restarted < args.wait:
                    await asyncio.sleep(0.2)
                took = time.monotonic() - restarted
                led_after = [n for n, each in enumerate(envs) if leads(each)]
            finally:
                for process in processes:
                    process.terminate()
                    process.wait(timeout=30)
    finally:
        await fake.stop()
    counts = invites(fake, wave)
    twice = sum(1 for count in counts.values() if count > 1)
    print(
        f"{before} of {len(wave)} invited before the restart; {len(counts)} invited {took:.1f} s after it"
        f"{'' if len(counts) == len(wave) else ' (gave up waiting)'}; {twice} invited twice;"
        f" process {led_before} led before, {led_after} after"
    )


if __name__ == "__main__":
    asyncio.run(main())
