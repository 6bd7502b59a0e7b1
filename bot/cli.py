"""The `chorus` command: parse the arguments, call one library function, print its result.

Domain errors become one line on stderr and exit status 2; a person never sees a traceback.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from analysis.errors import AnalysisError
from bot import admin
from bot.config import EMAIL, Settings, load_settings
from bot.errors import ChorusError, ConfigError
from bot.event_loop import loop_factory
from bot.preview import preview
from bot.private_file import private_file
from bot.service import serve
from bot.summary import build_summary, to_html, to_json, to_markdown
from storage.errors import StorageError
from storage.organisations import Kind
from storage.waves import Audience
from surveys.document import to_yaml
from surveys.errors import SurveyError, SurveyInvalid
from surveys.loader import check_survey, load_survey

YOUNG_GC_THRESHOLD = 50_000
# How soon the busy event loop's thread hands the GIL to the SQLite writer's when it asks. After a group
# commit's disk write the writer waited for the GIL up to Python's default 5 ms, every resident in the batch
# with it: a commit that takes 1.1 ms alone took 4-5.6 ms under load (bench/README.md, fifteenth round).
THREAD_SWITCH_SECONDS = 0.0005


@contextmanager
def _reported() -> Iterator[None]:
    """Turn Chorus's own errors into their message and exit status 2."""
    try:
        yield
    except (ChorusError, SurveyError, StorageError, AnalysisError) as error:
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
        for chatty in ("httpx", "apscheduler"):  # a line per request or per minute tick says nothing
            logging.getLogger(chatty).setLevel(logging.WARNING)
        for quoting in ("telegram", "aiosqlite"):  # at DEBUG they quote every call and statement, people's words too
            logging.getLogger(quoting).setLevel(max(logging.INFO, logging.getLogger().level))
        _freeze_imports()
        sys.setswitchinterval(THREAD_SWITCH_SECONDS)
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(serve(settings))


