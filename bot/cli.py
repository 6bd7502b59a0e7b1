"""The `chorus` command: parse the arguments, call one library function, print its result.

Domain errors become one line on stderr and exit status 2; a person never sees a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.config import load_settings
from bot.errors import ChorusError
from bot.preview import preview
from bot.service import serve
from surveys.document import to_yaml
from surveys.errors import SurveyError, SurveyInvalid
from surveys.loader import check_survey, load_survey


@contextmanager
def _reported() -> Iterator[None]:
    """Turn Chorus's own errors into their message and exit status 2."""
    try:
        yield
    except (ChorusError, SurveyError) as error:
        click.echo(str(error), err=True)
        sys.exit(2)


@click.group()
@click.version_option(package_name="chorus")
def cli() -> None:
    """Chorus: co-production surveys for residents and staff of co-operative and mutual public services."""


@cli.command()
def run() -> None:
    """Run the service: the web server on CHORUS_HOST:CHORUS_PORT, until SIGTERM or Ctrl-C."""
    with _reported():
        settings = load_settings()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("httpx").setLevel(logging.WARNING)
        asyncio.run(serve(settings))


@cli.group()
def survey() -> None:
    """Write, check and try out surveys (YAML or XLSForm)."""


@survey.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check survey files: warnings are printed; any error exits with status 2, one error a line."""
    failed = False
    for file in files:
        try:
            loaded = check_survey(file)
        except SurveyInvalid as error:
            failed = True
            for problem in error.problems:
                click.echo(str(problem), err=True)
            continue
        for warning in loaded.warnings:
            click.echo(f"warning: {warning}", err=True)
        steps = loaded.survey.steps
        click.echo(f"{file}: ok, {len(steps)} questions, version {loaded.survey.version}")
    if failed:
        sys.exit(2)


@survey.command(name="preview")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--language", help="Language code to answer in, e.g. pl.")
def preview_command(file: Path, language: str | None) -> None:
    """Take a survey in the terminal through the same engine residents meet."""
    with _reported():
        loaded = load_survey(file)
        preview(loaded, _reader(sys.stdin.readline, sys.stdin.isatty()), click.echo, language)


def _reader(readline: Callable[[], str], interactive: bool) -> Callable[[], str | None]:
    def read() -> str | None:
        if interactive:
            click.echo("> ", nl=False)
        line = readline()
        return line.rstrip("\n") if line else None

    return read


@survey.command()
@click.argument("file", type=click.Path(path_type=Path))
def convert(file: Path) -> None:
    """Print a survey (such as an XLSForm .xlsx) as Chorus YAML."""
    with _reported():
        click.echo(to_yaml(load_survey(file)), nl=False)


def main() -> None:
    cli(prog_name="chorus")
