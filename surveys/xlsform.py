"""Reads an XLSForm (.xlsx) as KoboToolbox and ODK users write it, into the same Raw document as YAML.

What Chorus cannot ask over a chat (locations, photos, repeats, calculations)
is an error naming the row, never dropped in silence; device metadata such as
`start` and `deviceid` is ignored with a warning, since Chorus records its own.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel import Locale

from surveys.builder import METADATA_KEYS
from surveys.errors import Location, Problem, SurveyInvalid
from surveys.raw import Raw

TRANSLATABLE = ("label", "hint", "constraint_message", "required_message", "notice", "intro", "thank_you")
_COLUMN = re.compile(r"^(?P<base>[a-z_]+)(?:::(?P<language>.+))?$")
_LANGUAGE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)\)\s*$")
_SELECT = re.compile(r"^(select_one|select_multiple)\s+(\S+)(\s+or_other)?$")
_PICKED_IN = re.compile(r"^\s*selected\(\s*\$\{(\w+)\}\s*,\s*name\s*\)\s*$")  # selected(${matters_most}, name)
_AT_MOST = re.compile(r"^\s*count-selected\(\s*\.\s*\)\s*(<=|<)\s*(\d+)\s*$")  # count-selected(.) <= 3

SIMPLE_TYPES = {
    "text": "text",
    "integer": "integer",
    "int": "integer",
    "decimal": "decimal",
    "date": "date",
    "note": "note",
    "acknowledge": "consent",
    "consent": "consent",
    "likert": "likert",
    "rating": "rating",
    "yes_no": "yes_no",
}
METADATA_TYPES = frozenset(
    [
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "start-geopoint",
    ]
)
UNSUPPORTED_TYPES = {
    "geopoint": "locations",
    "geotrace": "locations",
    "geoshape": "locations",
    "image": "photos and files",
    "audio": "photos and files",
    "video": "photos and files",
    "file": "photos and files",
    "background-audio": "photos and files",
    "barcode": "barcodes",
    "calculate": "calculations",
    "hidden": "hidden fields",
    "rank": "ranking questions",
    "time": "time-of-day answers",
    "datetime": "time-of-day answers",
    "begin repeat": "repeat groups",
    "begin_repeat": "repeat groups",
    "end repeat": "repeat groups",
    "end_repeat": "repeat groups",
    "select_one_from_file": "choices from files",
    "select_multiple_from_file": "choices from files",
    "xml-external": "external data",
    "csv-external": "external data",
    "trigger": "trigger questions",
}
UNSUPPORTED_COLUMNS = frozenset(
    [
        "default",
        "calculation",
        "repeat_count",
        "read_only",
        "trigger",
        "image",
        "audio",
        "video",
        "big-image",
    ]
)
QUESTION_COLUMNS = frozenset(
    {"type", "name", "relevant", "constraint", "required", "appearance", "parameters", "choice_filter"}
)
IGNORED_COLUMNS = frozenset({"guidance_hint", "hxl", "body::accuracythreshold", "bind::oc:itemgroup"})
SETTINGS = frozenset(
    {"form_id", "form_title", "default_language", "reminders_max", "reminders_every_days", *METADATA_KEYS}
)
IGNORED_SETTINGS = frozenset(
    [
        "version",
        "instance_name",
        "public_key",
        "submission_url",
        "style",
        "allow_choice_duplicates",
        "namespaces",
        "name",
        "clean_text_values",
        "auto_send",
        "auto_delete",
    ]
)


@dataclass
class _Sheet:
    name: str
    headers: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def read_xlsform(path: Path) -> tuple[Raw, list[Problem]]:
    """Read an .xlsx file into a Raw survey document and the warnings about what was ignored."""
    reader = _Reader(path)
    document = reader.read()
    if reader.problems:
        raise SurveyInvalid(reader.problems)
    return document, reader.warnings


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.name
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.default_language = ""
        self.codes: dict[str, str] = {}

    def at(self, sheet: str, row: int | None = None) -> Location:
        return Location(self.file, sheet=sheet, row=row)

    def read(self) -> Raw:
        sheets = self.sheets()
        if "survey" not in sheets:
            raise SurveyInvalid([Problem(Location(self.file), "", "an XLSForm needs a sheet named 'survey'")])
        settings = self.settings(sheets.get("settings"))
        self.default_language = self.pick_default_language(sheets, settings)
        document = Raw(self.at("settings" if "settings" in sheets else "survey"))
        for key in METADATA_KEYS:
            if settings.get(key):
                document[key] = _yes(settings[key]) if key == "anonymous" else settings[key]
        reminders = Raw(document.location)
        for column, key in (("reminders_max", "max"), ("reminders_every_days", "every_days")):
            if settings.get(column) not in (None, ""):
                reminders[key] = _number(settings[column])
        if reminders:
            document["reminders"] = reminders
        document["id"] = settings.get("form_id") or re.sub(r"[^a-z0-9_-]+", "-", self.path.stem.lower()).strip("-")
        document["title"] = self.translated(settings, "form_title") or document["id"]
        for key in ("intro", "thank_you"):
            if self.translated(settings, key):
                document[key] = self.translated(settings, key)
        document["choice_lists"] = self.choice_lists(sheets.get("choices"))
        document["questions"] = self.questions(sheets["survey"])
        languages = self.languages_used(sheets)
        document["default_language"] = self.default_language
        document["languages"] = [self.default_language, *(code for code in languages if code != self.default_language)]
        return document

    def sheets(self) -> dict[str, _Sheet]:
        # Imported here, not at the top: openpyxl brings NumPy, 26 MB in every
        # process that can load a survey, and only an officer's import reads a workbook.
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
            raise SurveyInvalid(
                [Problem(Location(self.file), "", f"cannot read this as an .xlsx file: {error}")]
            ) from None
        sheets: dict[str, _Sheet] = {}
        try:
            for worksheet in workbook.worksheets:
                rows = worksheet.iter_rows(values_only=True)
                header = next(rows, None) or ()
                headers = [_normalise_column(_cell(value)) for value in header]
                sheet = _Sheet(worksheet.title.strip().lower(), headers)
                for number, values in enumerate(rows, start=2):
                    row = {h: _cell(v) for h, v in zip(headers, values, strict=False) if h and _cell(v)}
                    if row:
                        sheet.rows.append((number, row))
                sheets[sheet.name] = sheet
        finally:
            workbook.close()
        return sheets

    def settings(self, sheet: _Sheet | None) -> dict[str, Any]:
        if sheet is None or not sheet.rows:
            return {}
        number, row = sheet.rows[0]
        for column in row:
            base = column.split("::")[0]
            if base in IGNORED_SETTINGS:
                self.warnings.append(
                    Problem(self.at("settings", number), "", f"setting '{column}' is ignored by Chorus")
                )
            elif base not in SETTINGS and base not in TRANSLATABLE:
                self.problems.append(Problem(self.at("settings", number), "", f"unknown setting '{column}'"))
        return row

    def pick_default_language(self, sheets: dict[str, _Sheet], settings: dict[str, Any]) -> str:
        given = settings.get("default_language")
        if given:
            return self.language_code(str(given), self.at("settings", 2))
        if any(header in TRANSLATABLE for header in sheets["survey"].headers):
            return "en"
        return next(iter(self.languages_used(sheets)), "en")

    def languages_used(self, sheets: dict[str, _Sheet]) -> list[str]:
        """Language codes in the order their columns first appear: the first is the default, as in ODK."""
        found: dict[str, None] = {}
        for sheet in sheets.values():
            for header in sheet.headers:
                match = _COLUMN.match(header)
                if match and match["language"] and match["base"] in TRANSLATABLE:
                    found[self.language_code(match["language"], self.at(sheet.name, 1))] = None
        return list(found)

    def language_code(self, name: str, where: Location) -> str:
        """`Polski (pl)` is pl; a bare English name such as `Welsh` is looked up; anything else is an error once."""
        if name not in self.codes:
            match = _LANGUAGE.match(name)
            code = match["code"].lower() if match else _ENGLISH_LANGUAGE_NAMES.get(name.strip().lower())
            if code is None:
                self.problems.append(
                    Problem(where, "", f"cannot tell which language '{name}' is; write it as '{name} (xx)'")
                )
            self.codes[name] = code or name.strip().lower()
        return self.codes[name]

    def translated(self, row: dict[str, Any], base: str) -> str | dict[str, str] | None:
        """A translatable column as text, or as a language mapping when it has translations."""
        found: dict[str, str] = {}
        for column, value in row.items():
            match = _COLUMN.match(column)
            if match and match["base"] == base:
                language = match["language"]
                code = self.language_code(language, Location(self.file)) if language else self.default_language
                found[code] = str(value)
        if not found:
            return None
        if set(found) == {self.default_language}:
            return found[self.default_language]
        return found

    def choice_lists(self, sheet: _Sheet | None) -> Raw:
        lists = Raw(self.at("choices"))
        if sheet is None:
            return lists
        for number, row in sheet.rows:
            where = self.at("choices", number)
            name = row.get("list_name")
            if not name:
                self.problems.append(Problem(where, "", "a choice needs its list_name"))
                continue
            choice = Raw(where)
            choice["value"] = row.get("name")
            choice["label"] = self.translated(row, "label")
            if row.get("score") not in (None, ""):
                choice["score"] = _number(row["score"])
            if name not in lists:
                lists[name] = []
                lists.key_locations[name] = where
            lists[name].append(choice)
        return lists

    def questions(self, sheet: _Sheet) -> list[Raw]:
        top: list[Raw] = []
        stack: list[tuple[list[Raw], int]] = [(top, 0)]
        for number, row in sheet.rows:
            where = self.at("survey", number)
            kind = re.sub(r"\s+", " ", str(row.get("type", "")).strip())
            if not kind:
                self.problems.append(Problem(where, "", "this row has no type"))
            elif kind in ("begin group", "begin_group"):
                group = self.group(row, where)
                stack[-1][0].append(group)
                stack.append((group["questions"], number))
            elif kind in ("end group", "end_group"):
                if len(stack) == 1:
                    self.problems.append(Problem(where, "", "'end group' without a 'begin group' before it"))
                else:
                    stack.pop()
            elif kind in METADATA_TYPES:
                self.warnings.append(Problem(where, f"'{row.get('name', kind)}'", f"'{kind}' is ignored by Chorus"))
            elif kind in UNSUPPORTED_TYPES:
                self.problems.append(
                    Problem(
                        where, f"'{row.get('name', '')}'", f"Chorus does not support {UNSUPPORTED_TYPES[kind]} ({kind})"
                    )
                )
            else:
                question = self.question(row, kind, where)
                if question is not None:
                    stack[-1][0].append(question)
        for _, opened in stack[1:]:
            self.problems.append(Problem(self.at("survey", opened), "", "this 'begin group' has no 'end group'"))
        return top

    def common(self, raw: Raw, row: dict[str, Any], where: Location) -> None:
        for column in row:
            base = column.split("::")[0]
            if base in UNSUPPORTED_COLUMNS or base == "media":
                self.problems.append(Problem(where, "", f"Chorus does not support the '{column}' column"))
            elif base in IGNORED_COLUMNS:
                self.warnings.append(Problem(where, "", f"the '{column}' column is ignored by Chorus"))
            elif base not in QUESTION_COLUMNS and base not in TRANSLATABLE and base != "label":
                self.warnings.append(Problem(where, "", f"the unknown column '{column}' is ignored"))
        for key in TRANSLATABLE:
            value = self.translated(row, key)
            if value is not None and key not in ("intro", "thank_you"):
                raw[key] = value
                raw.key_locations[key] = where
        if row.get("relevant"):
            raw["relevant"] = row["relevant"]

    def group(self, row: dict[str, Any], where: Location) -> Raw:
        group = Raw(where)
        group["group"] = row.get("name")
        self.common(group, row, where)
        group["questions"] = []
        return group

    def question(self, row: dict[str, Any], kind: str, where: Location) -> Raw | None:
        raw = Raw(where)
        raw["id"] = row.get("name")
        select = _SELECT.match(kind)
        if select:
            likert = "likert" in str(row.get("appearance", ""))
            raw["type"] = "likert" if likert and select[1] == "select_one" else select[1]
            raw["choices"] = select[2]
            if select[3]:
                raw["other"] = True
        elif kind == "range":
            raw["type"] = "rating"
            raw.update(self.range_parameters(str(row.get("parameters", "")), where))
        elif kind in SIMPLE_TYPES:
            raw["type"] = SIMPLE_TYPES[kind]
        else:
            self.problems.append(Problem(where, f"'{row.get('name', '')}'", f"unknown question type '{kind}'"))
            return None
        self.common(raw, row, where)
        self.choice_filter(raw, row, where)
        if raw["type"] == "consent" and "notice" not in raw and "hint" in raw:
            raw["notice"] = raw.pop("hint")
        for key in ("constraint",):
            if row.get(key):
                raw[key] = row[key]
        self.most_selected(raw, where)
        if "required" in row:
            required = _yes(row["required"])
            if required is None:
                self.problems.append(Problem(where, "", f"required must be yes or no, not '{row['required']}'"))
            else:
                raw["required"] = required
        return raw

    def most_selected(self, raw: Raw, where: Location) -> None:
        """`count-selected(.) <= 3` on a select_multiple, XLSForm's only way to say "up to three", is also read as
        its `max`: a resident's fourth tick is then refused as they press it, not only once they press Done.

        The constraint is kept, so an answer is checked as the form says.
        """
        at_most = _AT_MOST.match(str(raw.get("constraint", ""))) if raw["type"] == "select_multiple" else None
        if at_most is not None:
            raw["max"] = int(at_most[2]) - (at_most[1] == "<")
            raw.key_locations["max"] = where

    def choice_filter(self, raw: Raw, row: dict[str, Any], where: Location) -> None:
        """Only ODK's filter to the choices picked in an earlier question, which Chorus reads as choices_from."""
        given = _cell(row.get("choice_filter"))
        if not given:
            return
        picked_in = _PICKED_IN.match(given)
        if picked_in is None or "choices" not in raw:
            message = (
                f"Chorus supports a choice_filter only as selected(${{question}}, name) on a select, not '{given}'"
            )
            self.problems.append(Problem(where, f"'{row.get('name', '')}'", message))
            return
        raw["choices_from"] = picked_in[1]
        raw.key_locations["choices_from"] = where

    def range_parameters(self, text: str, where: Location) -> dict[str, float | str]:
        values = dict(part.split("=", 1) for part in text.split() if "=" in part)
        if _number(values.get("step", "1")) != 1:
            self.problems.append(Problem(where, "", "Chorus asks ranges with a step of 1 only"))
        return {"min": _number(values.get("start", "0")), "max": _number(values.get("end", "10"))}


def _normalise_column(header: str) -> str:
    """`Label::Polski (pl)` becomes `label::Polski (pl)`; `list name` becomes `list_name`."""
    base, _, language = header.partition("::")
    base = re.sub(r"[\s-]+", "_", base.strip().lower())
    base = "name" if base == "value" else base
    return f"{base}::{language.strip()}" if language else base


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value: Any) -> float | str:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _yes(value: Any) -> bool | None:
    text = str(value).strip().lower()
    if text in ("yes", "true", "true()", "1"):
        return True
    if text in ("no", "false", "false()", "0", ""):
        return False
    return None


def _language_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for code, name in Locale("en").languages.items():
        if "_" not in code:
            names.setdefault(name.lower(), code)
    return names


_ENGLISH_LANGUAGE_NAMES = _language_names()