def _freeze_imports() -> None:
    """Leave what importing built (the modules, NLTK, scikit-learn) out of the service's garbage collections,
    and collect the young generation every YOUNG_GC_THRESHOLD allocations rather than every 700.

    Those objects live as long as the process; each full collection walked them
    all (about 130 ms here) while every reply waiting at that moment waited too:
    bench/ingest.py's p99 went from 44-146 ms to 18 ms at 50 answers/s. Answering
    allocates fast and frees nearly all of it by reference counting, yet the
    collector still ran hundreds of times a second: 3.2% of the service's CPU
    under load (perf, bench/README.md), under 0.1% with this threshold, at the
    same peak memory.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


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


@survey.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def import_command(files: tuple[Path, ...]) -> None:
    """Store surveys in the database; a changed file becomes a new version, an unchanged one is left alone."""
    with _reported():
        for imported in asyncio.run(admin.import_surveys(load_settings(), list(files))):
            done = "imported as" if imported.created else "already stored as"
            click.echo(f"{imported.slug}: {done} version {imported.number} ({imported.version})")
            for note in imported.unplaced:
                click.echo(f"{imported.slug}: {note}", err=True)


@survey.command(name="list")
def list_command() -> None:
    """Show the surveys in the database with their versions and response counts."""
    with _reported():
        listings = asyncio.run(admin.list_surveys(load_settings()))
        if not listings:
            click.echo("No surveys yet: add one with `chorus survey import FILE`.")
        for listing in listings:
            click.echo(f"{listing.slug}  {listing.title}")
            for version in listing.versions:
                held = f", {version.held} anonymous held for release" if version.held else ""
                click.echo(
                    f"  version {version.number}  {version.version}  {version.created_at:%Y-%m-%d}  "
                    f"{version.responses} responses, {version.completed} completed{held}"
                )


@survey.command(name="link")
@click.argument("survey_id")
@click.option("--area", help="The area (slug) whose leaflets carry the link: residents who open it are recorded there.")
@click.option(
    "--service", help="The service (slug) whose desks and letters carry the link: those who open it are its users."
)
@click.option(
    "--qr",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the link as a QR code for print, to FILE.png or FILE.svg.",
)
def link_command(survey_id: str, area: str | None, service: str | None, qr: Path | None) -> None:
    """Print the Telegram link for a leaflet or QR code, checked: the survey is imported, the area or service known."""
    with _reported():
        if area and service:
            raise click.UsageError("a link records an area or a service, not both: print one link for each")
        if qr is not None:
            from bot.qr_code import kind_of, write_qr_code  # imported when asked for, so the service never loads it

            kind_of(qr)
        kind: Kind | None = "area" if area else "service" if service else None
        link = asyncio.run(admin.survey_link(load_settings(), survey_id, kind, area or service))
        whole = link.startswith("https://")
        if qr is not None and not whole:
            raise ConfigError("TELEGRAM_BOT_TOKEN: needed for a QR code, which must hold the bot's whole link")
        click.echo(link if whole else f"https://t.me/YOUR_BOT?start={link}")
        if not whole:
            click.echo("(YOUR_BOT is the bot's username: set TELEGRAM_BOT_TOKEN to have it filled in)", err=True)
        if qr is not None:
            write_qr_code(link, qr)
            click.echo(f"Wrote the QR code to {qr}.")


@cli.group()
def db() -> None:
    """Look after the database."""


@db.command()
def upgrade() -> None:
    """Apply schema migrations (needed on PostgreSQL; `chorus run` does it for the embedded SQLite file)."""
    with _reported():
        revisions = asyncio.run(admin.upgrade_database(load_settings()))
        click.echo(f"The database schema is at revision {', '.join(sorted(revisions))}.")


@db.command(name="backup")
@click.argument("destination", type=click.Path(path_type=Path, dir_okay=False))
def backup_command(destination: Path) -> None:
    """Copy the SQLite database to DESTINATION, safely while Chorus runs (for PostgreSQL, use pg_dump)."""
    with _reported():
        made = admin.backup_database(load_settings().database_url, destination)
        click.echo(
            f"Backed up {made.source} to {destination} ({made.size / 1e6:.1f} MB). It holds personal data: keep it "
            "as safe as the database, and keep CHORUS_SECRET_KEY with it, without which nobody's answers in it "
            "can be found for export or erasure."
        )


@db.command(name="restore")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
def restore_command(source: Path) -> None:
    """Put the backup SOURCE in place of the SQLite database; stop `chorus run` first (for PostgreSQL, use pg_restore)."""
    with _reported():
        restored = admin.restore_database(load_settings().database_url, source, datetime.now(UTC))
        kept = f" The database it replaced is kept at {restored.kept}." if restored.kept else ""
        click.echo(
            f"Restored {restored.database} from {source} (schema revision {', '.join(sorted(restored.revisions))})."
            f"{kept} Start chorus run again: it upgrades the schema of an older backup as it starts. The backup "
            "must have been made with this CHORUS_SECRET_KEY, or nobody's answers in it can be found for export "
            "or erasure."
        )


@db.command(name="purge")
def purge_command() -> None:
    """Erase or de-identify data older than CHORUS_RETENTION_DAYS now (`chorus run` also does it daily)."""
    with _reported():
        result = asyncio.run(admin.purge_database(load_settings()))
        click.echo(
            f"Forgot {result.contacts_forgotten} contacts, de-identified {result.responses_deidentified} responses, "
            f"unlinked {result.invitations_unlinked} invitations, deleted {result.drafts_deleted} drafts, "
            f"{result.messages_deleted} messages and {result.receipts_deleted} receipts."
        )


@cli.group()
def contact() -> None:
    """Privacy requests from a resident or member of staff."""


@contact.command()
@click.argument("contact_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget(contact_id: int, yes: bool) -> None:
    """Erase a contact and everything that identifies them (their right to erasure)."""
    with _reported():
        if not yes:
            click.confirm(f"Erase contact {contact_id} and their answers? This cannot be undone", abort=True)
        result = asyncio.run(admin.forget_contact(load_settings(), contact_id))
        click.echo(
            f"Contact {contact_id} erased: {result.responses_deleted} responses deleted, "
            f"{result.responses_anonymised} kept anonymised, {result.invitations_unlinked} invitations unlinked, "
            f"{result.messages_deleted} messages deleted."
        )


@contact.command()
@click.argument("contact_id", type=int)
@click.option("--output", type=click.Path(path_type=Path), help="Write to this file instead of the screen.")
def export(contact_id: int, output: Path | None) -> None:
    """Write everything held about a contact as JSON (a subject access request)."""
    with _reported():
        data = json.dumps(asyncio.run(admin.export_contact(load_settings(), contact_id)), indent=2, ensure_ascii=False)
        if output is None:
            click.echo(data)
        else:
            with private_file(output) as partial:
                partial.write_text(data + "\n", encoding="utf-8")
            click.echo(f"Wrote everything held about contact {contact_id} to {output}.")


@cli.group(name="staff")
def staff_group() -> None:
    """Staff of mutuals: join links for anonymous staff surveys."""


@staff_group.command()
@click.option("--org", "organisation", required=True, help="The organisation's slug, as in its surveys.")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 1000), help="How many one-time links.")
def invite(organisation: str, count: int) -> None:
    """Print one-time links that let staff join their organisation in the bot; each works once."""
    with _reported():
        for line in asyncio.run(admin.invite_staff(load_settings(), organisation, count)):
            click.echo(line)


@cli.group(name="org")
def org_group() -> None:
    """Organisations that run surveys, by the names residents read, and the areas and services their links name."""


@org_group.command(name="add")
@click.argument("slug")
@click.option("--name", required=True, help='What residents read: "This survey is run by NAME."')
def org_add(slug: str, name: str) -> None:
    """Add an organisation, or rename one (such as one a survey's `organisation:` created under its slug)."""
    with _reported():
        created = asyncio.run(admin.name_organisation(load_settings(), slug, name))
        click.echo(f"Organisation {slug} {'added' if created else 'renamed'}: {name.strip()}.")


@org_group.command(name="area")
@click.argument("organisation")
@click.argument("slug")
@click.option("--name", required=True, help="The area's name, as officers and commissioners read it.")
def org_area(organisation: str, slug: str, name: str) -> None:
    """Add an area to an organisation, or rename it: a leaflet's link `?start=SURVEY-SLUG` then records it."""
    _add_place("area", organisation, slug, name)


@org_group.command(name="service")
@click.argument("organisation")
@click.argument("slug")
@click.option("--name", required=True, help="The service's name, as officers and commissioners read it.")
def org_service(organisation: str, slug: str, name: str) -> None:
    """Add a service to an organisation, or rename it: a link `?start=SURVEY-SLUG` handed out there records it."""
    _add_place("service", organisation, slug, name)


def _add_place(kind: Kind, organisation: str, slug: str, name: str) -> None:
    with _reported():
        created = asyncio.run(admin.add_place(load_settings(), kind, organisation, slug, name))
        click.echo(
            f"{kind.capitalize()} {slug} of {organisation} {'added' if created else 'renamed'}: {name.strip()}. "
            f"Links such as ?start=SURVEY-{slug} record it."
        )


@org_group.command(name="list")
def org_list() -> None:
    """Show every organisation, its areas and services, how many contacts each has, and the staff who joined."""
    with _reported():
        found = asyncio.run(admin.list_organisations(load_settings()))
        if not found:
            click.echo('No organisations yet: add one with `chorus org add SLUG --name "NAME"`.')
        for organisation in found:
            joined = f"  ({organisation.staff} staff joined)" if organisation.staff else ""
            click.echo(f"{organisation.slug}  {organisation.name}{joined}")
            for area in organisation.areas:
                click.echo(f"  {area.slug}  {area.name}  ({area.contacts} contacts)")
            for service in organisation.services:
                click.echo(f"  {service.slug}  {service.name}  (service, {service.contacts} contacts)")


# Why a wave invited nobody: it invites only those who can be reached and have said they may be.
NOBODY_INVITED = {
    "resident": (
        "Nobody was invited: a wave invites residents who agreed to a survey's consent notice, in its areas, "
        "services and organisations, and who were not invited to this survey in the last "
        "CHORUS_INVITE_COOL_OFF_DAYS days."
    ),
    "staff": (
        "Nobody was invited: a wave invites staff who have joined with a code (`chorus staff invite --org SLUG`), "
        "in its organisations, and who were not invited to this survey in the last CHORUS_INVITE_COOL_OFF_DAYS days."
    ),
}


@cli.group()
def wave() -> None:
    """Waves of a survey: who is invited, reminded, and how far the sending has got."""


@wave.command(name="open")
@click.argument("survey_id")
@click.option("--area", "areas", multiple=True, help="Residents of this area (slug); repeat for several.")
@click.option("--service", "services", multiple=True, help="Residents who use this service (slug); repeatable.")
@click.option("--org", "organisations", multiple=True, help="Contacts of this organisation (slug); repeatable.")
@click.option("--role", type=click.Choice(["resident", "staff"]), default="resident", show_default=True)
@click.option("--name", help="What to call the wave, e.g. 'December pulse' (default: the survey and the date).")
@click.option("--follow", is_flag=True, help="Show a progress bar until every invite has gone (`chorus run` sends).")
def wave_open(
    survey_id: str,
    areas: tuple[str, ...],
    services: tuple[str, ...],
    organisations: tuple[str, ...],
    role: str,
    name: str | None,
    follow: bool,
) -> None:
    """Open a wave of a survey now: invite everyone in the audience who agreed and has not opted out."""
    with _reported():
        settings = load_settings()
        audience = Audience(role, areas, services, organisations)
        opened = asyncio.run(admin.open_wave(settings, survey_id, audience, name))
        when = "" if opened.not_before <= datetime.now(UTC) else f" from {opened.not_before:%Y-%m-%d %H:%M} UTC"
        invites = "1 invite" if opened.invited == 1 else f"{opened.invited} invites"
        click.echo(f"Wave {opened.wave_id} of {survey_id} opened: {invites} queued to go{when}.")
        if not opened.invited:
            click.echo(NOBODY_INVITED[role], err=True)
        if follow and opened.invited:
            _follow(settings, opened.wave_id, opened.invited)


def _follow(settings: Settings, wave_id: int, total: int) -> None:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("Sending invites", total=total)

        def show(counts: dict[str, int]) -> bool:
            done = total - counts.get("queued", 0) - counts.get("sending", 0)
            failed, cancelled = counts.get("failed", 0), counts.get("cancelled", 0)
            bar.update(task, completed=done, description=f"Sending invites ({failed} failed, {cancelled} cancelled)")
            return done < total

        asyncio.run(admin.follow_wave(settings, wave_id, show))


@wave.command(name="list")
def wave_list() -> None:
    """Show every wave: when it opened, whether it has closed, and how many were invited, started and finished."""
    with _reported():
        listings = asyncio.run(admin.list_waves(load_settings()))
        if not listings:
            click.echo("No waves yet: open one with `chorus wave open SURVEY`.")
        for w in listings:
            state = f"closed {w.closed_at:%Y-%m-%d}" if w.closed_at else "open"
            click.echo(
                f"{w.id}  {w.survey}  {w.name}  opened {w.opened_at:%Y-%m-%d}, {state}: {w.invited} invited, "
                f"{w.started} started, {w.completed} completed, {w.reminded} reminded"
            )


@wave.command(name="close")
@click.argument("wave_id", type=int)
def wave_close(wave_id: int) -> None:
    """Close a wave: what it has not sent yet is cancelled, no more reminders go, and its invite buttons say it has closed."""
    with _reported():
        cancelled = asyncio.run(admin.close_wave(load_settings(), wave_id))
        if cancelled:
            unsent = "1 message" if cancelled == 1 else f"{cancelled:,} messages"
            click.echo(
                f"Wave {wave_id} closed: {unsent} not yet sent cancelled; no more reminders will be sent for it."
            )
        else:
            click.echo(f"Wave {wave_id} closed: no more reminders will be sent for it.")


@cli.group()
def outbox() -> None:
    """Messages waiting to go out, and how fast they are going."""


@outbox.command(name="status")
def outbox_status() -> None:
    """Show how many messages are queued, being sent, sent and failed, and the send rate over the last minute."""
    with _reported():
        status = asyncio.run(admin.outbox_status(load_settings()))
        counts = status.counts
        click.echo(
            f"queued {counts['queued']}, sending {counts['sending']}, sent {counts['sent']}, "
            f"failed {counts['failed']}, cancelled {counts['cancelled']}"
        )
        click.echo(f"sending at {status.rate:.1f} messages/s over the last minute")
        if status.oldest_queued is not None:
            click.echo(f"oldest queued message: {status.oldest_queued:%Y-%m-%d %H:%M} UTC")


@cli.group()
def subscribers() -> None:
    """Who gets the weekly summary (CHORUS_SUMMARY_SCHEDULE), by email or in Telegram."""


@subscribers.command(name="add")
@click.option("--email", help="Send the summary to this email address (needs CHORUS_SMTP_HOST).")
@click.option("--telegram", "chat", type=int, help="Send it to this Telegram chat id (needs TELEGRAM_BOT_TOKEN).")
@click.option("--survey", help="Only this survey's summary (its id, e.g. tsm); default: every survey.")
def subscribers_add(email: str | None, chat: int | None, survey: str | None) -> None:
    """Add someone to the weekly summary: exactly one of --email or --telegram."""
    with _reported():
        if (email is None) == (chat is None):
            raise click.UsageError("give exactly one of --email ADDRESS or --telegram CHAT_ID")
        if email is not None and not EMAIL.fullmatch(email):
            raise click.BadParameter(f"'{email}' is not an email address", param_hint="--email")
        settings = load_settings()
        channel, address = ("email", email) if email is not None else ("telegram", str(chat))
        added = asyncio.run(admin.subscribe(settings, channel, address, survey))
        click.echo(f"Subscriber {added.id}: {address} ({channel}) gets {_scope(added.survey)} every week.")
        if channel == "email" and not settings.smtp_host:
            click.echo("Note: CHORUS_SMTP_HOST is not set, so no email can go until it is.", err=True)
        if channel == "telegram" and settings.telegram_bot_token is None:
            click.echo("Note: TELEGRAM_BOT_TOKEN is not set, so nothing can go to Telegram until it is.", err=True)


@subscribers.command(name="list")
def subscribers_list() -> None:
    """Show every subscriber of the weekly summary."""
    with _reported():
        found = asyncio.run(admin.list_subscribers(load_settings()))
        if not found:
            click.echo("No subscribers yet: add one with `chorus subscribers add --email ADDRESS`.")
        for s in found:
            click.echo(f"{s.id}  {s.channel}  {s.address}  {_scope(s.survey)}")


@subscribers.command(name="remove")
@click.argument("subscriber_id", type=int)
def subscribers_remove(subscriber_id: int) -> None:
    """Stop sending the weekly summary to one subscriber, from the next one on."""
    with _reported():
        asyncio.run(admin.unsubscribe(load_settings(), subscriber_id))
        click.echo(f"Subscriber {subscriber_id} removed: no more weekly summaries go to them.")


def _scope(survey: str | None) -> str:
    return f"the summary of {survey}" if survey else "the summary of every survey"


# Learnt models need scikit-learn (about 80 MB): the two commands that use them
# import bot.analyse_csv when they run, so the service (`chorus run`) never loads it.
MODELS = click.option(
    "--models-dir",
    type=click.Path(path_type=Path),
    default="models",
    show_default=True,
    envvar="CHORUS_MODELS_DIR",
    help="Where learnt theme models are kept.",
)


@cli.command(name="analyse")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--text-column", required=True, help="The column holding the free text.")
@click.option("--question-column", help="The column holding the question each text answered.")
@click.option(
    "--codebook", default="council-housing", show_default=True, help="A codebook (built-in or YAML) or a learnt model."
)
@click.option("--output", required=True, type=click.Path(path_type=Path), help="The CSV file to write.")
@MODELS
def analyse_command(
    source: Path, text_column: str, question_column: str | None, codebook: str, output: Path, models_dir: Path
) -> None:
    """Add sentiment, polarity and themes to every row of a CSV file."""
    from bot.analyse_csv import analyse_csv, analyser, count_rows  # imported when run: see MODELS

    with _reported():
        run = analyser(codebook, models_dir)
        total = count_rows(source) if source.is_file() else 0
        with Progress(transient=True) as bar:
            task = bar.add_task("Analysing", total=total)
            written = analyse_csv(source, output, text_column, question_column, run, lambda n: bar.advance(task, n))
        click.echo(f"Wrote {written} rows to {output}.")


@cli.group(name="themes")
def themes_group() -> None:
    """Themes learnt from an analyst's coding."""


@themes_group.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--text-column", required=True, help="The column holding the free text.")
@click.option("--themes-column", required=True, help="The column holding the coded themes, separated by ;.")
@click.option("--name", required=True, help="The name to use it by: chorus analyse --codebook NAME.")
@click.option("--question-column", help="The column holding the question each text answered.")
@click.option("--sentiment-column", help="The column holding coded sentiment (positive, neutral or negative).")
@click.option("--codebook", help="A codebook whose rule-based themes the learnt ones add to.")
@MODELS
def learn(
    source: Path,
    text_column: str,
    themes_column: str,
    name: str,
    question_column: str | None,
    sentiment_column: str | None,
    codebook: str | None,
    models_dir: Path,
) -> None:
    """Learn themes (and sentiment) from coded answers; prints each theme's cross-validated precision, recall and F1."""
    from bot.analyse_csv import learn_from_csv  # imported when run: see MODELS

    with _reported():
        with Progress(transient=True) as bar:
            bar.add_task("Learning (5-fold cross-validation)", total=None)
            stored = learn_from_csv(
                source, text_column, themes_column, name, models_dir, codebook, question_column, sentiment_column
            )
        click.echo(f"Learnt '{name}' from {stored.source}. Cross-validated, per theme:")
        click.echo(f"  {'theme':<32} {'precision':>9} {'recall':>7} {'F1':>6} {'coded':>6}")
        for score in stored.themes.scores:
            click.echo(
                f"  {score.theme:<32} {score.precision:>9.3f} {score.recall:>7.3f} {score.f1:>6.3f} {score.support:>6}"
            )
        if stored.sentiment is not None:
            accuracy, macro = stored.sentiment.accuracy, stored.sentiment.macro_f1
            click.echo(f"Sentiment, cross-validated: accuracy {accuracy:.3f}, macro-F1 {macro:.3f}.")


@cli.command(name="summary")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day, e.g. 2026-11-23.")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, e.g. 2026-11-29.")
@click.option("--survey", help="Only this survey (its id, e.g. tsm).")
@click.option("--format", "form", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
def summary_command(start: datetime, end: datetime, survey: str | None, form: str) -> None:
    """Print what people said in a period: numbers with intervals, themes and quotes, small groups suppressed."""
    with _reported():
        if end < start:
            raise click.BadParameter("--to is before --from")
        result = asyncio.run(build_summary(load_settings(), start.date(), end.date(), survey))
        click.echo({"md": to_markdown, "html": to_html, "json": to_json}[form](result), nl=False)


def main() -> None:
    cli(prog_name="chorus")
