"""How close the outbox sender gets to Telegram's sending limit on a large wave, and whether anything repeats or is lost.

For each limit L: a fresh SQLite database with N consented residents and one
TSM wave opened for them (N invites queued), then `chorus run` with
TELEGRAM_RATE_LIMIT=L sends them to the fake Bot API of the tests, which
enforces L messages/s overall (a token bucket with one fifth of a second's
burst) and answers 429 with retry_after beyond it. Reported per limit:

- achieved rate: invites / (last arrival - first arrival), and as a fraction of L;
- 429s the fake answered; duplicates (chats that got more than one invite); losses (chats that got none);
- the sender process's CPU per invite;
- with --answering R (5 by default): R of the first residents invited start the
  survey from their invite as it arrives and answer its first questions by
  pressing buttons, a second after each message (Telegram lets a bot send a
  person about one message a second), while the rest of the wave goes out: how
  long each of them waited for the bot's next message, p50 and the longest.

Usage:
    .venv/bin/python bench/broadcast.py [--invites 10000] [--limits 30 300] [--answering 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.test_outreach_processes import chorus_env, prepared, start  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    limit: float
    invites: int
    seconds: float
    rate: float
    fraction_of_limit: float
    too_many_requests: int
    duplicates: int
    lost: int
    cpu_ms_per_invite: float
    answering: int
    reply_wait_p50_ms: float | None
    reply_wait_max_ms: float | None


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


INVITE = "would like to hear from you"
PRESSES = 6  # "Start the survey", the consent, then the first four questions


def invited(fake: FakeTelegram) -> Counter[int]:
    """How many invitations each chat got: the residents who answer get other messages too."""
    return Counter(m["chat_id"] for m in fake.sent if m["method"] == "send" and INVITE in m["text"])


async def answer_during_the_wave(fake: FakeTelegram, chat: int) -> list[float]:
    """Start the survey from the invite and press the first button of each message that has any; each wait for a reply."""
    await fake.wait_for(chat, 1, timeout=600)
    waits = []
    for _ in range(PRESSES):
        await asyncio.sleep(1)
        question = next(m for m in reversed(fake.to(chat)) if m.get("reply_markup"))
        data = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        reply = fake.next_message(chat)
        pressed = time.perf_counter()
        await fake.press(chat, question["message_id"], data)
        await asyncio.wait_for(reply, 600)
        waits.append(time.perf_counter() - pressed)
        while not fake.to(chat)[-1].get("reply_markup"):
            await asyncio.sleep(0.01)  # the rest of the reply (an introduction comes before the question)
    return waits


async def broadcast(limit: float, count: int, answering: int) -> Result:
    fake = FakeTelegram(overall_rate=limit, overall_burst=max(1.0, limit / 5), chat_rate=1, chat_burst=3)
    base_url = await fake.start()
    chats = range(1_000_000, 1_000_000 + count)
    with tempfile.TemporaryDirectory() as folder:
        env = chorus_env(base_url, f"sqlite+aiosqlite:///{folder}/broadcast.db", TELEGRAM_RATE_LIMIT=str(limit))
        os.environ.update({k: v for k, v in env.items() if k.startswith(("CHORUS_", "TELEGRAM_"))})
        db = await prepared(load_settings(None), chats)
        await db.close()
        process = start(env, Path(folder))
        residents = asyncio.gather(*(answer_during_the_wave(fake, chat) for chat in chats[:answering]))
        try:
            deadline = time.monotonic() + count / limit * 3 + 60
            while len(invited(fake)) < count and time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()[1].decode()[-2000:]
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # anything sent twice would arrive now
            cpu = cpu_seconds(process.pid)
            waits = sorted(wait for each in await residents for wait in each)
        finally:
            residents.cancel()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            await fake.stop()
    arrivals = sorted(m["at"] for m in fake.sent if m["method"] == "send" and INVITE in m["text"])
    counts = invited(fake)
    seconds = arrivals[-1] - arrivals[0]
    rate = (len(arrivals) - 1) / seconds
    return Result(
        limit=limit,
        invites=len(arrivals),
        seconds=round(seconds, 2),
        rate=round(rate, 2),
        fraction_of_limit=round(rate / limit, 4),
        too_many_requests=fake.too_many_requests,
        duplicates=sum(n - 1 for n in counts.values()),
        lost=count - len(counts),
        cpu_ms_per_invite=round(cpu / len(arrivals) * 1000, 2),
        answering=answering,
        reply_wait_p50_ms=round(statistics.median(waits) * 1000, 1) if waits else None,
        reply_wait_max_ms=round(waits[-1] * 1000, 1) if waits else None,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=10_000)
    parser.add_argument("--limits", type=float, nargs="+", default=[30.0, 300.0])
    parser.add_argument("--answering", type=int, default=5, help="residents who answer while the wave goes out")
    args = parser.parse_args()
    for limit in args.limits:
        result = await broadcast(limit, args.invites, args.answering)
        print(json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
