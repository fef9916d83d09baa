"""Names and ids from input, and untrusted text on its way to a terminal.

README Guarantees (hostile input): a name or an id (holder, series, issuer, id, approval
matters, redemption holders) is refused when it holds a character that does not show,
or shows as something else: control characters (C0 with ESC, DEL, C1), lone surrogates,
format characters (Unicode category Cf: bidirectional controls, zero-width spaces and
joiners, the word joiner, the byte order mark anywhere, the soft hyphen, the invisible
operators), other default-ignorable characters (variation selectors, Hangul fillers),
line and paragraph separators, private-use and unassigned code points. Free text
(``memo``, ``source``, ``reason``) may hold tabs and newlines, and any visible character,
but no other control or format character. A refusal names the character by its code
point and position (``U+001B at position 3``), never by printing it.

``shown`` escapes what a terminal would act on or not show (``\\x1b``, ``\\u202e``) in any
text that came from input, for every message and report line (README Guarantees).

``lookalike_key`` folds a name for the ``check`` finding of two holders that look alike
(NFKC, case folding, and the Unicode confusables skeleton of UTS #39, from the data
of the ``confusable-homoglyphs`` package).
"""

from __future__ import annotations

import functools
import re
import unicodedata

#: bidirectional-text controls: they make a name display as another ("Trojan source")
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: characters of no width that join or split words
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
#: default-ignorable characters outside category Cf (they show as nothing): the combining
#: grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation
#: selectors, variation selectors
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f"
                        "\uffa0\U000e0100-\U000e01ef]")
