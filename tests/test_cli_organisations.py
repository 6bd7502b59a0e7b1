"""The organisation commands as an officer runs them: the names residents read, the areas their links record."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import pytest
import zxingcpp
from PIL import Image

from bot.telegram.links import JOIN_PREFIX
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.staff import redeem
from tests.conftest import NOW
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.test_cli_storage import audit_actions, env, run

__all__ = ["env"]  # the fixture, shared with the other database commands' tests

HOMES = """\
id: homes
title: Our homes
organisation: ancoats-housing
questions:
  - {id: happy, type: yes_no, label: "Are you happy with your home?"}
"""


def test_an_organisation_a_survey_named_is_given_a_name_and_an_area(
    env: str, write_yaml: Callable[[str, str], Path]
) -> None:
    assert run("survey", "import", str(write_yaml(HOMES, "homes.yaml"))).exit_code == 0
    assert run("org", "list").output == "ancoats-housing  ancoats-housing\n", (
        "named by its slug until an officer names it"
    )
    renamed = run("org", "add", "ancoats-housing", "--name", " Ancoats Housing Co-operative ")
    assert (renamed.exit_code, renamed.output) == (
        0,
        "Organisation ancoats-housing renamed: Ancoats Housing Co-operative.\n",
    )
    added = run("org", "area", "ancoats-housing", "ancoats", "--name", "Ancoats")
    assert added.exit_code == 0, added.output
    assert (
        added.output
        == "Area ancoats of ancoats-housing added: Ancoats. Links such as ?start=SURVEY-ancoats record it.\n"
    )
    assert run("org", "add", "gorton-mutual", "--name", "Gorton Mutual").output.startswith(
        "Organisation gorton-mutual added"
    )
    assert run("org", "list").output == (
        "ancoats-housing  Ancoats Housing Co-operative\n  ancoats  Ancoats  (0 contacts)\ngorton-mutual  Gorton Mutual\n"
    )
    opened = run("wave", "open", "homes", "--area", "ancoats")
    assert opened.exit_code == 0, "a wave can name the area now"
    assert audit_actions(env)[-4:] == ["organisation.name", "area.name", "organisation.name", "wave.open"]


def test_a_service_is_added_listed_linked_to_and_invited(env: str, write_yaml: Callable[[str, str], Path]) -> None:
    run("survey", "import", str(write_yaml(HOMES, "homes.yaml")))
    added = run("org", "service", "ancoats-housing", "repairs", "--name", "Repairs desk")
    assert (added.exit_code, added.output) == (
        0,
        "Service repairs of ancoats-housing added: Repairs desk. Links such as ?start=SURVEY-repairs record it.\n",
    )
    run("org", "area", "ancoats-housing", "ancoats", "--name", "Ancoats")
    assert run("org", "list").output == (
        "ancoats-housing  ancoats-housing\n  ancoats  Ancoats  (0 contacts)\n"
        "  repairs  Repairs desk  (service, 0 contacts)\n"
    )
    assert run("survey", "link", "homes", "--service", "repairs").stdout == (
        "https://t.me/YOUR_BOT?start=homes-repairs\n"
    )
    opened = run("wave", "open", "homes", "--service", "repairs")
    assert opened.exit_code == 0, "a wave can name the service now"
    assert audit_actions(env)[-3:] == ["service.name", "area.name", "wave.open"]


def test_the_list_says_how_many_staff_have_joined_each_organisation(env: str) -> None:
    """Before opening a staff pulse, an officer sees whether the join codes handed out have been used."""
    run("org", "add", "northern-care", "--name", "Northern Care Mutual")
    [link] = run("staff", "invite", "--org", "northern-care", "--count", "1").output.split()
    code = link.removeprefix(JOIN_PREFIX)

    async def joins() -> None:
        db = Database.open(env)
        try:
            await db.write(
                lambda s: redeem(s, code, get_or_create_contact(s, channel="telegram", address="7", now=NOW), NOW)
            )
        finally:
            await db.close()

    assert run("org", "list").output == "northern-care  Northern Care Mutual\n", "nobody yet"
    asyncio.run(joins())
    assert run("org", "list").output == "northern-care  Northern Care Mutual  (1 staff joined)\n"


MONTHLY = """\
id: monthly
title: Monthly pulse
organisation: ancoats-housing
area: ancoats
service: repairs
schedule: "0 10 1 * *"
questions:
  - {id: happy, type: yes_no, label: "Are you happy with your home?"}
