"""Names compared for sameness: `visible` (NFKC, default-ignorable code points removed) and
`skeleton` (TS #39 section 4, over `visible`, with the prototypes of ``confusables.txt``), which
`confusable` compares case folded."""

from __future__ import annotations

import functools
import unicodedata
from importlib import resources

COMPARISON = "uts39-skeleton"
"""How `confusable` compares, as the audit records it: NFKC, default-ignorable code points
removed, Unicode TS #39's skeleton, case folded."""

_IGNORABLE_NOT_FORMAT = frozenset(
    (0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0)
).union(range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))
"""Default_Ignorable_Code_Point characters that are not of category Cf: the combining grapheme
joiner, Hangul fillers, Khmer inherent vowels, variation selectors."""


def visible(name: str) -> str:
    """``name`` as identity systems store it: compatibility forms folded (a fullwidth ``ana``
    is ``ana``), invisible characters (zero-width spaces and joiners, bidi marks, soft hyphens,
    variation selectors) removed, surrounding blanks stripped."""
    shown = "".join(c for c in unicodedata.normalize("NFKC", name) if not _ignorable(c))
    return unicodedata.normalize("NFKC", shown).strip()


def skeleton(name: str) -> str:
    """TS #39's skeleton of `visible` ``name``: each character replaced by the prototype it
    can be mistaken for, so that ``ana`` spelt with a Cyrillic ``a`` and ``ana`` have one
    skeleton. Case is kept, as TS #39 keeps it (a capital ``I`` passes for an ``l``)."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", visible(name))
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in decomposed))


def confusable(a: str, b: str) -> bool:
    """Whether a reader could take ``a`` for ``b``, ignoring case: their skeletons meet, case
    folded before (``ALICE`` is ``alice``) or after (``aIice``, with a capital ``I``, is too)."""
    return not _folded(a).isdisjoint(_folded(b))


def _folded(name: str) -> set[str]:
    return {skeleton(name.casefold()), skeleton(skeleton(name).casefold())}


def _ignorable(character: str) -> bool:
    code = ord(character)
    return (
        unicodedata.category(character) == "Cf"
        or code in _IGNORABLE_NOT_FORMAT
        or (0xE0000 <= code <= 0xE0FFF and unicodedata.category(character) == "Cn")
    )


@functools.cache
def _prototypes() -> dict[str, str]:
    text = resources.files(__package__).joinpath("confusables.txt").read_text("utf-8")
    mapping = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            source, _, target = line.partition(";")
            mapping[chr(int(source, 16))] = "".join(chr(int(c, 16)) for c in target.split())
    return mapping
