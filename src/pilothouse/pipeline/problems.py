"""Turning pydantic's validation errors into located, readable problems.

Pydantic describes *what* is wrong in its own voice ("Input should be a valid
string") at a location made of keys and indexes. A person fixing a YAML file
wants the line and column, the dotted path, and the message in the words of
the file ("unknown key 'trigers' (did you mean 'trigger'?)"). This module does
that translation and nothing else.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pilothouse.pipeline import documents, fields
from pilothouse.pipeline.errors import Problem

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def from_validation(
    error: ValidationError, document: documents.Document, *, known_keys: Collection[str] = ()
) -> list[Problem]:
    """One problem per pydantic error, located in ``document``."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        if item["type"] == "extra_forbidden":
            where = document.locate_key(loc)
        elif item["type"] == "missing":
            # No node for what is missing: point at the key of the mapping lacking it.
            where = document.locate_key(loc[:-1])
        else:
            where = document.locate(loc)
        message = message_of(item, known_keys=known_keys)
        problems.append(Problem(where.line, where.column, where.path, message))
    return _unique(problems)


def message_of(item: ErrorDetails, *, known_keys: Collection[str] = ()) -> str:
    """The message for one pydantic error, in the words of the YAML file."""
    kind = item["type"]
    loc = item["loc"]
    last = loc[-1] if loc else ""
    if kind == fields.ERROR_TYPE:
        return item["msg"]
    if kind == "value_error":
        return str(item.get("ctx", {}).get("error", item["msg"]))
    if kind == "extra_forbidden":
        guess = difflib.get_close_matches(str(last), list(known_keys), n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        return f"unknown key {last!r}{hint}"
    if kind == "missing":
        return f"missing required key {last!r}"
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {_shown(item['input'])}"
    if kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        return f"expected {expected}, got {_shown(item['input'])}"
    if kind == "too_short":
        minimum = item.get("ctx", {}).get("min_length", 1)
        return f"expected at least {minimum} item{'s' if minimum != 1 else ''}"
    message = item["msg"]
    return message[:1].lower() + message[1:]


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(dict.fromkeys(problems))