"""


def test_importing_a_scheduled_survey_says_which_of_its_places_are_not_added_yet(
    env: str, write_yaml: Callable[[str, str], Path]
) -> None:
    """Its scheduled waves invite the people recorded there, and cannot open until those places exist."""
    monthly = str(write_yaml(MONTHLY, "monthly.yaml"))
    imported = run("survey", "import", monthly)
    assert imported.exit_code == 0, "stored all the same: the officer may add them next"
    assert imported.stderr == (
        "monthly: its area 'ancoats' is not added yet, so its scheduled waves will not open until it is: "
        "`chorus org area ancoats-housing ancoats --name NAME`\n"
        "monthly: its service 'repairs' is not added yet, so its scheduled waves will not open until it is: "
        "`chorus org service ancoats-housing repairs --name NAME`\n"
    )
    run("org", "area", "ancoats-housing", "ancoats", "--name", "Ancoats")
    run("org", "service", "ancoats-housing", "repairs", "--name", "Repairs desk")
    again = run("survey", "import", monthly)
    assert (again.exit_code, again.stderr) == (0, "")
    assert run("survey", "import", str(write_yaml(MONTHLY.replace("schedule", "#"), "once.yaml"))).stderr == "", (
        "a survey with no schedule names its places for nothing that waits on them"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["org", "service", "ancoats-housing", "ancoats", "--name", "Ancoats office"],
            "ancoats-housing already has an area called 'ancoats', and a link ?start=SURVEY-ancoats must name one "
            "of them: give the service another slug",
        ),
        (
            ["wave", "open", "homes", "--service", "library"],
            "cannot open a wave of 'homes': no service called library "
            "(add it with `chorus org service ORGANISATION SLUG --name NAME`)",
        ),
        (
            ["survey", "link", "homes", "--service", "ancoats"],
            "'ancoats' of ancoats-housing is an area, not a service: use --area",
        ),
        (
            ["survey", "link", "homes", "--service", "library"],
            "no service 'library' of ancoats-housing, so the link would record none: "
            "add it with `chorus org service ancoats-housing library --name NAME`",
        ),
    ],
)
def test_a_service_that_would_not_work_is_refused_in_one_line(
    env: str, write_yaml: Callable[[str, str], Path], args: list[str], message: str
) -> None:
    run("survey", "import", str(write_yaml(HOMES, "homes.yaml")))
    run("org", "area", "ancoats-housing", "ancoats", "--name", "Ancoats")
    result = run(*args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    assert run("org", "list").output == "ancoats-housing  ancoats-housing\n  ancoats  Ancoats  (0 contacts)\n"


def test_a_link_names_an_area_or_a_service_not_both(env: str, write_yaml: Callable[[str, str], Path]) -> None:
    run("survey", "import", str(write_yaml(HOMES, "homes.yaml")))
    result = run("survey", "link", "homes", "--area", "ancoats", "--service", "repairs")
    assert result.exit_code == 2
    assert "a link records an area or a service, not both: print one link for each" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["org", "area", "nope", "ancoats", "--name", "Ancoats"],
            "no organisation 'nope': add it with `chorus org add nope --name NAME`",
        ),
        (
            ["org", "add", "Ancoats Housing", "--name", "A"],
            "'Ancoats Housing' cannot name an organisation: use 1 to 64 lower-case",
        ),
        (
            ["org", "add", "ancoats-housing", "--name", "  "],
            "the name of an organisation must be 1 to 200 characters, not 0",
        ),
        (["staff", "invite", "--org", "nope"], "no organisation 'nope': add it with `chorus org add nope --name NAME`"),
    ],
)
def test_a_name_that_cannot_be_used_is_one_line_and_changes_nothing(env: str, args: list[str], message: str) -> None:
    run("org", "add", "ancoats-housing", "--name", "Ancoats Housing")
    result = run(*args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    assert run("org", "list").output == "ancoats-housing  Ancoats Housing\n"


@contextmanager
def telegram_in_a_thread() -> Iterator[str]:
    """The fake Bot API served from a thread of its own, since a command runs an event loop of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeTelegram()
    try:
        yield asyncio.run_coroutine_threadsafe(fake.start(), loop).result(5)
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_a_leaflets_link_is_printed_once_checked_with_the_bots_name(
    env: str, write_yaml: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    run("survey", "import", str(write_yaml(HOMES, "homes.yaml")))
    run("org", "area", "ancoats-housing", "ancoats", "--name", "Ancoats")
    unnamed = run("survey", "link", "homes", "--area", "ancoats")
    assert unnamed.exit_code == 0, unnamed.output
    assert unnamed.stdout == "https://t.me/YOUR_BOT?start=homes-ancoats\n"
    assert "set TELEGRAM_BOT_TOKEN to have it filled in" in unnamed.stderr
    with telegram_in_a_thread() as base_url:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", base_url)
        named = run("survey", "link", "homes", "--area", "ancoats")
        assert named.output == "https://t.me/chorus_test_bot?start=homes-ancoats\n"
        assert run("survey", "link", "homes").output == "https://t.me/chorus_test_bot?start=homes\n"


def test_a_leaflets_qr_code_scans_as_its_link(
    env: str, write_yaml: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run("survey", "import", str(write_yaml(HOMES, "homes.yaml")))
    run("org", "area", "ancoats-housing", "ancoats", "--name", "Ancoats")
    with telegram_in_a_thread() as base_url:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", base_url)
        png = run("survey", "link", "homes", "--area", "ancoats", "--qr", "leaflet.png")
        svg = run("survey", "link", "homes", "--area", "ancoats", "--qr", "poster.SVG")
        nowhere = run("survey", "link", "homes", "--qr", "no/such/folder/leaflet.png")
    assert (nowhere.exit_code, nowhere.stderr) == (
        2,
        "cannot write no/such/folder/leaflet.png: No such file or directory\n",
    ), nowhere.output
    link = "https://t.me/chorus_test_bot?start=homes-ancoats"
    assert png.output == f"{link}\nWrote the QR code to leaflet.png.\n", png.output
    with Image.open(tmp_path / "leaflet.png") as image:
        assert [code.text for code in zxingcpp.read_barcodes(image)] == [link]
    assert svg.exit_code == 0, svg.output
    assert ElementTree.parse(tmp_path / "poster.SVG").getroot().tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--qr", "leaflet.jpg"], "cannot write leaflet.jpg: a QR code is written as a .png or an .svg file\n"),
        (["--qr", "leaflet.png"], "TELEGRAM_BOT_TOKEN: needed for a QR code, which must hold the bot's whole link\n"),
    ],
)
def test_a_qr_code_that_would_not_scan_to_the_bot_is_not_written(
    env: str, write_yaml: Callable[[str, str], Path], tmp_path: Path, args: list[str], message: str
) -> None:
    run("survey", "import", str(write_yaml(HOMES, "homes.yaml")))
    result = run("survey", "link", "homes", *args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    assert result.stdout == ""
    assert not list(tmp_path.rglob("leaflet.*")) and not list(tmp_path.rglob(".leaflet*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--area", "moss-side"],
            "no area 'moss-side' of ancoats-housing, so the link would record none: "
            "add it with `chorus org area ancoats-housing moss-side --name NAME`",
        ),
        (["--area", "a" * 60], "'homes-" + "a" * 60 + "' is 66 characters, and a Telegram link carries 64 at most"),
    ],
)
def test_a_link_that_would_not_work_is_refused_in_one_line(
    env: str, write_yaml: Callable[[str, str], Path], args: list[str], message: str
) -> None:
    run("survey", "import", str(write_yaml(HOMES, "homes.yaml")))
    result = run("survey", "link", "homes", *args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    assert (
        run("survey", "link", "nope").stderr == "no survey called 'nope': import it with `chorus survey import FILE`\n"
    )
