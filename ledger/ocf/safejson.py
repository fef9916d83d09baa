"""JSON text from an OCF package, read defensively (SPEC.md §10 ``import-ocf``: any bad
input is a problem, never a traceback).

- a UTF-8 byte order mark at the start is accepted (other tools write it);
- objects and arrays nested more than ``MAX_JSON_DEPTH`` levels are refused before the
  text is parsed, so a hostile file cannot exhaust the parser's recursion (no
  ``RecursionError``) and everything read afterwards (schema checks, terms) walks a
  shallow tree.

Every failure is a ``ValueError`` whose message is a sentence for the user.
"""

from __future__ import annotations

import json
import operator
import re
from itertools import accumulate, count
from typing import Any

#: the deepest nesting of objects and arrays an OCF file may have (the top-level object
#: is level 1; the OCF 1.2.0 schemas need fewer than 10 levels, prefledger's comment
#: lines fewer than 8)
MAX_JSON_DEPTH = 64

BOM = "\ufeff"

#: a JSON string (the quotes, any escapes and everything between them)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SQUARE = str.maketrans("{}", "[]")
_STEPS = str.maketrans("[]", "\x02\x00")


class JsonTooDeep(ValueError):
    """Objects and arrays nested deeper than the limit."""


def depth(text: str) -> int:
    """How deeply ``text`` nests objects and arrays (0 for a scalar, 1 for ``{}``).

    Linear and without recursion: strings are blanked out, only the brackets kept, the
    innermost ``[]`` pairs removed while that shrinks them fast (each pass lowers the
    nesting by one; an ordinary file needs a few passes), and the running count of what
    remains taken in C (a few seconds for a 64 MiB file of brackets). For a malformed
    text (which ``json`` then rejects) the figure is an upper bound of the nesting the
    parser reaches before it fails.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).translate(_SQUARE)
    passes = 0
    while brackets:
        fewer = brackets.replace("[]", "")
        if len(fewer) > len(brackets) * 3 // 4:
            break  # deep or malformed: count instead
        brackets = fewer
        passes += 1
    if not brackets:
        return passes
    steps = brackets.translate(_STEPS).encode("latin-1")  # "[" -> 2, "]" -> 0
    return passes + max(0, max(map(operator.sub, accumulate(steps), count(1))))


def loads(data: bytes | str, limit: int | None = None) -> Any:
    """The JSON value of ``data`` (UTF-8 bytes, a leading byte order mark allowed).

    Raises ``JsonTooDeep`` past ``limit`` (default ``MAX_JSON_DEPTH``) levels, and
    ``ValueError`` for text that is not UTF-8 or not JSON.
    """
    limit = MAX_JSON_DEPTH if limit is None else limit
    text = data.decode("utf-8") if isinstance(data, bytes) else data  # UnicodeDecodeError
    if text.startswith(BOM):
        text = text[1:]
    if depth(text) > limit:
        raise JsonTooDeep(f"objects and arrays are nested more than {limit} levels deep; "
                          f"prefledger reads at most {limit} levels")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - depth() bounds the nesting
        raise JsonTooDeep(f"objects and arrays are nested too deeply (limit {limit})"
                          ) from None
