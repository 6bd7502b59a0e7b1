"""Analyses free-text answers after they are committed, so analysis never delays a participant's reply.

A background task in `chorus run` drains answers with no result under the
current model version, in batches, and catches up after a restart. The model
version names the sentiment rules and the codebooks' contents, so changing a
codebook re-analyses every stored answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from functools import cache

from analysis.sentiment import MODEL_VERSION, analyse
from analysis.themes import CODEBOOKS, load_codebook, themes_of
from bot.runtime import Runtime
from storage import text_analysis
from storage.text_analysis import PendingText, Result

logger = logging.getLogger(__name__)
BATCH = 500
IDLE_SECONDS = 2.0
MAX_IDLE_SECONDS = 60.0
CODEBOOK_FOR = {"staff": "staff-mutual"}
DEFAULT_CODEBOOK = "council-housing"


@cache
def model_version() -> str:
    """e.g. 'rules-1:3f9c2e1b': the sentiment rules and a digest of the codebooks in use.

    Read once per process, like the codebooks themselves: a changed codebook takes effect on restart.
    """
    digest = hashlib.sha256()
    for name in sorted({DEFAULT_CODEBOOK, *CODEBOOK_FOR.values()}):
        digest.update((CODEBOOKS / f"{name}.yaml").read_bytes())
    return f"{MODEL_VERSION}:{digest.hexdigest()[:8]}"


def analyse_batch(batch: list[PendingText]) -> list[Result]:
    results = []
    for item in batch:
        sentiment = analyse(item.text, item.question)
        codebook = load_codebook(CODEBOOK_FOR.get(item.audience, DEFAULT_CODEBOOK))
        results.append(
            Result(
                item.response_id, item.question_id, sentiment.label, sentiment.polarity, themes_of(item.text, codebook)
            )
        )
    return results


async def analyse_pending(runtime: Runtime, batch_size: int = BATCH) -> int:
    """Analyse one batch; returns how many answers it stored results for."""
    version = model_version()
    batch = await runtime.db.fetch(lambda session: text_analysis.pending(session, version, batch_size))
    if not batch:
        return 0
    results = await asyncio.to_thread(analyse_batch, batch)
    return await runtime.db.write(lambda session: text_analysis.store(session, results, version))


async def run(runtime: Runtime, idle_seconds: float = IDLE_SECONDS, max_idle_seconds: float = MAX_IDLE_SECONDS) -> None:
    """Drain forever: straight on while there is a backlog; with none, look again after a wait that doubles.

    Each look is a query over every free-text answer: 55-73 ms at a million
    answers with a twentieth of them free text (bench/README.md). Every 2 s
    through a quiet night, that was a steady few percent of a core for nothing;
    the wait now grows to a minute, and a new answer is analysed within it.
    """
    idle = idle_seconds
    while True:
        try:
            done = await analyse_pending(runtime)
        except Exception:
            logger.exception("analysing answers failed; trying again shortly")
            done = 0
        if done:
            logger.info("analysed %s answers", done)
            idle = idle_seconds
        else:
            await asyncio.sleep(idle)
            idle = min(idle * 2, max_idle_seconds)
