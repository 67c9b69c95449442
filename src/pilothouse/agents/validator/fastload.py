"""Loading manifests with a Rust YAML parser, keeping PyYAML's (YAML 1.1) meaning.

PyYAML is the reference: Kubernetes tooling reads YAML 1.1 scalars (``on`` and
``yes`` are booleans, ``0644`` is octal), and every check was written against what
PyYAML returns. But even with libyaml, PyYAML builds its Python objects in Python —
more than half of a validation run on a large repository.

``fastyaml-rs`` parses and builds the objects in Rust, about eight times faster. It
reads YAML 1.2, where a handful of plain scalars mean something else (``on`` is a
string, ``0644`` is 644, ``1_000`` is a string, ``1e3`` a float, sexagesimal
``1:30`` a string) and explicit tags are ignored. So a file goes the fast way only
when it holds none of those: :data:`YAML11_ONLY` looks for them (unquoted, where a
scalar can stand), and finding one — or any parse error, reported with PyYAML's
marks — sends the file to PyYAML. A property test feeds both parsers generated
scalars in every position and checks that whatever the guard lets through loads the
same.

Without the package (a platform it has no wheel for) everything goes to PyYAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

try:
    import fast_yaml

    _fast_load_all: Callable[[str], Iterator[Any]] | None = fast_yaml.safe_load_all
except ImportError:  # pragma: no cover - the wheel exists for the platforms we run on
    _fast_load_all = None

_END = r"(?=[ \t]*(?:$|[,\]}#]|:[ \t]|:$))"  # the scalar ends: a key, a flow item, a line
_SAFE_NUMBER = r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)*" + _END  # 12, -3, 1.5, 10.0.0.1
YAML11_ONLY = re.compile(
    # A first character that can start one of the tokens (the cheap test the scan
    # stops at), after a boundary: whitespace, a flow indicator, or "k": (JSON style).
    r"(?=[yYnNoO0-9+\-.=!<:?])(?:(?<=[\s\[{,])|(?<=[\'\"]:))"  # ("k":v, a JSON-like key)
    r"(?:"
    r"(?:[yY]es|YES|[nN]o|NO|[oO]n|ON|[oO]ff|OFF)"
    + _END  # booleans in 1.1 only
    # A token of number characters other than a plain integer or dotted decimal:
    # octal 0644, 0x/0o/0b, 1_000, sexagesimal 1:30, exponents, -.5 ...
    + r"|(?=[-+.]*[0-9])(?!"
    + _SAFE_NUMBER
    + r")[-+0-9_.:a-fA-FxXoO]+"
    + _END
    + r"|=|<<"
    + _END  # the 1.1 value key, a merge key (or a bare "<<", which PyYAML refuses)
    + r"|[:?]"  # an empty or complex key, a scalar starting with ":": they disagree
    + r"|!"  # an explicit tag: the Rust parser does not apply it
    r")",
    re.MULTILINE,
)
# An anchor or an alias whose name YAML 1.1 does not allow (at a token's start only:
# the "*" of "schedule: 0 4 * * *" is inside a scalar)
_ODD_ANCHOR = re.compile(r"(?:^|[:\-\[{,?])[ \t]*[&*](?![\w-]+(?:[\s,\]}]|$))", re.MULTILINE)
# "[a: , b:]" (an empty value in flow), "[a:?]", "{k: |}" or "x: >a" (| or > starting
# anything but a block scalar header): YAML 1.2 reads them, PyYAML refuses them
_FLOW_COLON = re.compile(r":[,\]}?]")
_ODD_BLOCK_INDICATOR = re.compile(
    r"[|>](?<=[\s\[{,][|>])(?![-+0-9]*[ \t]*(?:#[^\n]*)?$)", re.MULTILINE
)
# A block scalar with no content at the very end of the file: "" to PyYAML, "\n" to it.
_EMPTY_LAST_BLOCK = re.compile(r"[|>][-+0-9]*[ \t]*(?:#[^\n]*)?(?:\n[ \t]*)*\Z")


def load_all(text: str) -> list[Any] | None:
    """Every document of ``text``, or None: load it with PyYAML instead.

    None when the package is missing, when the file holds a scalar that YAML 1.1
    reads differently, and on any error (PyYAML then reports it, with its line).
    """
    if (
        _fast_load_all is None
        or YAML11_ONLY.search("\n" + text)  # "\n": a boundary before the first token
        or _FLOW_COLON.search(text)
        or _ODD_BLOCK_INDICATOR.search(text)
        or (("&" in text or "*" in text) and _ODD_ANCHOR.search(text))
        or _EMPTY_LAST_BLOCK.search(text[-200:])
    ):
        return None
    try:
        return list(_fast_load_all(text))
    except Exception:  # noqa: BLE001 - any failure: PyYAML decides, and explains
        return None
