"""How long the weekly summary takes over 100,000 stored responses (target: at most 2 s).

Fills a fresh SQLite database (migrated as usual) with N completed Tenant
Satisfaction Measures responses in one ISO week: every question answered as the
template asks it, one free-text answer each, its stored analysis, and the running
tallies storage keeps as responses complete. Then times `chorus summary`'s work:
gathering that week, the week before and the four weeks before (for emerging
phrases), and summarising.

Usage:
    .venv/bin/python bench/summary.py [--responses 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.analysis_worker import model_version  # noqa: E402
from bot.summary import summary_for  # noqa: E402
from storage.catalogue import import_survey  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from surveys.loader import load_survey  # noqa: E402
from surveys.templates import TEMPLATES  # noqa: E402
from tests.conftest import NOW  # noqa: E402

SAT = ["very_satisfied", "fairly_satisfied", "neither", "fairly_dissatisfied", "very_dissatisfied"]
COMMENTS = [
    ("The damp in the bedroom is still not fixed", "negative", ["repairs and maintenance", "damp and mould"]),
    ("Repairs are quick and staff are friendly", "positive", ["repairs and maintenance", "staff attitude and respect"]),
    ("Nobody tells us anything about the works", "negative", ["communication and being kept informed"]),
    ("Rent keeps going up", "negative", ["cost of living"]),
]


def populate(path: Path, version_id: int, responses: int) -> None:
    rng = random.Random(1)
    version = model_version()
    tallies: Counter[tuple[str, str]] = Counter()
    with sqlite3.connect(path) as connection:
        for start in range(0, responses, 10_000):
            response_rows, answer_rows, analysis_rows = [], [], []
            for _ in range(min(10_000, responses - start)):
                rid = uuid.uuid4().hex
                response_rows.append((rid, version_id, "telegram", "en", "completed", "2026-W48"))
                answers = {"consent": "agree", "tp01_overall": rng.choice(SAT), "had_repair": rng.choice(["yes", "no"])}
                if answers["had_repair"] == "yes":
                    answers |= {"tp02_repairs": rng.choice(SAT), "tp03_repair_time": rng.choice(SAT)}
                answers |= {
                    q: rng.choice([*SAT, "dont_know"])
                    for q in ("tp04_well_maintained", "tp05_safe", "tp06_listens", "tp07_informed")
                }
                answers |= {
                    "tp08_fair_respect": rng.choice(["strongly_agree", "agree", "neither", "disagree"]),
                    "made_complaint": "no",
                    "has_communal_areas": "no",
                }
                answers |= {"tp11_neighbourhood": rng.choice(SAT), "tp12_antisocial_behaviour": rng.choice(SAT)}
                answer_rows += [(rid, q, json.dumps(v), None) for q, v in answers.items()]
                tallies.update(answers.items())
                text, sentiment, themes = rng.choice(COMMENTS)
                answer_rows.append((rid, "why_overall", json.dumps(text), text))
                analysis_rows.append((rid, "why_overall", version, sentiment, 0.0, json.dumps(themes)))
            connection.executemany(
                "INSERT INTO response (id, survey_version_id, channel, language, status, period) VALUES (?, ?, ?, ?, ?, ?)",
                response_rows,
            )
            connection.executemany(
                "INSERT INTO answer (response_id, question_id, value, text) VALUES (?, ?, ?, ?)", answer_rows
            )
            connection.executemany(
                "INSERT INTO text_analysis (response_id, question_id, model_version, sentiment, polarity, themes) VALUES (?, ?, ?, ?, ?, ?)",
                analysis_rows,
            )
        connection.executemany(
            "INSERT INTO answer_tally (survey_version_id, period, question_id, value, count) VALUES (?, '2026-W48', ?, ?, ?)",
            [(version_id, question, value, count) for (question, value), count in tallies.items()],
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "summary.db"
        db = Database.open(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        version_id = (await db.write(lambda s: import_survey(s, load_survey(TEMPLATES / "tsm.yaml"), NOW))).version_id
        started = time.perf_counter()
        populate(path, version_id, args.responses)
        filled = time.perf_counter() - started
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            summary = await db.fetch(
                lambda session: summary_for(session, date(2026, 11, 23), date(2026, 11, 29), None, minimum=10)
            )
            timings.append(time.perf_counter() - started)
        await db.close()
    print(
        json.dumps(
            {
                "responses": args.responses,
                "fill_seconds": round(filled, 1),
                "summary_seconds_best": round(min(timings), 2),
                "summary_seconds_all": [round(t, 2) for t in timings],
                "responses_in_summary": summary.surveys[0].responses,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