#: what the stored history was checked for before these rules (read back leniently)
_LEGACY = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def code_point(ch: str) -> str:
    """``U+200B ZERO WIDTH SPACE``; ``U+001B`` for a character without a name."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def _kind(ch: str, free_text: bool) -> str | None:
    """What is wrong with ``ch`` in a name (or free text), or None."""
    cat = unicodedata.category(ch)
    if cat == "Cc":
        return "control character"
    if cat == "Cs":
        return "lone surrogate"
    if ch in BIDI:
        return "bidirectional control"
    if ch == "\ufeff":
        return "byte order mark"
    if ch in ZERO_WIDTH:
        return "zero-width character"
    if cat == "Cf":
        return "invisible format character"
    if free_text:
        return None
    if _IGNORABLE.match(ch):
        return "invisible character"
    if cat in ("Zl", "Zp"):
        return "line or paragraph separator"
    if cat == "Co":
        return "private-use character"
    if cat == "Cn":
        return "unassigned code point"
    return None


def text_problem(value: str, free_text: bool = False, strict: bool = True) -> str | None:
    """Why ``value`` may not be a name (``free_text``: a memo; tab and newline allowed),
    naming the first bad character by code point and position; None when it is fine.

    ``strict=False`` applies the rules events were stored under before (control
    characters, lone surrogates, bidi overrides): stored history always reads back."""
    if not strict:
        m = _LEGACY.search(value)
        while m is not None:
            ch = m.group()
            if not (free_text and ch in "\t\n\r"):
                return _describe(ch, m.start(), free_text)
            m = _LEGACY.search(value, m.end())
        return None
    probe = value.replace("\t", " ").replace("\n", " ") if free_text else value
    if probe.isprintable() and (free_text or _IGNORABLE.search(value) is None):
        return None  # the common case, in one C-level pass
    for i, ch in enumerate(value):
        if free_text and ch in "\t\n":
            continue
        if ch.isprintable() and (free_text or not _IGNORABLE.match(ch)):
            continue
        kind = _kind(ch, free_text)
        if kind is not None:
            return f"{kind} {code_point(ch)} at position {i}"
    return None


def _describe(ch: str, at: int, free_text: bool) -> str:
    return f"{_kind(ch, free_text) or 'control character'} {code_point(ch)} at position {at}"


# -- showing untrusted text -------------------------------------------------------------

#: categories a terminal may act on or not show, or show as it likes (private use):
#: escaped by ``shown``, with the default-ignorable characters of ``_IGNORABLE``
_HIDDEN = frozenset(("Cc", "Cf", "Cs", "Cn", "Co", "Zl", "Zp"))


def _hidden(ch: str) -> bool:
    return unicodedata.category(ch) in _HIDDEN or _IGNORABLE.match(ch) is not None
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    o = ord(ch)
    if ch in _SHORT:
        return _SHORT[ch]
    if o < 0x100:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def shown(text: str, keep: str = "") -> str:
    """``text`` with every control, format, separator, surrogate and unassigned
    character written as a ``repr``-style escape (``\\x1b``, ``\\u202e``): safe to
    print. ``keep`` lists characters left as they are (``"\\n"`` for a multi-line
    message)."""
    if text.isprintable() and _IGNORABLE.search(text) is None:
        return text
    out = []
    for ch in text:
        if ch in keep or not _hidden(ch):
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def json_safe(text: str) -> str:
    """A JSON document with every character ``shown`` would escape inside its strings
    written as a JSON ``\\uXXXX`` escape: the same document to a parser, nothing a
    terminal acts on (JSON's own whitespace outside strings is only space and newline)."""
    if text.replace("\n", " ").isprintable() and _IGNORABLE.search(text) is None:
        return text
    out = []
    for ch in text:
        if ch == "\n" or not _hidden(ch):
            out.append(ch)
            continue
        o = ord(ch)
        if o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:  # a surrogate pair, as JSON writes characters beyond the BMP
            o -= 0x10000
            out.append(f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}")
    return "".join(out)


# -- look-alike names -------------------------------------------------------------------

def _strip_marks(s: str) -> str:
    # the data writes right-to-left characters between left-to-right marks
    return s.replace("\u200e", "").replace("\u200f", "")


@functools.cache
def _prototypes() -> dict[str, str]:
    """Character -> its prototype, from Unicode's confusables data (UTS #39 §4) as the
    ``confusable-homoglyphs`` package ships it. That data lists each source/prototype
    pair both ways; a prototype is the character of a group of look-alikes that the
    others map to (the most connected one; a two-character group maps to the smaller
    code point, any fixed choice gives the same comparisons)."""
    from confusable_homoglyphs import confusables  # type: ignore[import-untyped]

    data: dict[str, list[dict[str, str]]] = confusables.confusables_data
    parent: dict[str, str] = {}
    degree: dict[str, int] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for key, glyphs in data.items():
        a = _strip_marks(key)
        if not a:
            continue
        for g in glyphs:
            b = _strip_marks(g["c"])
            if not b or b == a:
                continue
            degree[a] = degree.get(a, 0) + 1
            degree[b] = degree.get(b, 0) + 1
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    groups: dict[str, list[str]] = {}
    for x in list(parent):
        groups.setdefault(find(x), []).append(x)
    out: dict[str, str] = {}
    for members in groups.values():
        proto = min(members, key=lambda m: (-degree.get(m, 0), len(m) == 1, m))
        for m in members:
            if len(m) == 1 and m != proto:
                out[m] = proto
    return out


def _skeleton(s: str) -> str:
    table = _prototypes()
    s = unicodedata.normalize("NFD", s)
    s = "".join(table.get(ch, ch) for ch in s)
    return unicodedata.normalize("NFD", s)


def lookalike_keys(name: str) -> tuple[str, str]:
    """Two foldings of ``name``: NFKC, then case folding and the confusables skeleton in
    either order (to the nearest fixed point). Two names look alike when either key is
    equal: case-folding first finds ``Iron``/``iron``, the skeleton first finds
    ``Iron``/``lron`` (capital I and small L share a prototype)."""
    base = unicodedata.normalize("NFKC", name)
    keys = []
    for s in (base.casefold(), _skeleton(base)):
        for _ in range(4):  # each pass may reveal more to fold; stable in two or three
            nxt = _skeleton(s.casefold()).casefold()
            if nxt == s:
                break
            s = nxt
        keys.append(s)
    return keys[0], keys[1]


def first_difference(a: str, b: str) -> tuple[int, str | None, str | None]:
    """The position (from 1) of the first character where ``a`` and ``b`` differ, and
    the two characters there (None past the end of the shorter)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i + 1, x, y
    n = min(len(a), len(b))
    return n + 1, a[n] if n < len(a) else None, b[n] if n < len(b) else None
