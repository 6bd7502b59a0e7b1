"""How fast residents' answers get through the Telegram webhook path, against a plain PTB baseline.

N simulated participants answer bench/survey.yaml (twenty 5-point questions) by
typing or, with --answer-by buttons, by pressing inline buttons (each press is
answered, the question edited and the next one sent: three Bot API calls),
through a local fake Bot API server that delivers each update by webhook and
times the bot's reply (the next question). Each system runs as its own process:

- chorus:   `chorus run` in webhook mode on SQLite, every answer committed before the reply;
- chorus-postgresql: the same on a fresh database on the --postgres server;
- other:    `chorus run` of another checkout (--other PATH, say a worktree of an
            earlier commit) on SQLite: the same load for both, to compare a change;
- baseline: bench/baseline_bot.py, a ConversationHandler with PicklePersistence;
- floor:    bench/floor_bot.py, the Bot API calls alone through aiohttp, nothing
            stored: what the harness's HTTP costs any bot (--systems chorus baseline floor).

Two phases per system: a closed loop (each participant answers as soon as the
last reply arrives) for answers/s and bot CPU per answer (and the CPU the fake
server and load generator spent, which bounds what any bot can show on two
cores), then an open loop at a fixed offered load for latency from update to
reply (p50, p99). Peak RSS is the bot process's VmHWM.

All the systems run side by side, each with its own fake Bot API, and take the
closed loop in turns: it is cut into --slices (5: four questions each), and
each slice is answered by one system while the others wait. The speed of a
shared machine drifts over seconds; measured one after the other, two systems
could each catch a different spell, and the same code gave ratios from 1.8x to
3.1x in one hour. With --rounds N it all runs N times; each round's ratio is
printed, then their median.

Usage:
    .venv/bin/python bench/ingest.py [--participants 100] [--rate 50] [--systems chorus baseline]
    .venv/bin/python bench/ingest.py --answer-by buttons --rounds 3
    .venv/bin/python bench/ingest.py --in-wave --rounds 3
    .venv/bin/python bench/ingest.py --sent 500000 --rounds 3   # beside months of sent messages
    .venv/bin/python bench/ingest.py --systems chorus-postgresql --postgres postgresql+asyncpg://postgres@127.0.0.1/test
    git worktree add /tmp/before HEAD~1
    .venv/bin/python bench/ingest.py --systems chorus other baseline --other /tmp/before --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import sent_before  # noqa: E402
from bench.turn import invited  # noqa: E402
from bot.event_loop import loop_factory  # noqa: E402
from storage.database import Database  # noqa: E402
from tests.fake_telegram import TOKEN, FakeTelegram  # noqa: E402

QUESTIONS = 20
SCRIPTS = {"baseline": "baseline_bot.py", "floor": "floor_bot.py"}
SECRET = "bench-webhook-secret-0123456789"
TICK = os.sysconf("SC_CLK_TCK")
CHORUS = Path(sys.executable).parent / "chorus"


@dataclass
class Result:
    system: str
    answer_by: str
    answers: int
    answers_per_second: float
    cpu_ms_per_answer: float
    harness_cpu_ms_per_answer: float
    offered_rate: float
    latency_p50_ms: float
    latency_p99_ms: float
    peak_rss_mb: float
    answers_stored: int | None


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_chorus(base_url: str, workdir: Path, database_url: str, code: str | None = None) -> subprocess.Popen[bytes]:
    """`chorus run` of this checkout, or with `code` of the checkout at that path (through PYTHONPATH)."""
    return launch_chorus(prepare_chorus(base_url, workdir, database_url, code), workdir)


def prepare_chorus(base_url: str, workdir: Path, database_url: str, code: str | None = None) -> dict[str, str]:
    """The database migrated and the survey imported, by that checkout's `chorus`; its environment for `chorus run`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHORUS_", "TELEGRAM_", "PYTHONPATH"))}
    if code is not None:
        env["PYTHONPATH"] = code
    env |= {
        "CHORUS_SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "CHORUS_DATABASE_URL": database_url,
        "CHORUS_PORT": str(port),
        "CHORUS_LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": base_url,
        "TELEGRAM_RATE_LIMIT": "10000",
        "TELEGRAM_CHAT_RATE_LIMIT": "10000",  # as the fake here: the load, not the limits, is measured
        "TELEGRAM_CHAT_BURST": "10000",
        "CHORUS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CHORUS_WEBHOOK_SECRET": SECRET,
    }
    for command in (["db", "upgrade"], ["survey", "import", str(ROOT / "bench" / "survey.yaml")]):
        subprocess.run([str(CHORUS), *command], env=env, cwd=workdir, check=True, capture_output=True)
    return env


