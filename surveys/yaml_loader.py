"""Reads a survey written in YAML, keeping the line of every key for error messages."""

from __future__ import annotations

import re
from typing import Any

import yaml

from surveys.errors import Location, Problem, SurveyInvalid
from surveys.raw import Raw

_BOOL_TAG = "tag:yaml.org,2002:bool"


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds Raw mappings and reads only true/false as booleans.

    YAML 1.1 reads `yes`, `no`, `on` and `off` as booleans, which would turn a
    choice value `no` into False behind an officer's back.
    """

    file = ""

    def construct_raw(self, node: yaml.MappingNode) -> Raw:
        raw = Raw(Location(self.file, node.start_mark.line + 1))
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            where = Location(self.file, key_node.start_mark.line + 1)
            if not isinstance(key, str):
                raise SurveyInvalid([Problem(where, "", f"keys must be text, not {key!r}")])
            if key in raw:
                raise SurveyInvalid([Problem(where, "", f"'{key}' is written twice in the same mapping")])
            raw[key] = self.construct_object(value_node, deep=True)
            raw.key_locations[key] = where
        return raw


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_raw)


def read_yaml(text: str, file: str) -> Raw:
    """Parse YAML text into a Raw document; a syntax error names its line."""
    loader = _Loader(text)
    loader.file = file
    try:
        document: Any = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise SurveyInvalid([Problem(Location(file, line), "", f"this is not valid YAML: {error.problem}")]) from None
    except yaml.YAMLError as error:
        raise SurveyInvalid([Problem(Location(file), "", f"this is not valid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if not isinstance(document, Raw):
        where = Location(file, 1)
        raise SurveyInvalid([Problem(where, "", "a survey file must be a mapping with id, title and questions")])
    return document
