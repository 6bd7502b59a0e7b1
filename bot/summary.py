"""`chorus summary`: a period's summary from the database, as Markdown, HTML or JSON.

Numbers are already suppressed by analysis.summary; rendering only shows what it was given.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import date, timedelta
from html import escape
from typing import Any

from sqlalchemy.orm import Session

from analysis.privacy import Table
from analysis.summary import Summary, SurveySummary, summarise
from bot.admin import prepare_database
from bot.analysis_worker import model_version
from bot.config import Settings
from bot.runtime import open_runtime
from storage import summary_queries

HIDDEN = "fewer than {minimum}"


async def build_summary(settings: Settings, start: date, end: date, survey: str | None = None) -> Summary:
    """The summary of [start, end], compared with the period of the same length before it."""
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        minimum = settings.min_group_size
        return await runtime.db.fetch(lambda session: summary_for(session, start, end, survey, minimum))


def summary_for(session: Session, start: date, end: date, survey: str | None, minimum: int) -> Summary:
    """Gather [start, end], the period of the same length before it and the four weeks before, then summarise."""
    days = timedelta(days=(end - start).days + 1)
    version = model_version()
    current = summary_queries.gather(session, start, end, version, survey)
    previous = summary_queries.gather(session, start - days, start - timedelta(days=1), version, survey)
    actions = summary_queries.actions(session, start, end, survey)
    slugs = [period.slug for period in current]
    samples = summary_queries.text_samples(session, start, end, version, slugs)
    before = summary_queries.text_samples(
        session, start - timedelta(weeks=4), start - timedelta(days=1), version, slugs
    )
    return summarise(start.isoformat(), end.isoformat(), current, previous, minimum, actions, samples, before)


def _number(value: int | None, minimum: int) -> str:
    return HIDDEN.format(minimum=minimum) if value is None else f"{value:,}"


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f}%"


def to_json(summary: Summary) -> str:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(asdict(summary)), indent=2, ensure_ascii=False)


def _table_lines(table: Table, minimum: int) -> list[str]:
    lines = [f"| {label} | {_number(count, minimum)} |" for label, count in table.cells.items()]
    return ["| | people |", "|---|---|", *lines, f"| total | {_number(table.total, minimum)} |"]


def _survey_markdown(survey: SurveySummary, minimum: int) -> list[str]:
    lines = [f"## {survey.title}", ""]
    if survey.suppressed:
        return [*lines, f"Fewer than {minimum} people responded, so nothing is shown for this survey.", ""]
    lines += [f"{survey.responses:,} responses.", ""]
    if survey.tenant_satisfaction:
        lines += [
            "### Tenant Satisfaction Measures",
            "",
            "| measure | satisfied | 95% interval | answers |",
            "|---|---|---|---|",
        ]
        for measure, p in survey.tenant_satisfaction.items():
            lines.append(f"| {measure} | {_percent(p.percent)} | {_percent(p.low)}-{_percent(p.high)} | {p.total:,} |")
        lines.append("")
    for question in survey.questions:
        lines += [f"### {question.label}", ""]
        if question.satisfied is not None and not math.isnan(question.satisfied.percent):
            p = question.satisfied
            moved = ""
            if question.change is not None and not math.isnan(question.change.points):
                verdict = "a real change" if question.change.significant else "within chance"
                moved = f"; {question.change.points:+.0f} points on the previous period ({verdict})"
            lines += [
                f"Satisfied: **{_percent(p.percent)}** (95% interval {_percent(p.low)}-{_percent(p.high)}){moved}.",
                "",
            ]
        if question.net_promoter is not None:
            n = question.net_promoter
            lines += [f"Net promoter score: **{n.score:+.0f}** (95% interval {n.low:+.0f} to {n.high:+.0f}).", ""]
        lines += [*_table_lines(question.distribution, minimum), ""]
    if survey.sentiment is not None:
        lines += ["### How people felt in their own words", "", *_table_lines(survey.sentiment, minimum), ""]
    if survey.themes:
        lines += ["### What people talked about", ""]
        for theme in survey.themes:
            lines.append(
                f"- **{theme.theme}**: {_number(theme.mentions, minimum)} mentions, {_number(theme.negative, minimum)} negative"
            )
            lines += [f"  > {quote}" for quote in theme.quotes]
        lines.append("")
    for wave, rate in survey.response_rates.items():
        if rate is None:
            lines += [f"Wave {wave}: response rate hidden (too few people answered, or too few did not).", ""]
        else:
            shown = f"{_percent(rate.percent)} ({rate.successes:,} of {rate.total:,}; 95% interval {_percent(rate.low)}-{_percent(rate.high)})"
            lines += [f"Wave {wave}: response rate {shown}.", ""]
    if survey.emerging:
        lines += ["### New or growing this period", ""]
        lines += [
            f'- "{e.phrase}": {e.comments:,} comments ({e.share_now:.0%} of comments, was {e.share_before:.0%})'
            for e in survey.emerging
        ]
        lines.append("")
    if survey.uncoded is not None and survey.uncoded:
        phrases = (
            ", ".join(f'"{phrase}" ({n})' for phrase, n in survey.uncoded_phrases)
            or "no phrase said often enough to show"
        )
        lines += [f"{survey.uncoded:,} comments matched no theme; common among them: {phrases}.", ""]
    for name, table in survey.breakdowns.items():
        lines += [f"### By {name}", "", *_table_lines(table, minimum), ""]
    return lines


def to_markdown(summary: Summary) -> str:
    lines = [f"# What people said, {summary.start} to {summary.end}", ""]
    if not summary.surveys:
        lines += ["No completed responses in this period.", ""]
    for survey in summary.surveys:
        lines += _survey_markdown(survey, summary.minimum_group)
    if summary.actions:
        lines += ["## You said, we did", ""]
        lines += [f"- You said: {a['you_said']} We did: {a['we_did']} ({a['status']})" for a in summary.actions]
    return "\n".join(lines).rstrip() + "\n"


def to_html(summary: Summary) -> str:
    """The Markdown's content as a plain, accessible HTML page (no scripts, no external resources)."""
    body: list[str] = []
    rows: list[list[str]] = []

    def close_table() -> None:
        if rows:
            head = "".join(f'<th scope="col">{cell}</th>' for cell in rows[0])
            cells = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows[1:])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
            rows.clear()

    for line in to_markdown(summary).splitlines():
        if line.startswith("|"):
            if "---" not in line:
                rows.append([escape(cell.strip()) for cell in line.strip("|").split("|")])
            continue
        close_table()
        text = escape(line.lstrip("#> -").strip()).replace("**", "")
        if line.startswith("# "):
            body.append(f"<h1>{text}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{text}</h2>")
        elif line.startswith("### "):
            body.append(f"<h3>{text}</h3>")
        elif line.startswith("  > "):
            body.append(f"<blockquote>{text}</blockquote>")
        elif text:
            body.append(f"<p>{text}</p>")
    close_table()
    title = escape(f"What people said, {summary.start} to {summary.end}")
    head = f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body><main>\n'
    return head + "\n".join(body) + "\n</main></body></html>\n"