def launch_chorus(env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(CHORUS), "run"], env=env, cwd=workdir)


def start_script(script: str, base_url: str, workdir: Path, answer_by: str) -> subprocess.Popen[bytes]:
    """The baseline or the floor, each a script in bench/."""
    env = os.environ | {
        "ANSWER_BY": answer_by,
        "TOKEN": TOKEN,
        "BASE_URL": base_url,
        "PORT": str(free_port()),
        "STATE": str(workdir / "state.pickle"),
    }
    return subprocess.Popen([sys.executable, str(ROOT / "bench" / script)], env=env)


async def wait_for_count(fake: FakeTelegram, chat: int, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(fake.to(chat)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"chat {chat} is stuck at {len(fake.to(chat))} messages")
        await asyncio.sleep(0.002)


async def begin(fake: FakeTelegram, chats: list[int], replies: int) -> None:
    async def one(chat: int) -> None:
        await fake.user_sends(chat, "/start bench")
        await wait_for_count(fake, chat, replies)

    for start in range(0, len(chats), 20):
        await asyncio.gather(*(one(chat) for chat in chats[start : start + 20]))


async def answer(fake: FakeTelegram, chat: int, n: int, answer_by: str) -> float:
    """Answer the question last sent to `chat`; the seconds until the bot's next message."""
    reply = fake.next_message(chat)
    if answer_by == "buttons":
        question = fake.to(chat)[-1]
        buttons = [button for row in question["reply_markup"]["inline_keyboard"] for button in row]
        sent = time.perf_counter()
        await fake.press(chat, question["message_id"], buttons[n % 5]["callback_data"])
    else:
        sent = time.perf_counter()
        await fake.user_sends(chat, str(1 + n % 5))
    await asyncio.wait_for(reply, 60)
    return time.perf_counter() - sent


async def closed_loop(fake: FakeTelegram, chats: list[int], answer_by: str, questions: range) -> float:
    """Each participant answers these questions as soon as each reply arrives; the seconds it took."""

    async def participant(chat: int) -> None:
        for n in questions:
            await answer(fake, chat, n, answer_by)

    started = time.perf_counter()
    await asyncio.gather(*(participant(chat) for chat in chats))
    return time.perf_counter() - started


async def open_loop(fake: FakeTelegram, chats: list[int], rate: float, answer_by: str) -> list[float]:
    """Offer `rate` answers a second in all, each participant answering its next question in turn."""
    latencies: list[float] = []
    tasks = []
    interval = 1 / rate
    started = time.perf_counter()
    for n in range(QUESTIONS * len(chats)):
        chat = chats[n % len(chats)]
        delay = started + n * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(answer(fake, chat, n // len(chats), answer_by)))
        tasks[-1].add_done_callback(lambda t: latencies.append(t.result()))
    await asyncio.gather(*tasks)
    return latencies


@dataclass
class Measured:
    """A system's closed-loop totals, summed over its slices."""

    answers: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    harness_cpu: float = 0.0


class Running:
    """One system under test: its own fake Bot API, its process and, for Chorus, its database."""

    def __init__(
        self,
        system: str,
        answer_by: str,
        postgres: str | None,
        other: str | None = None,
        in_wave: bool = False,
        sent: int = 0,
    ) -> None:
        self.system = system
        self.answer_by = answer_by
        self.postgres = postgres
        self.other = other
        self.in_wave = in_wave
        self.sent = sent
        self.fake = FakeTelegram(overall_rate=1e6, overall_burst=1e6, chat_rate=1e6, chat_burst=1e6)
        self.folder = tempfile.TemporaryDirectory()
        self.database: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.measured = Measured()

    async def start(self) -> None:
        base_url = await self.fake.start()
        workdir = Path(self.folder.name)
        if self.system in SCRIPTS:
            self.process = start_script(SCRIPTS[self.system], base_url, workdir, self.answer_by)
        else:
            on_postgres = self.system == "chorus-postgresql"
            if on_postgres and not self.postgres:
                raise SystemExit(
                    "chorus-postgresql needs --postgres URL, e.g. postgresql+asyncpg://postgres@127.0.0.1/test"
                )
            self.database = (
                await fresh_postgres(self.postgres)
                if on_postgres and self.postgres
                else f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
            )
            env = prepare_chorus(base_url, workdir, self.database, self.other if self.system == "other" else None)
            if self.sent:
                await self.on_database(lambda session: sent_before(session, self.sent))
            self.process = launch_chorus(env, workdir)
        while self.fake.webhook is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.system} exited with {self.process.returncode}")
            await asyncio.sleep(0.05)
        if self.system in SCRIPTS:
            self.fake.webhook["secret"] = None

    async def invite(self, chats: list[int]) -> None:
        """With --in-wave, Chorus's participants are invited by a wave before they begin, as most residents are."""
        if self.in_wave:
            await self.on_database(lambda session: invited(session, chats))

    async def on_database(self, work: Callable[[Session], None]) -> None:
        """Write to Chorus's database from the harness (the baseline and the floor have none)."""
        if self.database is None:
            return
        db = Database.open(self.database)
        try:
            await db.write(work)
        finally:
            await db.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def begin(self, chats: list[int]) -> None:
        await begin(self.fake, chats, 1 if self.system in SCRIPTS else 2)  # Chorus introduces the survey, then asks

    async def answer_closed(self, chats: list[int], questions: range) -> None:
        """One slice of the closed loop, added to this system's totals."""
        cpu_before, harness_before = cpu_seconds(self.pid), cpu_seconds(os.getpid())
        self.measured.seconds += await closed_loop(self.fake, chats, self.answer_by, questions)
        self.measured.cpu += cpu_seconds(self.pid) - cpu_before
        self.measured.harness_cpu += cpu_seconds(os.getpid()) - harness_before
        self.measured.answers += len(chats) * len(questions)

    async def latencies(self, chats: list[int], rate: float) -> list[float]:
        await self.begin(chats)
        return sorted(await open_loop(self.fake, chats, rate, self.answer_by))

    async def stop(self) -> int | None:
        """Stop the system; the answers its database holds (None for the baseline and the floor)."""
        try:
            if self.process is not None:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=60)
            await self.fake.stop()
            stored = await count_answers(self.database) if self.database else None
            if self.database and self.postgres and self.database.startswith("postgresql"):
                await drop_postgres(self.postgres, self.database)
            return stored
        finally:
            self.folder.cleanup()


async def run_round(
    systems: list[str],
    participants: int,
    rate: float,
    answer_by: str,
    postgres: str | None,
    slices: int,
    other: str | None = None,
    in_wave: bool = False,
    sent: int = 0,
) -> list[Result]:
    """Every system is started; the closed loop is cut into `slices` and the systems take each slice in turn.

    On a shared machine the speed of the CPU drifts over seconds; a system
    measured in one stretch and the other in the next could each catch a
    different spell. Alternating short slices spreads every spell across all of them.
    """
    running = [Running(system, answer_by, postgres, other, in_wave, sent) for system in systems]
    throughput_chats = list(range(100_000, 100_000 + participants))
    latency_chats = list(range(200_000, 200_000 + int(rate)))
    try:
        for each in running:
            await each.start()
            await each.invite(throughput_chats + latency_chats)
        for each in running:
            await each.begin(throughput_chats)
        size = -(-QUESTIONS // slices)
        for first in range(0, QUESTIONS, size):
            for each in running:
                await each.answer_closed(throughput_chats, range(first, min(first + size, QUESTIONS)))
        latencies = [await each.latencies(latency_chats, rate) for each in running]
        rss = [peak_rss_mb(each.pid) for each in running]
    finally:
        stored = [await each.stop() for each in running]
    return [
        Result(
            system=each.system,
            answer_by=answer_by,
            answers=each.measured.answers,
            answers_per_second=round(each.measured.answers / each.measured.seconds, 1),
            cpu_ms_per_answer=round(each.measured.cpu / each.measured.answers * 1000, 2),
            harness_cpu_ms_per_answer=round(each.measured.harness_cpu / each.measured.answers * 1000, 2),
            offered_rate=rate,
            latency_p50_ms=round(statistics.median(waits) * 1000, 1),
            latency_p99_ms=round(waits[int(len(waits) * 0.99) - 1] * 1000, 1),
            peak_rss_mb=round(peak, 1),
            answers_stored=count,
        )
        for each, waits, peak, count in zip(running, latencies, rss, stored, strict=True)
    ]


async def count_answers(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM answer"))).scalar_one())
    finally:
        await engine.dispose()


async def on_server(server_url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE or DROP DATABASE)."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def fresh_postgres(server_url: str) -> str:
    """A new, empty database on the server for this run; its URL."""
    name = f"chorus_bench_{uuid.uuid4().hex[:10]}"
    await on_server(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_postgres(server_url: str, database_url: str) -> None:
    await on_server(server_url, f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0, help="offered answers per second in the latency phase")
    parser.add_argument(
        "--systems",
        nargs="+",
        default=["chorus", "baseline"],
        choices=["chorus", "chorus-postgresql", "other", "baseline", "floor"],
    )
    parser.add_argument(
        "--answer-by", choices=["typing", "buttons"], default="typing", help="how participants answer each question"
    )
    parser.add_argument("--postgres", help="a PostgreSQL server for chorus-postgresql (a database is made per run)")
    parser.add_argument(
        "--other", help="the checkout whose `chorus run` is the system 'other', to compare with this one"
    )
    parser.add_argument(
        "--in-wave",
        action="store_true",
        help="Chorus's participants answer in a wave that invited them, as most residents do",
    )
    parser.add_argument(
        "--sent",
        type=int,
        default=0,
        help="Chorus's outbox begins with this many messages already sent, as after months of service",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the systems in turn this many times; each round's ratio is reported, then their median",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=5,
        help="cut each round's closed loop into this many slices, which the systems take in turn",
    )
    args = parser.parse_args()
    if "other" in args.systems and not args.other:
        raise SystemExit("the system 'other' needs --other PATH, a checkout of Chorus to compare with")
    ratios: dict[str, list[float]] = {}
    for number in range(1, args.rounds + 1):
        try:
            results = await run_round(
                args.systems,
                args.participants,
                args.rate,
                args.answer_by,
                args.postgres,
                args.slices,
                args.other,
                args.in_wave,
                args.sent,
            )
        except Exception as error:
            error.add_note(f"while running round {number}")
            raise
        for result in results:
            print(json.dumps(asdict(result) | {"round": number}), flush=True)
        baseline = next((r for r in results if r.system == "baseline"), None)
        for result in results:
            if baseline is not None and result is not baseline:
                ratio = result.answers_per_second / baseline.answers_per_second
                ratios.setdefault(result.system, []).append(ratio)
                print(f"round {number}: {result.system} / baseline answers per second: {ratio:.2f}x", flush=True)
    for system, each in ratios.items():
        listed = ", ".join(f"{ratio:.2f}x" for ratio in each)
        print(f"{system} / baseline answers per second: median {statistics.median(each):.2f}x of {listed}")


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=loop_factory()) as runner:  # the harness must not be what bounds a fast bot
        runner.run(main())
