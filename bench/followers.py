"""Two `chorus run` on one PostgreSQL database: webhooks to the follower, replies sent by the leader.

The scale-out path: every process serves webhooks and queues replies, and
only the one holding the lead sends them, woken by a NOTIFY from the process
that queued them (bot/outbox_signal.py). N participants answer
bench/survey.yaml by typing, each as soon as the last reply arrives, through
the fake Bot API of the tests, whose webhook points at the follower. Reported
per run: answers a second, each process's CPU per answer, the answers stored.
With --other PATH, the same runs for the checkout at PATH in turn (say a
worktree of an earlier commit), alternating which goes first.

Usage:
    .venv/bin/python bench/followers.py --postgres postgresql+asyncpg://postgres@127.0.0.1/test [--rounds 3] [--other PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ingest  # noqa: E402


def leads(webhook_url: str) -> bool:
    """Whether the process behind this webhook holds the lead, as its /metrics says."""
    port = re.search(r":(\d+)/", webhook_url)
    assert port is not None, webhook_url
    with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=2) as response:
        return re.search(r"^chorus_leader 1", response.read().decode(), re.MULTILINE) is not None


async def run(code: str | None, postgres: str, participants: int) -> None:
    """One run: two processes of the checkout `code` (None: this one) on a fresh database."""
    fake = ingest.FakeTelegram(overall_rate=1e6, overall_burst=1e6, chat_rate=1e6, chat_burst=1e6)
    base_url = await fake.start()
    database = await ingest.fresh_postgres(postgres)
    folders = [tempfile.TemporaryDirectory() for _ in range(2)]
    processes, urls = [], []
    try:
        for folder in folders:
            before = fake.webhook["url"] if fake.webhook else None
            processes.append(ingest.start_chorus(base_url, Path(folder.name), database, code))
            while fake.webhook is None or fake.webhook["url"] == before:
                await asyncio.sleep(0.05)
            urls.append(fake.webhook["url"])
        roles = [leads(url) for url in urls]
        while sorted(roles) != [False, True]:
            await asyncio.sleep(0.2)
            roles = [leads(url) for url in urls]
        leader = roles.index(True)
        fake.webhook["url"] = urls[1 - leader]
        chats = list(range(100_000, 100_000 + participants))
        await ingest.begin(fake, chats, 2)
        cpu = [ingest.cpu_seconds(process.pid) for process in processes]
        started = time.perf_counter()
        await ingest.closed_loop(fake, chats, "typing", range(ingest.QUESTIONS))
        seconds = time.perf_counter() - started
        used = [ingest.cpu_seconds(process.pid) - at_start for process, at_start in zip(processes, cpu, strict=True)]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=60)
        await fake.stop()
        stored = await ingest.count_answers(database)
        await ingest.drop_postgres(postgres, database)
    answers = participants * ingest.QUESTIONS
    print(
        f"{code or ROOT}: {answers / seconds:.1f} answers/s; CPU per answer: leader "
        f"{used[leader] / answers * 1000:.2f} ms, follower {used[1 - leader] / answers * 1000:.2f} ms; "
        f"{stored} answers stored",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server (a database is made per run)")
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--other", help="another checkout of Chorus to run in turn with this one")
    args = parser.parse_args()
    for number in range(args.rounds):
        codes = [None, args.other] if args.other else [None]
        for code in codes if number % 2 == 0 else reversed(codes):
            await run(code, args.postgres, args.participants)


if __name__ == "__main__":
    asyncio.run(main())
