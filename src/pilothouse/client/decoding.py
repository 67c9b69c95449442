"""JSON answers back into the frozen dataclasses of :mod:`pilothouse.workspace.models`.

The server writes every value with its ``to_dict()``; this module inverts that
for any model by reading the dataclass's own field types, so a field added to a
model is decoded without touching the client. The inversion is the shape
``to_dict`` produces and nothing looser: ISO-8601 strings become aware datetimes
(a naive one is refused), ``Role`` and ``Scope`` come back from their labels,
other enums from their values, ``NewType`` ids from their base type, and scalars
must already have the right JSON type (``true`` is not an ``int``). Fields the
client does not know are ignored, so an older client keeps working against a
newer server. Anything else raises :class:`~pilothouse.client.errors.ClientError`
naming the field.

Hand-written rather than pydantic: the models are internal dataclasses whose
``Role``/``Scope`` travel as labels, not as the enums' integer values.
"""

from __future__ import annotations

import dataclasses
import types
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from pilothouse.client import errors
from pilothouse.workspace.models import ApiKeyInfo, CreatedApiKey
from pilothouse.workspace.roles import Role, Scope

__all__ = ["created_api_key", "decode", "decode_list", "decode_mapping"]

T = TypeVar("T")


class _Malformed(ValueError):
    """A value that does not fit its field; ``where`` grows as it propagates up."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem

    def inside(self, name: str) -> _Malformed:
        return _Malformed(f"{name}.{self.where}" if self.where else name, self.problem)


def decode(cls: type[T], data: object) -> T:
    """``data`` (parsed JSON) as an instance of the dataclass ``cls``."""
    try:
        return cast(T, _value(cls, data))
    except _Malformed as e:
        raise errors.malformed(cls.__name__, e) from None


def decode_list(cls: type[T], data: object) -> list[T]:
    """A JSON array of ``cls`` values."""
    try:
        return [cast(T, _value(cls, item)) for item in _array(data)]
    except _Malformed as e:
        raise errors.malformed(f"a list of {cls.__name__}", e) from None


def decode_mapping(cls: type[T], data: object) -> dict[str, T]:
    """A JSON object whose values are ``cls`` (file metadata)."""
    if not isinstance(data, dict):
        raise errors.malformed(f"a mapping of {cls.__name__}", "expected an object")
    try:
        return {key: cast(T, _item(cls, key, value)) for key, value in data.items()}
    except _Malformed as e:
        raise errors.malformed(f"a mapping of {cls.__name__}", e) from None


def created_api_key(data: object) -> CreatedApiKey:
    """``CreatedApiKey.to_dict`` flattens the key's info next to ``key``; undo that."""
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        raise errors.malformed("CreatedApiKey", "expected an object with a string 'key'")
    return CreatedApiKey(key=data["key"], info=decode(ApiKeyInfo, data))


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:  # a race only computes the same hints twice
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _array(data: object) -> list[Any]:
    if not isinstance(data, list):
        raise _Malformed("", f"expected an array, got {type(data).__name__}")
    return data


def _value(tp: Any, data: Any) -> Any:
    if tp is Any:
        return data
    supertype = getattr(tp, "__supertype__", None)  # a NewType
    if supertype is not None:
        return _value(supertype, data)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _optional(tp, data)
    if origin in (list, tuple):
        item = get_args(tp)[0]
        items = [_item(item, i, v) for i, v in enumerate(_array(data))]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(data, dict):
            raise _Malformed("", f"expected an object, got {type(data).__name__}")
        item = get_args(tp)[1]
        return {key: _item(item, key, v) for key, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp, data)
    if tp is datetime:
        return _datetime(data)
    if tp in (Role, Scope):
        return _label(tp, data)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError:
            raise _Malformed("", f"{data!r} is not a {tp.__name__}") from None
    return _scalar(tp, data)


def _item(tp: Any, where: object, data: Any) -> Any:
    try:
        return _value(tp, data)
    except _Malformed as e:
        raise e.inside(f"[{where!r}]") from None


def _optional(tp: Any, data: Any) -> Any:
    members = [arg for arg in get_args(tp) if arg is not type(None)]
    if data is None and len(members) < len(get_args(tp)):
        return None
    if len(members) != 1:
        raise _Malformed("", f"cannot decode the union {tp!r}")
    return _value(members[0], data)


def _dataclass(cls: type[Any], data: Any) -> Any:
    if not isinstance(data, dict):
        raise _Malformed("", f"expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in data:
            try:
                values[field.name] = _value(hints[field.name], data[field.name])
            except _Malformed as e:
                raise e.inside(field.name) from None
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise _Malformed(field.name, "missing")
    return cls(**values)


def _datetime(data: Any) -> datetime:
    if not isinstance(data, str):
        raise _Malformed("", f"expected an ISO-8601 string, got {type(data).__name__}")
    try:
        moment = datetime.fromisoformat(data)
    except ValueError:
        raise _Malformed("", f"{data!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise _Malformed("", f"{data!r} has no time zone")
    return moment


def _label(tp: type[Role] | type[Scope], data: Any) -> Role | Scope:
    if not isinstance(data, str):
        raise _Malformed("", f"expected a {tp.__name__} label, got {type(data).__name__}")
    try:
        return tp.parse(data)
    except ValueError as e:
        raise _Malformed("", str(e)) from None


def _scalar(tp: Any, data: Any) -> Any:
    if tp is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if tp in (int, str, bool):
        if isinstance(data, tp) and not (tp is int and isinstance(data, bool)):
            return data
        raise _Malformed("", f"expected {tp.__name__}, got {type(data).__name__}")
    raise _Malformed("", f"cannot decode a value of type {tp!r}")
